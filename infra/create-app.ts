// Builds the CDK app: the one stack, with cdk-nag's AwsSolutions pack checking it at every synth.
// Shared by the CLI entry point (infra/app.ts) and the infra tests, so both synthesize the same thing.
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DeploymentControlPlaneStack, STACK_NAME } from './stack.js';

/** Context keys the app reads (`cdk synth -c dcp:wafWebAclArn=arn:...`). */
export const CONTEXT = {
  wafWebAclArn: 'dcp:wafWebAclArn',
  stageName: 'dcp:stageName',
} as const;

export interface CreateAppOptions extends AppProps {
  /** Run cdk-nag's AwsSolutions pack at synth (default true; template tests turn it off for speed). */
  readonly nag?: boolean;
}

export function createApp(options: CreateAppOptions = {}): { app: App; stack: DeploymentControlPlaneStack } {
  const { nag = true, ...props } = options;
  const app = new App(props);
  const context = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  // Environment-agnostic on purpose: synth needs no account, region or credentials, and nothing in the
  // stack depends on knowing them (deploy picks the account and region of the caller's credentials).
  const stack = new DeploymentControlPlaneStack(app, STACK_NAME, {
    wafWebAclArn: context(CONTEXT.wafWebAclArn),
    stageName: context(CONTEXT.stageName),
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
