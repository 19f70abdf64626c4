// The Deployment Control Plane stack: tables, the HTTPS API with its functions, and the first admin token.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BASE_PATH } from '../functions/core/routes/index.js';
import { Api, type ApiThrottling } from './api.js';
import { BootstrapAdmin } from './bootstrap-admin.js';
import { Data } from './data.js';

export const STACK_NAME = 'DeploymentControlPlane';

export interface DeploymentControlPlaneProps extends StackProps {
  readonly stageName?: string;
  readonly throttling?: ApiThrottling;
  /** ARN of a regional WAFv2 web ACL to associate with the API stage. */
  readonly wafWebAclArn?: string;
}

export class DeploymentControlPlaneStack extends Stack {
  readonly data: Data;
  readonly api: Api;
  readonly bootstrapAdmin: BootstrapAdmin;

  constructor(scope: Construct, id: string, props: DeploymentControlPlaneProps = {}) {
    super(scope, id, {
      description: 'Deployment Control Plane: decides, runs and audits provisioning and updates of targets',
      ...props,
    });

    this.data = new Data(this, 'Data');
    this.api = new Api(this, 'Api', {
      tables: this.data.tables,
      stageName: props.stageName,
      throttling: props.throttling,
      wafWebAclArn: props.wafWebAclArn,
    });
    this.bootstrapAdmin = new BootstrapAdmin(this, 'BootstrapAdmin', { tokens: this.data.tables.tokens });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the HTTPS API',
      value: `${this.api.restApi.url.replace(/\/$/, '')}${BASE_PATH}`,
    });
    new CfnOutput(this, 'AdminTokenSecretArn', {
      description: 'Secrets Manager secret holding the bootstrap admin token',
      value: this.bootstrapAdmin.secret.secretArn,
    });
    new CfnOutput(this, 'ApiStageArn', {
      description: 'ARN of the API stage, for associating a WAF web ACL',
      value: this.api.stageArn,
      exportName: `${this.stackName}-ApiStageArn`,
    });
  }
}
