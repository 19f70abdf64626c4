// Template tests of the rollouts (SPEC §7.4, §10): the control plane's own event bus and who may publish to
// it, the rules that start the rollout workflow (ReleasePublished with the shared pattern, and the schedule
// per channel) with retries and a dead-letter queue, the two Standard state machines built from their files,
// and the grants of their roles, of the rollout steps and of the API function that starts and halts rollouts.
import { asList, formattedArn, templateReader, withAction, type Json } from './template-reader.js';
import { describe, expect, it } from 'vitest';
import { stateMachineEnvVar } from '../../functions/adapters/engine.js';
import { EVENT_SOURCE, RELEASE_PUBLISHED_PATTERN } from '../../functions/core/events.js';
import { tableEnvVar, type TableId } from '../../functions/core/tables.js';
import { API_MACHINE_ACCESS, ROLLOUT_STEP_FNS, ROLLOUT_STEP_TABLE_ACCESS, rolloutStepsTableAccess, unionGrants, type ApiFunctionName } from '../../infra/access.js';
import { ROLLOUT_STEP_MODULES } from '../../functions/steps/rollout-steps.js';
import { STEP_FUNCTIONS, TRANSIENT_ERRORS, functionPlaceholder } from '../../functions/core/workflows.js';
import { CONTEXT, contextList, createApp } from '../../infra/create-app.js';
import {
  EVENT_BUS_ENV,
  ROLLOUT_KINDS,
  SYNC_EVENTS_RULE,
  WAVE_STATE_MACHINE_PLACEHOLDER,
} from '../../infra/rollouts.js';
import { STEP_FUNCTION_TIMEOUT_SECONDS, loadDefinition, numericSettings, placeholdersOf } from '../../statemachines/definitions.js';


const SCHEDULE = 'rate(1 day)';
const CHANNELS = ['stable', 'beta'];

// Prepare: one synth for the whole file, bundling skipped, with the rollout schedule and channels set (the
// default stack, with the default catch-up schedule, is synthesized by workflows.test.ts).
const { stack } = createApp({
  nag: false,
  context: { 'aws:cdk:bundling-stacks': [], [CONTEXT.rolloutSchedule]: SCHEDULE, [CONTEXT.rolloutChannels]: CHANNELS.join(',') },
});
const { logicalId, ofType, propsOf, arnOf, refOf, statementsOf, statementsOfFn, tableGrants } = templateReader(stack);
const rollouts = stack.rollouts;
const workflows = stack.workflows;
const names = workflows.stateMachineNames;

const sorted = (values: unknown[]) => values.map((v) => JSON.stringify(v)).sort();

/** Resources of the statements allowing exactly `action` (alone or among others). */
const resourcesFor = (statements: Json[], action: string) =>
  statements.filter((s) => asList<string>(s.Action).includes(action)).flatMap((s) => asList<Json>(s.Resource));


const executionsOf = (kind: keyof typeof names) => formattedArn('states', `execution:${names[kind]}:*`);

/** Every state of a definition, those inside Map and Parallel states included. */
function allStates(definition: Json): [string, Json][] {
  return Object.entries((definition.States ?? {}) as Json).flatMap(([name, state]: [string, Json]) => [
    [name, state] as [string, Json],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor as Json) : []),
    ...(state.Iterator ? allStates(state.Iterator as Json) : []),
    ...((state.Branches ?? []) as Json[]).flatMap(allStates),
  ]);
}

const dlqArn = { 'Fn::GetAtt': [logicalId(rollouts.startDeadLetters), 'Arn'] };
const rolloutMachineRef = refOf(rollouts.stateMachines.rollout);

describe('event bus', () => {
  it('is the control plane\'s own, archived for replay', () => {
    expect(propsOf(rollouts.bus)).toMatchObject({ Name: `${stack.stackName}-events` });
    expect(propsOf(rollouts.archive)).toMatchObject({
      SourceArn: { 'Fn::GetAtt': [logicalId(rollouts.bus), 'Arn'] },
      EventPattern: { source: [EVENT_SOURCE] },
    });
    expect(propsOf(rollouts.archive).RetentionDays).toBeGreaterThan(0);
  });

  it('the releases function may PutEvents on the bus only, and learns its name', () => {
    const releases = stack.api.functions.releases;
    expect(withAction(statementsOfFn(releases), 'events:')).toEqual([
      { Action: 'events:PutEvents', Effect: 'Allow', Resource: { 'Fn::GetAtt': [logicalId(rollouts.bus), 'Arn'] } },
    ]);
    expect(propsOf(releases.function).Environment.Variables[EVENT_BUS_ENV]).toEqual(refOf(rollouts.bus));
  });

  it('no other role may publish events', () => {
    const publishers = ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.PolicyDocument.Statement as Json[]).some((s) => asList<string>(s.Action).includes('events:PutEvents')))
      .flatMap(([, p]) => (p.Properties.Roles as Json[]).map((r) => r.Ref as string));
    expect(publishers).toEqual([logicalId(stack.api.functions.releases.role)]);
  });
});

describe('ReleasePublished rule', () => {
  const rule = propsOf(rollouts.releasePublishedRule);

  it('listens on the bus with the one shared pattern', () => {
    expect(rule.EventBusName).toEqual(refOf(rollouts.bus));
    expect(rule.EventPattern).toEqual(RELEASE_PUBLISHED_PATTERN);
    expect(rule.State ?? 'ENABLED').toBe('ENABLED');
  });

  it('starts the rollout state machine with the whole event, with retries and a dead-letter queue', () => {
    expect(rule.Targets).toHaveLength(1);
    const [target] = rule.Targets as Json[];
    expect(target!.Arn).toEqual(rolloutMachineRef);
    expect(target!.Input).toBeUndefined();
    expect(target!.InputPath).toBeUndefined();
    expect(target!.InputTransformer).toBeUndefined();
    expect(target!.DeadLetterConfig).toEqual({ Arn: dlqArn });
    expect(target!.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(target!.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThan(0);
    // The rule's role may start the rollout state machine and nothing else.
    const roleId = target!.RoleArn['Fn::GetAtt'][0] as string;
    expect(statementsOf(roleId)).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow', Resource: rolloutMachineRef }]);
  });

  it('may send to the dead-letter queue, which is encrypted, TLS-only and alarmed', () => {
    expect(propsOf(rollouts.startDeadLetters).SqsManagedSseEnabled).toBe(true);
    const [, policy] = ofType('AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues[0].Ref === logicalId(rollouts.startDeadLetters))!;
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Action: 'sqs:SendMessage', Principal: { Service: 'events.amazonaws.com' } }),
    );
    expect(propsOf(rollouts.startFailedAlarm)).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
  });
});

describe('rollout schedule', () => {
  it('reads the channel list from context as text or as a list', () => {
    expect(contextList('stable, beta')).toEqual(['stable', 'beta']);
    expect(contextList('["stable","beta"]')).toEqual(['stable', 'beta']);
    expect(contextList(['stable'])).toEqual(['stable']);
    expect(contextList(undefined)).toBeUndefined();
    expect(() => contextList(3)).toThrow();
  });

  it('starts a rollout of each channel on the schedule, with retries and the dead-letter queue', () => {
    expect(Object.keys(rollouts.scheduleRules).sort()).toEqual([...CHANNELS].sort());
    for (const channel of CHANNELS) {
      const rule = propsOf(rollouts.scheduleRules[channel]!);
      expect(rule.ScheduleExpression).toBe(SCHEDULE);
      expect(rule.EventBusName).toBeUndefined(); // schedules run on the default bus
      expect(rule.Targets).toHaveLength(1);
      const [target] = rule.Targets as Json[];
      expect(target!.Arn).toEqual(rolloutMachineRef);
      expect(JSON.parse(target!.Input as string)).toEqual({ schedule: { channel } });
      expect(target!.DeadLetterConfig).toEqual({ Arn: dlqArn });
      expect(target!.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(target!.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThan(0);
    }
    // Two rules on the default bus, one on ours, plus the reconciler's.
    expect(ofType('AWS::Events::Rule')).toHaveLength(CHANNELS.length + 2);
  });
});

describe.each([...ROLLOUT_KINDS])('%s state machine', (kind) => {
  const machine = rollouts.stateMachines[kind];
  const props = propsOf(machine);
  const definition = JSON.parse(props.DefinitionString as string) as Json;

  it('has its fixed name, and is the definition file with the provisioning policy numbers', () => {
    expect(props.StateMachineName).toBe(`${stack.stackName}-${kind}`);
    expect(props.StateMachineName).toBe(names[kind]);
    expect(props.DefinitionString).toBe(loadDefinition(kind, { numbers: numericSettings() }));
  });

  it('substitutes exactly the placeholders the file uses: the rollout step function, and the wave state machine', () => {
    expect(Object.keys(props.DefinitionSubstitutions).sort()).toEqual(placeholdersOf(kind));
    for (const placeholder of placeholdersOf(kind)) {
      const fn = placeholder === functionPlaceholder(STEP_FUNCTIONS.rollout);
      const expected = fn ? arnOf(rollouts.stepFunction) : placeholder === WAVE_STATE_MACHINE_PLACEHOLDER ? refOf(rollouts.stateMachines['rollout-wave']) : undefined;
      expect(expected, placeholder).toBeDefined();
      expect(props.DefinitionSubstitutions[placeholder], placeholder).toEqual(expected);
    }
    expect(placeholdersOf(kind).includes(WAVE_STATE_MACHINE_PLACEHOLDER)).toBe(kind === 'rollout');
  });

  it('retries named errors only, never States.ALL', () => {
    const states = allStates(definition);
    const tasks = states.filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(0);
    for (const [name, task] of tasks) {
      expect(task.Retry, name).toEqual(expect.any(Array));
      for (const retrier of task.Retry as Json[]) {
        expect(retrier.ErrorEquals, name).not.toContain('States.ALL');
        expect(retrier.ErrorEquals, name).not.toContain('States.TaskFailed');
      }
      // Every Lambda task retries the transient Lambda errors with the policy's backoff (D8).
      if (task.Parameters?.FunctionName) {
        expect(task.Retry, name).toEqual([
          expect.objectContaining({ ErrorEquals: [...TRANSIENT_ERRORS], MaxAttempts: numericSettings().RetryMaxAttempts, BackoffRate: numericSettings().RetryBackoffRate }),
        ]);
      }
    }
  });

  it('is a Standard workflow that logs all events with execution data and traces with X-Ray', () => {
    expect(props.StateMachineType).toBe('STANDARD');
    expect(props.LoggingConfiguration).toEqual({
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalId(rollouts.logGroups[kind]), 'Arn'] } } }],
      IncludeExecutionData: true,
      Level: 'ALL',
    });
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
    // Not a fixed name: the group is retained on delete, and the next stack must be able to create its own (D9).
    expect(propsOf(rollouts.logGroups[kind]).LogGroupName).toEqual({
      'Fn::Join': ['', [`/aws/vendedlogs/states/${names[kind]}-`, { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]],
    });
    expect(propsOf(rollouts.logGroups[kind]).RetentionInDays).toBeGreaterThan(0);
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('may invoke exactly the rollout step function, unqualified', () => {
    const invoke = withAction(statementsOf(logicalId(machine.role)), 'lambda:');
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.Action).toBe('lambda:InvokeFunction');
    expect(asList<Json>(invoke[0]!.Resource)).toEqual([arnOf(rollouts.stepFunction)]);
  });

  it('names a rollout step in every Task payload, and waits no longer than the function may run (D8)', () => {
    for (const [name, task] of allStates(definition).filter(([, s]) => s.Type === 'Task' && s.Parameters?.FunctionName)) {
      expect(Object.keys(ROLLOUT_STEP_MODULES), name).toContain(task.Parameters.Payload.step);
      if (!String(task.Resource).endsWith('.waitForTaskToken')) {
        expect(task.TimeoutSeconds, name).toBeLessThanOrEqual(propsOf(rollouts.stepFunction.function).Timeout);
      }
    }
  });
});

describe('rollout state machine role', () => {
  const statements = statementsOf(logicalId(rollouts.stateMachines.rollout.role));
  const wave = rollouts.stateMachines['rollout-wave'];

  it('may start the wave state machine and no other', () => {
    expect(resourcesFor(statements, 'states:StartExecution')).toEqual([refOf(wave)]);
  });

  it('has what startExecution.sync:2 needs: describe and stop wave executions, and the managed rule', () => {
    expect(statements).toContainEqual({
      Action: ['states:DescribeExecution', 'states:StopExecution'],
      Effect: 'Allow',
      Resource: executionsOf('rollout-wave'),
    });
    expect(statements).toContainEqual({
      Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      Effect: 'Allow',
      Resource: formattedArn('events', `rule/${SYNC_EVENTS_RULE}`),
    });
    const allowed = ['states:', 'events:', 'lambda:', 'logs:', 'xray:'];
    for (const s of statements) expect(asList<string>(s.Action).every((a) => allowed.some((p) => a.startsWith(p)))).toBe(true);
    expect(resourcesFor(statements, 'states:SendTaskSuccess')).toEqual([]);
  });

  it('the wave state machine role touches no state machine', () => {
    expect(withAction(statementsOf(logicalId(wave.role)), 'states:')).toEqual([]);
    expect(withAction(statementsOf(logicalId(wave.role)), 'events:')).toEqual([]);
  });
});

describe('rollout step function', () => {
  const step = rollouts.stepFunction;

  it('is one function for every rollout step, on the project defaults, sized to plan', () => {
    expect(Object.keys(ROLLOUT_STEP_MODULES).sort()).toEqual([...ROLLOUT_STEP_FNS].sort());
    expect(propsOf(step.function)).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
    // Planning decides every target of the channel.
    expect(propsOf(step.function).MemorySize).toBeGreaterThanOrEqual(1024);
    expect(propsOf(step.function).Timeout).toBe(STEP_FUNCTION_TIMEOUT_SECONDS);
  });

  it('gets exactly the union of the rollout steps\' tables, with their env vars', () => {
    const expected = rolloutStepsTableAccess();
    expect(expected).toEqual(unionGrants(...ROLLOUT_STEP_FNS.map((fn) => ROLLOUT_STEP_TABLE_ACCESS[fn])));
    expect(expected.rollouts).toBe('readWrite');
    expect(tableGrants(step)).toEqual(expected);
    const env = propsOf(step.function).Environment?.Variables ?? {};
    for (const tableId of Object.keys(expected) as TableId[]) {
      expect(env[tableEnvVar(tableId)]).toEqual(refOf(stack.data.tables[tableId].table));
    }
  });

  it('starts update runs and answers the wave\'s token by name, and nothing else on the state machines', () => {
    expect(withAction(statementsOfFn(step), 'states:')).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: refOf(workflows.stateMachines.update) },
      { Action: 'states:SendTaskSuccess', Effect: 'Allow', Resource: formattedArn('states', `stateMachine:${names['rollout-wave']}`) },
    ]);
    expect(propsOf(step.function).Environment.Variables[stateMachineEnvVar('update')]).toEqual(refOf(workflows.stateMachines.update));
    expect(withAction(statementsOfFn(step), 'events:')).toEqual([]);
  });
});

describe('rollouts API function', () => {
  const fn = stack.api.functions.rollouts;
  const statements = withAction(statementsOfFn(fn), 'states:');

  it('starts the rollout state machine only', () => {
    expect(API_MACHINE_ACCESS.rollouts).toEqual({ rollout: ['start', 'stop'], 'rollout-wave': ['stop'] });
    expect(resourcesFor(statements, 'states:StartExecution')).toEqual([rolloutMachineRef]);
  });

  it('stops rollout and wave executions, not update runs (the reconciler does, D12), and nothing else', () => {
    const stop = statements.filter((s) => s.Action === 'states:StopExecution');
    expect(stop).toHaveLength(1);
    expect(sorted(asList<Json>(stop[0]!.Resource))).toEqual(sorted([executionsOf('rollout'), executionsOf('rollout-wave')]));
    expect(statements.flatMap((s) => asList<string>(s.Action)).sort()).toEqual(['states:StartExecution', 'states:StopExecution']);
  });

  it('knows the state machines it starts and stops, and has the time and memory to plan', () => {
    const p = propsOf(fn.function);
    const env = p.Environment.Variables;
    expect(env[stateMachineEnvVar('rollout')]).toEqual(rolloutMachineRef);
    expect(env[stateMachineEnvVar('rollout-wave')]).toEqual(refOf(rollouts.stateMachines['rollout-wave']));
    expect(env[stateMachineEnvVar('update')]).toBeUndefined();
    expect(env[stateMachineEnvVar('provisioning')]).toBeUndefined();
    expect(p.Timeout).toBe(60);
    expect(p.MemorySize).toBeGreaterThanOrEqual(1024);
  });

  it('no other API function touches the rollout state machines', () => {
    const rolloutArns = JSON.stringify([rolloutMachineRef, refOf(rollouts.stateMachines['rollout-wave'])]);
    for (const name of Object.keys(stack.api.functions) as ApiFunctionName[]) {
      if (API_MACHINE_ACCESS[name]) continue;
      const text = JSON.stringify(withAction(statementsOfFn(stack.api.functions[name]), 'states:'));
      expect(text, name).not.toContain(names.rollout);
      for (const ref of JSON.parse(rolloutArns) as Json[]) expect(text, name).not.toContain(JSON.stringify(ref));
      expect(propsOf(stack.api.functions[name].function).Environment?.Variables?.[stateMachineEnvVar('rollout')], name).toBeUndefined();
    }
  });
});
