// The Deployment Control Plane stack: tables, the workflows, the HTTPS API with its functions, and the first
// admin token.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BASE_PATH } from '../functions/core/routes/index.js';
import { API_WORKFLOW_ACCESS, type ApiFunctionName } from './access.js';
import { Api, type ApiThrottling } from './api.js';
import { BootstrapAdmin } from './bootstrap-admin.js';
import { Data } from './data.js';
import { Workflows } from './workflows.js';

export const STACK_NAME = 'DeploymentControlPlane';

export interface DeploymentControlPlaneProps extends StackProps {
  readonly stageName?: string;
  readonly throttling?: ApiThrottling;
  /** ARN of a regional WAFv2 web ACL to associate with the API stage. */
  readonly wafWebAclArn?: string;
}

export class DeploymentControlPlaneStack extends Stack {
  readonly data: Data;
  readonly workflows: Workflows;
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
    new CfnOutput(this, 'ApiStageArn', {
      description: 'ARN of the API stage, for associating a WAF web ACL',
      value: this.api.stageArn,
      exportName: `${this.stackName}-ApiStageArn`,
    });
  }
}
