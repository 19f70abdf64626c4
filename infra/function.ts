// One Lambda function with the project's defaults (newest Node.js, arm64, ESM bundle with only the SDK
// clients it imports, JSON logs in its own log group, X-Ray) and a role that holds nothing but what is
// granted here: its log group, tracing, and the tables bound with bindTable.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { tableEnvVar } from '../functions/core/tables.js';
import type { TableAccess } from './access.js';
import type { DataTable } from './data.js';
import { ESM_REQUIRE_BANNER, EXTERNAL_MODULES } from './bundling.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const RUNTIME = lambda.Runtime.NODEJS_24_X;
export const ARCHITECTURE = lambda.Architecture.ARM_64;


// Item operations, including the ones DynamoDB checks for each part of a TransactWriteItems/TransactGetItems.
const READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
const INDEX_READ_ACTIONS = ['dynamodb:Query', 'dynamodb:Scan'];

export interface DcpFunctionProps {
  /** Handler module, relative to the project root (e.g. `functions/api/targets.ts`); exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly environment?: Record<string, string>;
  readonly logRetention?: logs.RetentionDays;
  /** Shell commands run after esbuild to add files from the project (`inputDir`) to the bundle (`outputDir`). */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
}

export class DcpFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** The handler module, relative to the project root: the local runtime bundles the same file. */
  readonly entry: string;

  constructor(scope: Construct, id: string, props: DcpFunctionProps) {
    super(scope, id);
    this.entry = props.entry;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    // Our own role instead of the AWS managed basic-execution policy, which allows writing to any log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.description}`.slice(0, 1000),
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: props.description,
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      role: this.role,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      environment: props.environment,
      ...functionCode(this, props.entry, props.afterBundling),
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray actions xray:PutTraceSegments and xray:PutTelemetryRecords, added by active tracing; ' +
        'X-Ray supports no resource-level permissions for them. Table and log grants name their resources.',
    });
  }

  /** Grant access to a table and hand the function its name in the variable the adapters read. */
  bindTable(table: DataTable, access: TableAccess): void {
    const tableArn = table.table.tableArn;
    iam.Grant.addToPrincipal({
      grantee: this.role,
      actions: access === 'readWrite' ? [...READ_ACTIONS, ...WRITE_ACTIONS] : READ_ACTIONS,
      resourceArns: [tableArn],
    });
    // Index ARNs are named one by one rather than with `index/*`.
    const indexes = table.spec.indexes ?? [];
    if (indexes.length > 0) {
      iam.Grant.addToPrincipal({
        grantee: this.role,
        actions: INDEX_READ_ACTIONS,
        resourceArns: indexes.map((index) => `${tableArn}/index/${index.indexName}`),
      });
    }
    this.function.addEnvironment(tableEnvVar(table.id), table.table.tableName);
  }
}

function functionCode(
  scope: Construct,
  entry: string,
  afterBundling?: (inputDir: string, outputDir: string) => string[],
): Pick<nodejs.NodejsFunctionProps, 'entry' | 'code' | 'handler' | 'bundling' | 'depsLockFilePath' | 'projectRoot'> {
  const entryPath = path.join(PROJECT_ROOT, entry);
  // When bundling is skipped (template tests, `cdk synth --exclusively` of another stack) nothing is built,
  // so a handler that is not written yet must not stop synthesis. A real synth still fails loudly on it.
  if (!Stack.of(scope).bundlingRequired && !existsSync(entryPath)) {
    return {
      code: lambda.Code.fromInline(`throw new Error('${entry} was not bundled');`),
      handler: 'index.handler',
    };
  }
  return {
    entry: entryPath,
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    bundling: {
      format: nodejs.OutputFormat.ESM,
      mainFields: ['module', 'main'],
      banner: ESM_REQUIRE_BANNER,
      minify: true,
      // Source maps would roughly double each bundle and need --enable-source-maps, which slows cold starts.
      sourceMap: false,
      // Bundle the SDK v3 clients the handler imports instead of relying on the runtime's copy: only the
      // used clients ship, and their version is the one the tests ran against.
      bundleAwsSDK: true,
      externalModules: EXTERNAL_MODULES,
      charset: nodejs.Charset.UTF8,
      ...(afterBundling
        ? { commandHooks: { beforeBundling: () => [], beforeInstall: () => [], afterBundling } }
        : {}),
    },
  };
}
