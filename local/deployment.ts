// What the stack deploys, as the local runtime runs it: the synthesized CloudFormation template of the CDK
// app (infra/), read once and kept in a cache keyed by the sources it comes from, then resolved for this
// machine. Every function gets exactly the environment variables, IAM policy, timeout and memory of its
// AWS::Lambda::Function; every state machine the definition and substitutions of its
// AWS::StepFunctions::StateMachine. Nothing here is a second definition of a grant or a variable: when the
// stack changes, the local runtime and the tests change with it.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TABLE_IDS, type TableId } from '../functions/core/tables.js';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The account and region the local runtime pretends to be in (ARNs, IAM and the SDK all see them). */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

type Json = any;

export interface TemplateSnapshot {
  /** Hash of the sources the template was synthesized from. */
  readonly sourceHash: string;
  readonly stackName: string;
  readonly resources: Record<string, Json>;
  /** Table id → logical id of its AWS::DynamoDB::Table. */
  readonly tables: Record<TableId, string>;
  /** Logical id of each project function (AWS::Lambda::Function) → its handler module. */
  readonly entries: Record<string, string>;
  /** API route group (and `authorizer`) → logical id of its function. */
  readonly apiFunctions: Record<string, string>;
}

/** Folders and files whose content decides the template. */
const TEMPLATE_SOURCES = ['infra', 'statemachines', 'functions', 'package-lock.json', 'cdk.json'];

export function cacheDir(): string {
  return process.env.DCP_CACHE_DIR || join(homedir(), '.cache', 'dcp');
}

async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return [];
  if (info.isFile()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path)).sort()) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    out.push(...(await listFiles(join(path, entry))));
  }
  return out;
}

/** SHA-256 over the names and contents of the given sources below the project root. */
export async function hashSources(sources: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const source of sources) {
    for (const file of await listFiles(join(PROJECT_ROOT, source))) {
      hash.update(relative(PROJECT_ROOT, file)).update('\0').update(await readFile(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 24);
}

/**
 * The template of the stack, synthesized with bundling skipped (the local runtime bundles the same entries
 * itself, local/bundles.ts) and cached under DCP_CACHE_DIR/templates by the hash of its sources.
 */
export async function templateSnapshot(): Promise<TemplateSnapshot> {
  const sourceHash = await hashSources(TEMPLATE_SOURCES);
  const file = join(cacheDir(), 'templates', `${sourceHash}.json`);
  if (existsSync(file)) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as TemplateSnapshot;
    } catch {
      // a torn or foreign file: synthesize again
    }
  }
  const snapshot = await synthesize(sourceHash);
  await mkdir(join(cacheDir(), 'templates'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(snapshot));
  await rename(tmp, file);
  return snapshot;
}

async function synthesize(sourceHash: string): Promise<TemplateSnapshot> {
  const [{ Stack }, { createApp }, { DcpFunction }] = await Promise.all([
    import('aws-cdk-lib'),
    import('../infra/create-app.js'),
    import('../infra/function.js'),
  ]);
  const { app, stack } = createApp({ nag: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, Json> };
  const logicalId = (c: { node: { defaultChild?: unknown } }) => Stack.of(stack).resolve((c.node.defaultChild as { logicalId: string }).logicalId) as string;
  const entries: Record<string, string> = {};
  for (const c of stack.node.findAll()) {
    if (c instanceof DcpFunction) entries[logicalId(c.function)] = c.entry;
  }
  const tables = Object.fromEntries(TABLE_IDS.map((id) => [id, logicalId(stack.data.tables[id].table)])) as Record<TableId, string>;
  const apiFunctions = Object.fromEntries(Object.entries(stack.api.functions).map(([group, fn]) => [group, logicalId((fn as InstanceType<typeof DcpFunction>).function)]));
  return { sourceHash, stackName: stack.stackName, resources: template.Resources, tables, entries, apiFunctions };
}

// ---- resolving the template for this machine ---------------------------------------------------------

export interface LocalNames {
  /** Prefix of the local table names (`<prefix><table id>`). */
  readonly tablePrefix: string;
  readonly region?: string;
  readonly account?: string;
}

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
  Sid?: string;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}

export interface LocalRole {
  readonly logicalId: string;
  readonly arn: string;
  /** Inline and attached policies, by name (the AWS::IAM::Policy logical id, or `inline:<name>`). */
  readonly policies: { name: string; document: PolicyDocument }[];
}

export interface LocalFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The handler module (project functions), relative to the project root. */
  readonly entry?: string;
  /** AWS::Lambda::Function Environment.Variables, resolved. */
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly role: LocalRole;
}

export interface LocalStateMachine {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** DefinitionString with DefinitionSubstitutions applied: the ASL Step Functions runs. */
  readonly definition: string;
  readonly role: LocalRole;
}

export interface LocalRule {
  readonly logicalId: string;
  readonly eventBusName: string;
  readonly eventPattern?: Json;
  readonly scheduleExpression?: string;
  readonly enabled: boolean;
  readonly targets: { arn: string; roleArn?: string; input?: string; inputPath?: string }[];
}

/** Throttling of one API method (or `*` / `/*` for the stage default), as the stage's MethodSettings say. */
export interface MethodThrottle {
  readonly httpMethod: string;
  /** The resource path, `/*` for every one. */
  readonly resourcePath: string;
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface LocalDeployment {
  readonly region: string;
  /** The API stage's throttling settings (AWS::ApiGateway::Stage MethodSettings). */
  readonly apiThrottling: MethodThrottle[];
  /** Secrets the stack generates a value for at deploy (GenerateSecretString): their names. */
  readonly generatedSecrets: string[];
  readonly account: string;
  readonly tables: Record<TableId, { name: string; arn: string }>;
  readonly functions: LocalFunction[];
  readonly stateMachines: LocalStateMachine[];
  readonly rules: LocalRule[];
  readonly roles: Record<string, LocalRole>;
  readonly apiFunctions: Record<string, LocalFunction>;
  functionByArnOrName(ref: string): LocalFunction | undefined;
  functionByEntry(entry: string): LocalFunction | undefined;
  roleByArn(arn: string): LocalRole | undefined;
}

/**
 * A secret's ARN: its name and a six-character suffix, as Secrets Manager names them; locally the suffix is
 * derived from the name, so the local Secrets Manager (local/aws-endpoints.ts) answers the same ARN.
 */
export function localSecretArn(region: string, account: string, name: string): string {
  return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${createHash('sha256').update(name).digest('hex').slice(0, 6)}`;
}

/** The template of `snapshot` resolved with local names, ARNs and pseudo parameters. */
export function resolveDeployment(snapshot: TemplateSnapshot, names: LocalNames): LocalDeployment {
  const region = names.region ?? LOCAL_REGION;
  const account = names.account ?? LOCAL_ACCOUNT;
  const res = snapshot.resources;
  const tableIdByLogical = new Map(Object.entries(snapshot.tables).map(([id, logical]) => [logical, id as TableId]));
  const arn = (service: string, rest: string, withRegion = true) => `arn:aws:${service}:${withRegion ? region : ''}:${account}:${rest}`;

  const physicalName = (logicalId: string): string => {
    const r = res[logicalId];
    if (!r) throw new Error(`The template has no resource ${logicalId}`);
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return `${names.tablePrefix}${tableIdByLogical.get(logicalId) ?? logicalId}`;
      case 'AWS::StepFunctions::StateMachine':
        return typeof p.StateMachineName === 'string' ? p.StateMachineName : logicalId;
      case 'AWS::Events::EventBus':
        return typeof p.Name === 'string' ? p.Name : logicalId;
      case 'AWS::Logs::LogGroup':
        return typeof p.LogGroupName === 'string' ? p.LogGroupName : `/local/${logicalId}`;
      case 'AWS::SecretsManager::Secret':
        return typeof p.Name === 'string' ? p.Name : `${snapshot.stackName}-${logicalId}`;
      case 'AWS::S3::Bucket':
        // CloudFormation's generated bucket names are lower case, at most 63 characters.
        return typeof p.BucketName === 'string' ? p.BucketName : `${snapshot.stackName}-${logicalId}`.toLowerCase().slice(0, 63);
      default:
        return `${snapshot.stackName}-${logicalId}`.slice(0, 64);
    }
  };

  const arnOf = (logicalId: string): string => {
    const r = res[logicalId]!;
    const name = physicalName(logicalId);
    switch (r.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return arn('dynamodb', `table/${name}`);
      case 'AWS::Lambda::Function':
        return arn('lambda', `function:${name}`);
      case 'AWS::StepFunctions::StateMachine':
        return arn('states', `stateMachine:${name}`);
      case 'AWS::IAM::Role':
        return arn('iam', `role/${name}`, false);
      case 'AWS::Events::EventBus':
        return arn('events', `event-bus/${name}`);
      case 'AWS::Events::Rule':
        return arn('events', `rule/${name}`);
      case 'AWS::SQS::Queue':
        return arn('sqs', name);
      case 'AWS::SNS::Topic':
        return arn('sns', name);
      case 'AWS::Logs::LogGroup':
        return arn('logs', `log-group:${name}:*`);
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::SecretsManager::Secret':
        return localSecretArn(region, account, name);
      default:
        return arn('local', `${r.Type}/${name}`);
    }
  };

  const ref = (name: string): string => {
    switch (name) {
      case 'AWS::Region':
        return region;
      case 'AWS::AccountId':
        return account;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return snapshot.stackName;
      case 'AWS::StackId':
        return arn('cloudformation', `stack/${snapshot.stackName}/local`);
      default:
        break;
    }
    const r = res[name];
    if (!r) throw new Error(`Ref to unknown resource ${name}`);
    switch (r.Type) {
      // Ref answers the ARN for these types (CloudFormation's return values).
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::SNS::Topic':
      case 'AWS::SecretsManager::Secret':
      case 'AWS::IAM::Policy':
        return arnOf(name);
      case 'AWS::SQS::Queue':
        return `http://sqs.local/${account}/${physicalName(name)}`;
      default:
        return physicalName(name);
    }
  };

  const getAtt = (logicalId: string, attribute: string): string => {
    const r = res[logicalId];
    if (!r) throw new Error(`Fn::GetAtt of unknown resource ${logicalId}`);
    if (attribute === 'Arn') return arnOf(logicalId);
    if (attribute === 'Name' || attribute === 'QueueName' || attribute === 'TopicName') return physicalName(logicalId);
    return `${logicalId}.${attribute}`;
  };

  const resolveValue = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(resolveValue);
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = v[k];
      switch (k) {
        case 'Ref':
          return ref(arg);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg : String(arg).split('.');
          return getAtt(id, attr);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, Json[]];
          return (resolveValue(parts) as Json[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [Json, Json];
          return (resolveValue(list) as Json[])[Number(resolveValue(index))];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, Json];
          return String(resolveValue(text)).split(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, Json>]) : [arg as string, {}];
          const values = resolveValue(vars) as Record<string, string>;
          return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
            if (name in values) return String(values[name]);
            if (name.includes('.')) {
              const [id, attr] = name.split('.') as [string, string];
              return getAtt(id, attr);
            }
            return ref(name);
          });
        }
        default:
          if (k.startsWith('Fn::')) throw new Error(`The local runtime cannot resolve ${k}`);
      }
    }
    return Object.fromEntries(Object.entries(v).map(([key, value]) => [key, resolveValue(value)]));
  };

  const ofType = (type: string) => Object.entries(res).filter(([, r]) => r.Type === type);

  const roles: Record<string, LocalRole> = {};
  for (const [logicalId, r] of ofType('AWS::IAM::Role')) {
    const inline = ((r.Properties?.Policies ?? []) as Json[]).map((p) => ({ name: `inline:${p.PolicyName}`, document: resolveValue(p.PolicyDocument) as PolicyDocument }));
    roles[logicalId] = { logicalId, arn: arnOf(logicalId), policies: inline };
  }
  for (const [logicalId, p] of ofType('AWS::IAM::Policy')) {
    const document = resolveValue(p.Properties.PolicyDocument) as PolicyDocument;
    for (const roleRef of (p.Properties.Roles ?? []) as Json[]) {
      const roleId = roleRef?.Ref as string | undefined;
      if (roleId && roles[roleId]) roles[roleId].policies.push({ name: logicalId, document });
    }
  }
  const roleOf = (roleValue: Json): LocalRole => {
    const roleId = roleValue?.['Fn::GetAtt']?.[0] as string | undefined;
    const role = roleId ? roles[roleId] : undefined;
    if (!role) throw new Error(`Cannot find the role ${JSON.stringify(roleValue)}`);
    return role;
  };

  const functions: LocalFunction[] = ofType('AWS::Lambda::Function').map(([logicalId, r]) => {
    const p = r.Properties;
    return {
      logicalId,
      name: physicalName(logicalId),
      arn: arnOf(logicalId),
      ...(snapshot.entries[logicalId] ? { entry: snapshot.entries[logicalId] } : {}),
      environment: resolveValue(p.Environment?.Variables ?? {}) as Record<string, string>,
      timeoutSeconds: typeof p.Timeout === 'number' ? p.Timeout : 3,
      memoryMb: typeof p.MemorySize === 'number' ? p.MemorySize : 128,
      role: roleOf(p.Role),
    };
  });

  const stateMachines: LocalStateMachine[] = ofType('AWS::StepFunctions::StateMachine').map(([logicalId, r]) => {
    const p = r.Properties;
    const text = String(resolveValue(p.DefinitionString));
    const substitutions = resolveValue(p.DefinitionSubstitutions ?? {}) as Record<string, string>;
    // Step Functions replaces ${Name} for each substitution key; other ${...} text stays as written.
    const definition = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name: string) =>
      name in substitutions ? JSON.stringify(String(substitutions[name])).slice(1, -1) : whole,
    );
    return { logicalId, name: physicalName(logicalId), arn: arnOf(logicalId), definition, role: roleOf(p.RoleArn) };
  });

  const rules: LocalRule[] = ofType('AWS::Events::Rule').map(([logicalId, r]) => {
    const p = resolveValue(r.Properties) as Json;
    return {
      logicalId,
      eventBusName: String(p.EventBusName ?? 'default').replace(/^arn:.*:event-bus\//, ''),
      ...(p.EventPattern ? { eventPattern: p.EventPattern } : {}),
      ...(p.ScheduleExpression ? { scheduleExpression: p.ScheduleExpression } : {}),
      enabled: (p.State ?? 'ENABLED') === 'ENABLED',
      targets: ((p.Targets ?? []) as Json[]).map((t) => ({
        arn: String(t.Arn),
        ...(t.RoleArn ? { roleArn: String(t.RoleArn) } : {}),
        ...(t.Input ? { input: String(t.Input) } : {}),
        ...(t.InputPath ? { inputPath: String(t.InputPath) } : {}),
      })),
    };
  });

  const tables = Object.fromEntries(
    Object.entries(snapshot.tables).map(([id, logicalId]) => [id, { name: physicalName(logicalId), arn: arnOf(logicalId) }]),
  ) as Record<TableId, { name: string; arn: string }>;

  const byArnOrName = new Map<string, LocalFunction>();
  for (const fn of functions) {
    byArnOrName.set(fn.arn, fn);
    byArnOrName.set(fn.name, fn);
  }
  const byEntry = new Map(functions.filter((f) => f.entry).map((f) => [f.entry!, f]));
  const byRoleArn = new Map(Object.values(roles).map((r) => [r.arn, r]));
  const apiFunctions = Object.fromEntries(
    Object.entries(snapshot.apiFunctions).map(([group, logicalId]) => [group, functions.find((f) => f.logicalId === logicalId)!]),
  );

  const apiThrottling: MethodThrottle[] = ofType('AWS::ApiGateway::Stage').flatMap(([, r]) =>
    ((r.Properties?.MethodSettings ?? []) as Json[])
      .filter((m) => typeof m.ThrottlingRateLimit === 'number' && typeof m.ThrottlingBurstLimit === 'number')
      .map((m) => ({
        httpMethod: String(m.HttpMethod),
        // MethodSettings write `/` inside a path as `~1` (JSON Pointer escaping).
        resourcePath: String(m.ResourcePath) === '/*' ? '/*' : String(m.ResourcePath).slice(1).replace(/~1/g, '/').replace(/~0/g, '~'),
        rateLimit: Number(m.ThrottlingRateLimit),
        burstLimit: Number(m.ThrottlingBurstLimit),
      })),
  );

  const generatedSecrets = ofType('AWS::SecretsManager::Secret')
    .filter(([, r]) => r.Properties?.GenerateSecretString)
    .map(([logicalId]) => physicalName(logicalId));

  return {
    region,
    account,
    apiThrottling,
    generatedSecrets,
    tables,
    functions,
    stateMachines,
    rules,
    roles,
    apiFunctions,
    // Qualified ARNs (`:function:name:$LATEST`) name the same function.
    functionByArnOrName: (r) => byArnOrName.get(r) ?? byArnOrName.get(r.replace(/:(\$LATEST|\d+)$/, '')),
    functionByEntry: (entry) => byEntry.get(entry),
    roleByArn: (a) => byRoleArn.get(a),
  };
}
