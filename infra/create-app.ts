// Builds the CDK app: the one stack, with cdk-nag's AwsSolutions pack checking it at every synth.
// Shared by the CLI entry point (infra/app.ts) and the infra tests, so both synthesize the same thing.
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_ROLLOUT_SCHEDULE } from './rollouts.js';
import { DeploymentControlPlaneStack, STACK_NAME } from './stack.js';

/** Context keys the app reads (`cdk synth -c dcp:wafWebAclArn=arn:...`). */
export const CONTEXT = {
  wafWebAclArn: 'dcp:wafWebAclArn',
  stageName: 'dcp:stageName',
  /**
   * EventBridge schedule expression of the catch-up rule, e.g. `rate(1 day)`; default DEFAULT_ROLLOUT_SCHEDULE,
   * `off` switches it off (then a lost ReleasePublished event is only replayed by hand from the archive).
   */
  rolloutSchedule: 'dcp:rolloutSchedule',
  /** Channels the schedule covers: a list in cdk.json, or `stable,beta` on the command line (default: stable). */
  rolloutChannels: 'dcp:rolloutChannels',
  /** `on`: API Gateway access and execution logs (needs the account's API Gateway CloudWatch role). */
  apiLogging: 'dcp:apiLogging',
  /** An e-mail address the alarms' SNS topic notifies (a subscription the recipient confirms). */
  alarmEmail: 'dcp:alarmEmail',
} as const;

/** A list from context: a JSON array (cdk.json), or comma-separated text (`-c key=a,b`). */
export function contextList(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let list: unknown = value;
  if (typeof value === 'string') {
    const text = value.trim();
    list = text.startsWith('[') ? (JSON.parse(text) as unknown) : text.split(',');
  }
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
    throw new Error(`Expected a list of strings, got ${JSON.stringify(value)}`);
  }
  const items = list.map((v) => v.trim()).filter((v) => v !== '');
  return items.length > 0 ? items : undefined;
}

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
    apiLogging: context(CONTEXT.apiLogging) === 'on',
    alarmEmail: context(CONTEXT.alarmEmail),
    rolloutSchedule: context(CONTEXT.rolloutSchedule) ?? DEFAULT_ROLLOUT_SCHEDULE,
    rolloutChannels: contextList(app.node.tryGetContext(CONTEXT.rolloutChannels)),
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
