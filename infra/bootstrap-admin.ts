// The first admin token (SPEC §5): a generated value in Secrets Manager, and a custom resource that stores
// its hash in the tokens table when the stack is created or the secret changes.
import { CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { DataTable } from './data.js';
import { DcpFunction } from './function.js';

export interface BootstrapAdminProps {
  readonly tokens: DataTable;
  /** The audit table: storing the token is audited on the control stream, as it is locally. */
  readonly audit: DataTable;
}

export class BootstrapAdmin extends Construct {
  readonly secret: secretsmanager.Secret;
  readonly onEvent: DcpFunction;

  constructor(scope: Construct, id: string, props: BootstrapAdminProps) {
    super(scope, id);

    this.secret = new secretsmanager.Secret(this, 'AdminToken', {
      description: 'Deployment Control Plane bootstrap admin token (Authorization: Bearer <value>)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
      // The token's hash outlives the stack in the retained tokens table; keep the value with it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is an API token, not a credential of another service, so there is nothing to rotate it ' +
        'against. It is replaced by changing the secret and updating the stack (the custom resource stores the ' +
        'new hash) and is meant to be revoked (DELETE /tokens/bootstrap) once named admin tokens exist.',
    });

    const onEvent = (this.onEvent = new DcpFunction(this, 'OnEvent', {
      entry: 'functions/custom/bootstrap-admin.ts',
      description: 'Deployment Control Plane: store the bootstrap admin token hash',
      timeout: Duration.seconds(30),
      memorySize: 256,
    }));
    onEvent.bindTable(props.tokens, 'readWrite');
    onEvent.bindTable(props.audit, 'readWrite');
    this.secret.grantRead(onEvent.role);

    // The provider's framework function gets a role scoped like ours instead of the managed basic role.
    const frameworkLogs = new logs.LogGroup(this, 'ProviderLogs', { retention: logs.RetentionDays.THREE_MONTHS });
    const frameworkRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Custom resource provider framework of the bootstrap admin token',
    });
    frameworkLogs.grantWrite(frameworkRole);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent.function,
      frameworkOnEventRole: frameworkRole,
      logGroup: frameworkLogs,
    });
    const onEventLogicalId: unknown = Stack.of(this).resolve((onEvent.function.node.defaultChild as lambda.CfnFunction).logicalId);
    Validations.of(frameworkRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${String(onEventLogicalId)}.Arn>:*]`,
      reason:
        'lambda:InvokeFunction on the onEvent handler and its qualified versions (`<arn>:*`), as the provider ' +
        'framework grants it; the handler is the only function this role may invoke.',
    });

    new CustomResource(this, 'Token', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::BootstrapAdminToken',
      // The handler reads the secret named here; a new secret (or a new tokens table) re-runs it.
      properties: { SecretArn: this.secret.secretArn, TokensTable: props.tokens.table.tableName },
    });
  }
}
