// The Deployment Control Plane stack: tables, the workflows, the rollouts with their event bus, the HTTPS API
// with its functions, and the first admin token.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BASE_PATH } from '../functions/core/routes/index.js';
import { API_EVENT_PUBLISHERS, API_MACHINE_ACCESS, API_WORKFLOW_ACCESS, type ApiFunctionName } from './access.js';
import { Api, type ApiThrottling } from './api.js';
import { Artifacts } from './artifacts.js';
import { BootstrapAdmin } from './bootstrap-admin.js';
import { Console } from './console.js';
import { Data } from './data.js';
import { Operations } from './operations.js';
import { Rollouts } from './rollouts.js';
import { Workflows } from './workflows.js';

export const STACK_NAME = 'DeploymentControlPlane';

export interface DeploymentControlPlaneProps extends StackProps {
  readonly stageName?: string;
  readonly throttling?: ApiThrottling;
  /** ARN of a regional WAFv2 web ACL to associate with the API stage. */
  readonly wafWebAclArn?: string;
  /**
   * EventBridge schedule expression (`rate(1 hour)`) of the rule that catches up on lost ReleasePublished
   * events per channel; `off` or absent: no rule (createApp sets DEFAULT_ROLLOUT_SCHEDULE unless told `off`).
   */
  readonly rolloutSchedule?: string;
  /** Channels the rollout schedule covers (default: stable). */
  readonly rolloutChannels?: readonly string[];
  /** API Gateway access and execution logs to CloudWatch (needs the account's API Gateway CloudWatch role). */
  readonly apiLogging?: boolean;
  /** An e-mail address subscribed to the alarm topic. */
  readonly alarmEmail?: string;
}

export class DeploymentControlPlaneStack extends Stack {
  readonly data: Data;
  readonly workflows: Workflows;
  readonly rollouts: Rollouts;
  readonly api: Api;
  readonly bootstrapAdmin: BootstrapAdmin;
  readonly operations: Operations;

  constructor(scope: Construct, id: string, props: DeploymentControlPlaneProps = {}) {
    super(scope, id, {
      description: 'Deployment Control Plane: decides, runs and audits provisioning and updates of targets',
      ...props,
    });

    this.data = new Data(this, 'Data');
    this.workflows = new Workflows(this, 'Workflows', { tables: this.data.tables });
    this.api = new Api(this, 'Api', {
      tables: this.data.tables,
      stageName: props.stageName,
      throttling: props.throttling,
      wafWebAclArn: props.wafWebAclArn,
      logging: props.apiLogging,
    });
    // Route handlers that start runs, read them, or complete their waits (infra/access.ts says which).
    for (const name of Object.keys(API_WORKFLOW_ACCESS) as ApiFunctionName[]) {
      this.workflows.bindStateMachines(this.api.functions[name], API_WORKFLOW_ACCESS[name]!);
    }
    this.rollouts = new Rollouts(this, 'Rollouts', {
      tables: this.data.tables,
      workflows: this.workflows,
      schedule: props.rolloutSchedule,
      channels: props.rolloutChannels,
    });
    // Route handlers that start and halt rollouts, and the ones that publish ReleasePublished.
    for (const name of Object.keys(API_MACHINE_ACCESS) as ApiFunctionName[]) {
      this.rollouts.bindMachines(this.api.functions[name], API_MACHINE_ACCESS[name]!);
    }
    for (const name of API_EVENT_PUBLISHERS) this.rollouts.bindPublisher(this.api.functions[name]);
    this.bootstrapAdmin = new BootstrapAdmin(this, 'BootstrapAdmin', { tokens: this.data.tables.tokens, audit: this.data.tables.audit });
    new Console(this, 'Console', { restApi: this.api.restApi });
    new Artifacts(this, 'Artifacts', { api: this.api });

    // Every alarm of the stack notifies the operations topic.
    this.operations = new Operations(this, 'Operations', { alarmEmail: props.alarmEmail });
    this.operations.notify(
      this.workflows.compensationFailedAlarm,
      this.workflows.reconcileFailedAlarm,
      this.rollouts.startFailedAlarm,
    );

    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic the alarms notify (subscribe a pager or chat bridge to it)',
      value: this.operations.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the HTTPS API',
      value: `${this.api.restApi.url.replace(/\/$/, '')}${BASE_PATH}`,
    });
    new CfnOutput(this, 'AdminTokenSecretArn', {
      description: 'Secrets Manager secret holding the bootstrap admin token',
      value: this.bootstrapAdmin.secret.secretArn,
    });
    new CfnOutput(this, 'ProvisioningStateMachineArn', {
      description: 'ARN of the provisioning state machine',
      value: this.workflows.stateMachines.provisioning.stateMachineArn,
    });
    new CfnOutput(this, 'UpdateStateMachineArn', {
      description: 'ARN of the update state machine',
      value: this.workflows.stateMachines.update.stateMachineArn,
    });
    new CfnOutput(this, 'RolloutStateMachineArn', {
      description: 'ARN of the rollout state machine',
      value: this.rollouts.stateMachines.rollout.stateMachineArn,
    });
    new CfnOutput(this, 'EventBusName', {
      description: 'Name of the control plane event bus (ReleasePublished)',
      value: this.rollouts.bus.eventBusName,
    });
    new CfnOutput(this, 'ApiStageArn', {
      description: 'ARN of the API stage, for associating a WAF web ACL',
      value: this.api.stageArn,
      exportName: `${this.stackName}-ApiStageArn`,
    });
  }
}
