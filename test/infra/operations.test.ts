// Template tests of issue #9's stack-wide fixes, on the default stack (no context): its size against
// CloudFormation's 500-resource limit (item 5), no account-wide or fixed-name resources that break a second
// deployment (D9), alarms that notify someone and a catch-up schedule that is on (D13).
import { describe, expect, it } from 'vitest';
import { CONTEXT, createApp } from '../../infra/create-app.js';
import { DEFAULT_ROLLOUT_SCHEDULE } from '../../infra/rollouts.js';
import { templateReader, type Json } from './template-reader.js';

/** CloudFormation's limit of resources per stack, and the share of it the stack may use (issue #9). */
const CLOUDFORMATION_RESOURCE_LIMIT = 500;
const MAX_RESOURCES = 0.6 * CLOUDFORMATION_RESOURCE_LIMIT;

const synth = (context: Record<string, string> = {}) =>
  templateReader(createApp({ nag: false, context: { 'aws:cdk:bundling-stacks': [], ...context } }).stack);

const { stack } = createApp({ nag: false, context: { 'aws:cdk:bundling-stacks': [] } });
const { resources, ofType, propsOf, logicalId, refOf } = templateReader(stack);

describe('stack size (item 5)', () => {
  it(`has at most ${MAX_RESOURCES} resources (60 % of CloudFormation's ${CLOUDFORMATION_RESOURCE_LIMIT})`, () => {
    const count = Object.keys(resources).length;
    console.log(`template resources: ${count}`);
    expect(count).toBeLessThanOrEqual(MAX_RESOURCES);
  });

  it('one step function per workflow family, and one invoke permission per API function (not one per method)', () => {
    const functions = ofType('AWS::Lambda::Function');
    const steps = functions.filter(([, f]) => /the steps of the/.test(String(f.Properties.Description)));
    expect(steps).toHaveLength(2);
    const apiPermissions = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com');
    // The route groups' functions, the authorizer and the console's function, each once.
    const perFunction = new Map<string, number>();
    for (const [, p] of apiPermissions) {
      const fn = JSON.stringify(p.Properties.FunctionName);
      perFunction.set(fn, (perFunction.get(fn) ?? 0) + 1);
    }
    // (The console's function serves two resources, /console and /console/{proxy+}.)
    expect(Math.max(...perFunction.values())).toBeLessThanOrEqual(2);
    expect(perFunction.size).toBe(Object.keys(stack.api.functions).length + 1);
  });
});

describe('re-deployable (D9)', () => {
  it('creates no account-wide API Gateway settings or role', () => {
    expect(ofType('AWS::ApiGateway::Account')).toEqual([]);
    expect(ofType('AWS::IAM::Role').filter(([, r]) => JSON.stringify(r).includes('AmazonAPIGatewayPushToCloudWatchLogs'))).toEqual([]);
  });

  it('gives no retained log group a fixed name', () => {
    for (const [id, group] of ofType('AWS::Logs::LogGroup')) {
      const name = group.Properties.LogGroupName;
      if (name === undefined) continue;
      // A name is only acceptable when it includes the stack's own id (unique per created stack).
      expect(typeof name, id).not.toBe('string');
      expect(JSON.stringify(name), id).toContain('AWS::StackId');
      expect(group.DeletionPolicy, id).toBe('Retain');
    }
  });

  it('leaves API Gateway CloudWatch logging off by default, and on only with dcp:apiLogging=on', () => {
    const [, stage] = ofType('AWS::ApiGateway::Stage')[0]!;
    expect(stage.Properties.AccessLogSetting).toBeUndefined();
    for (const s of stage.Properties.MethodSettings as Json[]) expect(s.LoggingLevel).toBe('OFF');
    const on = synth({ [CONTEXT.apiLogging]: 'on' });
    const [, loggedStage] = on.ofType('AWS::ApiGateway::Stage')[0]!;
    expect(loggedStage.Properties.AccessLogSetting.DestinationArn).toBeDefined();
    expect(on.ofType('AWS::ApiGateway::Account')).toEqual([]);
  });
});

describe('alarms and catch-up (D13)', () => {
  const topic = refOf(stack.operations.alarmTopic);

  it('every alarm notifies the operations topic, on alarm and back to OK', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(3);
    for (const [id, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions, id).toEqual([topic]);
      expect(alarm.Properties.OKActions, id).toEqual([topic]);
    }
    expect(ofType('AWS::SNS::Subscription')).toEqual([]);
  });

  it('subscribes the e-mail address of dcp:alarmEmail', () => {
    const withEmail = synth({ [CONTEXT.alarmEmail]: 'ops@example.com' });
    const subscriptions = withEmail.ofType('AWS::SNS::Subscription');
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]![1].Properties).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com' });
    expect(() => synth({ [CONTEXT.alarmEmail]: 'not-an-address' })).toThrow(/e-mail/);
  });

  it('runs the catch-up schedule by default, and not with dcp:rolloutSchedule=off', () => {
    const scheduled = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression !== undefined);
    expect(scheduled.map(([, r]) => r.Properties.ScheduleExpression)).toEqual([DEFAULT_ROLLOUT_SCHEDULE]);
    expect(scheduled[0]![1].Properties.State).toBe('ENABLED');
    expect(scheduled[0]![1].Properties.Targets[0].Arn).toEqual(refOf(stack.rollouts.stateMachines.rollout));
    const off = synth({ [CONTEXT.rolloutSchedule]: 'off' });
    expect(off.ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression !== undefined)).toEqual([]);
  });

  it('the state machine log groups are the ones the alarms read', () => {
    for (const kind of ['provisioning', 'update'] as const) {
      expect(propsOf(stack.workflows.logGroups[kind]).RetentionInDays, kind).toBeGreaterThan(0);
      expect(resources[logicalId(stack.workflows.logGroups[kind])]).toBeDefined();
    }
  });
});
