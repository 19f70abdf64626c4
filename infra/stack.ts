// The Deployment Control Plane stack: tables, the workflows, the rollouts with their event bus, the HTTPS API
// with its functions, and the first admin token.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BASE_PATH } from '../functions/core/routes/index.js';
import { API_EVENT_PUBLISHERS, API_MACHINE_ACCESS, API_WORKFLOW_ACCESS, type ApiFunctionName } from './access.js';
import { Api, type ApiThrottling } from './api.js';
import { Artifacts } from './artifacts.js';
import { BootstrapAdmin } from './bootstrap-admin.js';
import { Data } from './data.js';
import { Rollouts } from './rollouts.js';
import { Workflows } from './workflows.js';

export const STACK_NAME = 'DeploymentControlPlane';

export interface DeploymentControlPlaneProps extends StackProps {
  readonly stageName?: string;
  readonly throttling?: ApiThrottling;
  /** ARN of a regional WAFv2 web ACL to associate with the API stage. */
  readonly wafWebAclArn?: string;
  /** EventBridge schedule expression (`rate(1 day)`) that also starts rollouts per channel; off when absent. */
  readonly rolloutSchedule?: string;
  /** Channels the rollout schedule covers (default: stable). */
  readonly rolloutChannels?: readonly string[];
}

export class DeploymentControlPlaneStack extends Stack {
  readonly data: Data;
  readonly workflows: Workflows;
  readonly rollouts: Rollouts;
  readonly api: Api;
  readonly bootstrapAdmin: BootstrapAdmin;

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
    new Artifacts(this, 'Artifacts', { api: this.api });
    this.bootstrapAdmin = new BootstrapAdmin(this, 'BootstrapAdmin', { tokens: this.data.tables.tokens });

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
