// The workflow definitions (statemachines/*.asl.json) against the one step list (functions/core/workflows.ts)
// and SPEC §7: valid ASL, the states and order the spec names, retries only for transient errors, every
// task bounded and caught, and named scenarios run with aws-local-stepfunctions: the happy paths, a
// permanent failure through the block branch, a retried transient error, a failed compensation.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  PROVISIONING_SEQUENCE,
  STEPS,
  TERMINAL_STATES,
  TRANSIENT_ERRORS,
  stepByState,
  type ExecutionInput,
  type WorkflowKind,
} from '../../functions/core/workflows.js';
import { WORKFLOW_KINDS, loadDefinition, numericSettings, placeholdersOf, type MachineKind } from '../../statemachines/definitions.js';

// aws-local-stepfunctions calls Promise.withResolvers, which Node 20 lacks; define it before loading the module.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
const { StateMachine } = await import('aws-local-stepfunctions');
type Definition = ConstructorParameters<typeof StateMachine>[0];

// asl-validator ships no type declarations.
const aslValidator = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

type Json = Record<string, any>;

const NUMBERS = numericSettings();
const fakeArn = (placeholder: string) => `arn:aws:lambda:eu-west-1:111122223333:function:${placeholder}`;

function definitionOf(kind: WorkflowKind): Json {
  const strings = Object.fromEntries(placeholdersOf(kind).map((p) => [p, fakeArn(p)]));
  return JSON.parse(loadDefinition(kind, { numbers: NUMBERS, strings })) as Json;
}

const DEFINITIONS: Record<WorkflowKind, Json> = {
  provisioning: definitionOf('provisioning'),
  update: definitionOf('update'),
};

const statesOf = (kind: WorkflowKind): [string, Json][] => Object.entries(DEFINITIONS[kind].States as Json);
const tasksOf = (kind: WorkflowKind) => statesOf(kind).filter(([, s]) => s.Type === 'Task');
const stepsOf = (kind: WorkflowKind) => STEPS.filter((s) => s.workflows.includes(kind));

/** State names from `from`, following Next (and a Choice's Default) until a state without one. */
function pathFrom(kind: WorkflowKind, from: string): string[] {
  const states = DEFINITIONS[kind].States as Json;
  const path: string[] = [];
  for (let name: string | undefined = from; name !== undefined; ) {
    expect(path, `loop at ${name}`).not.toContain(name);
    path.push(name);
    const state: Json = states[name]!;
    name = state.Type === 'Choice' ? state.Default : state.Next;
  }
  return path;
}

const BLOCK_BRANCH: Record<WorkflowKind, string[]> = {
  provisioning: ['Record blockers', 'Delete injected secrets', 'Release allocation', 'Unlock installer', 'Record failure', 'Blocked'],
  update: ['Record blockers', 'Release allocation', 'Switch off maintenance mode', 'Record failure', 'Blocked'],
};

const HAPPY_PATH: Record<WorkflowKind, string[]> = {
  provisioning: ['Check policy gate', ...PROVISIONING_SEQUENCE, 'Provisioned'],
  update: [
    'Check policy gate', 'Choose by deployment mode', 'Enable maintenance mode', 'Verify fresh backup',
    'Retain rollback package', 'Run migrations', 'Bind release', 'Run health checks', 'Disable maintenance mode',
    'Record audit event', 'Updated',
  ],
};

describe.each([...WORKFLOW_KINDS])('%s definition', (kind) => {
  const definition = DEFINITIONS[kind];

  it('is valid ASL (JSONPath) with every placeholder filled', () => {
    const { isValid, errorsText } = aslValidator(definition);
    expect(isValid, errorsText('\n')).toBe(true);
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(JSON.stringify(definition)).not.toMatch(/\$\{/);
  });

  it('names its states after the step list, and holds every step of the workflow', () => {
    const names = statesOf(kind).map(([name]) => name);
    const terminal = [TERMINAL_STATES.succeeded[kind], TERMINAL_STATES.blocked, TERMINAL_STATES.compensationFailed];
    for (const [name, state] of statesOf(kind)) {
      const known = stepsOf(kind).some((s) => s.state === name) || terminal.includes(name as never) || state.Type === 'Choice';
      expect(known, name).toBe(true);
    }
    for (const step of stepsOf(kind)) expect(names, step.state).toContain(step.state);
    expect(placeholdersOf(kind)).toEqual([...new Set(stepsOf(kind).map((s) => s.placeholder))].sort());
  });

  it('follows SPEC order on the happy path, with at most 15 transitions and no Pass state', () => {
    const path = pathFrom(kind, definition.StartAt);
    expect(path).toEqual(HAPPY_PATH[kind]);
    expect(path.length).toBeLessThanOrEqual(15);
    expect(statesOf(kind).filter(([, s]) => s.Type === 'Pass')).toEqual([]);
    expect((definition.States as Json)[path.at(-1)!].Type).toBe('Succeed');
  });

  it('runs the block branch in order into one Blocked state that carries the failure', () => {
    expect(pathFrom(kind, 'Record blockers')).toEqual(BLOCK_BRANCH[kind]);
    const fails = statesOf(kind).filter(([, s]) => s.Type === 'Fail');
    expect(fails.map(([name]) => name).sort()).toEqual([TERMINAL_STATES.blocked, TERMINAL_STATES.compensationFailed].sort());
    expect((definition.States as Json).Blocked).toMatchObject({ ErrorPath: '$.results.recordBlockers.details.error', CausePath: '$.results.recordBlockers.details.cause' });
    expect((definition.States as Json).CompensationFailed).toMatchObject({ Error: 'CompensationFailed' });
  });

  it('retries the transient Lambda errors AWS lists for Lambda tasks, function timeouts included (D8)', () => {
    for (const error of [
      'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.ClientExecutionTimeoutException',
      'Lambda.TooManyRequestsException', 'Lambda.Unknown', 'Sandbox.Timedout',
    ]) {
      expect(TRANSIENT_ERRORS, error).toContain(error);
    }
  });

  it('retries only the named transient errors, never States.ALL', () => {
    const retriers = JSON.stringify(definition).match(/"Retry":\[[^\]]*\][^\]]*\]/g) ?? [];
    expect(retriers.length).toBe(tasksOf(kind).length);
    for (const [name, state] of statesOf(kind)) {
      for (const retrier of (state.Retry ?? []) as Json[]) {
        expect(retrier.ErrorEquals, name).not.toContain('States.ALL');
        expect(retrier.ErrorEquals, name).not.toContain('States.TaskFailed');
        expect(retrier.ErrorEquals, name).toEqual([...TRANSIENT_ERRORS]);
      }
    }
  });

  it.each(tasksOf(kind).map(([name]) => name))('%s: bounded, retried with jitter, caught, and shaped by its step', (name) => {
    const state = (definition.States as Json)[name] as Json;
    const step = stepByState(name)!;
    expect(state.Comment, 'Comment').toEqual(expect.any(String));
    // A callback task waits for the agent; any other waits no longer than its Lambda function may run (D8).
    expect(state.TimeoutSeconds).toBe(step.command ? NUMBERS.StepTimeoutSeconds : NUMBERS.StepFunctionTimeoutSeconds);
    expect(state.Retry).toEqual([
      {
        ErrorEquals: [...TRANSIENT_ERRORS],
        IntervalSeconds: NUMBERS.RetryIntervalSeconds,
        MaxAttempts: NUMBERS.RetryMaxAttempts,
        BackoffRate: NUMBERS.RetryBackoffRate,
        MaxDelaySeconds: NUMBERS.RetryMaxDelaySeconds,
        JitterStrategy: 'FULL',
      },
    ]);
    expect(state.Catch).toHaveLength(1);
    const [catcher] = state.Catch as Json[];
    if (step.compensation) {
      expect(catcher).toEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.compensationFailure', Next: 'CompensationFailed' });
    } else {
      const target = kind === 'update' && name === 'Run health checks' ? 'Roll back release' : 'Record blockers';
      expect(catcher).toEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: target });
    }

    expect(state.Parameters.FunctionName).toBe(fakeArn(step.placeholder));
    expect(state.Parameters.Payload).toMatchObject({ step: name, 'execution.$': '$.execution', 'attempt.$': '$$.State.RetryCount' });
    expect(state.ResultPath).toBe(`$.results.${step.key}`);
    const knowsFailure = step.compensation === true || name === 'Roll back release';
    expect(state.Parameters.Payload['failure.$']).toBe(knowsFailure ? '$.failure' : undefined);
    if (step.command) {
      expect(state.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(state.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
      expect(state.HeartbeatSeconds).toBe(NUMBERS.AgentHeartbeatSeconds);
      expect(state.HeartbeatSeconds).toBeLessThan(state.TimeoutSeconds);
    } else {
      expect(state.Resource).toBe('arn:aws:states:::lambda:invoke');
      expect(state.Parameters.Payload['taskToken.$']).toBeUndefined();
      expect(state.HeartbeatSeconds).toBeUndefined();
      expect(state.ResultSelector).toEqual({ 'summary.$': '$.Payload.summary', 'details.$': '$.Payload' });
    }
  });
});

// The rollout workflows (SPEC §7.4): the rollout, which plans and runs one child execution per wave, and the
// wave. Their scenarios run in test/unit/rollouts.test.ts; here they face the same validator and retry rules.
const ROLLOUT_KINDS = ['rollout', 'rollout-wave'] as const satisfies readonly MachineKind[];

/** Every state of a definition with the name of the state list it sits in, Map and Parallel states' own included. */
function nestedStates(definition: Json, where = 'top level'): { name: string; where: string; state: Json }[] {
  return Object.entries((definition.States ?? {}) as Json).flatMap(([name, state]: [string, Json]) => [
    { name, where, state },
    ...(state.ItemProcessor ? nestedStates(state.ItemProcessor as Json, `${name} (Map)`) : []),
    ...(state.Iterator ? nestedStates(state.Iterator as Json, `${name} (Map)`) : []),
    ...((state.Branches ?? []) as Json[]).flatMap((branch, i) => nestedStates(branch, `${name} (branch ${i})`)),
  ]);
}

describe.each([...ROLLOUT_KINDS])('%s definition', (kind) => {
  const strings = Object.fromEntries(
    placeholdersOf(kind).map((p) => [p, p.endsWith('StateMachineArn') ? `arn:aws:states:eu-west-1:111122223333:stateMachine:${p}` : fakeArn(p)]),
  );
  const definition = JSON.parse(loadDefinition(kind, { numbers: NUMBERS, strings })) as Json;
  const states = nestedStates(definition);
  const tasks = states.filter(({ state }) => state.Type === 'Task');

  it('is valid ASL (JSONPath) with every placeholder filled', () => {
    const { isValid, errorsText } = aslValidator(definition);
    expect(isValid, errorsText('\n')).toBe(true);
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(JSON.stringify(definition)).not.toMatch(/\$\{/);
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('retries named errors only, never States.ALL, with jitter and a delay cap', () => {
    expect(tasks.length).toBeGreaterThan(0);
    for (const { name, where, state } of tasks) {
      const label = `${where} / ${name}`;
      expect(state.Retry, label).toEqual(expect.any(Array));
      for (const retrier of state.Retry as Json[]) {
        expect(retrier.ErrorEquals, label).not.toContain('States.ALL');
        expect(retrier.ErrorEquals, label).not.toContain('States.TaskFailed');
        expect(retrier, label).toMatchObject({ MaxAttempts: NUMBERS.RetryMaxAttempts, MaxDelaySeconds: NUMBERS.RetryMaxDelaySeconds, JitterStrategy: 'FULL' });
      }
    }
    // A textual check too, so a retrier in a place the walk above does not know is still seen.
    for (const retry of JSON.stringify(definition).match(/"Retry":\[[^\]]*\][^\]]*\]/g) ?? []) expect(retry).not.toContain('"States.ALL"');
  });

  it('bounds every task', () => {
    for (const { name, where, state } of tasks) expect(state.TimeoutSeconds, `${where} / ${name}`).toBeGreaterThan(0);
  });
});

describe('update definition', () => {
  const states = DEFINITIONS.update.States as Json;

  it('chooses the SaaS path by mode and joins the customer-run path at Run migrations', () => {
    expect(states['Choose by deployment mode'].Choices).toEqual([
      { Variable: '$.execution.mode', StringEquals: 'saas', Next: 'Shift traffic' },
    ]);
    expect(states['Shift traffic'].Next).toBe('Run migrations');
    expect(states['Retain rollback package'].Next).toBe('Run migrations');
  });

  it('rolls back after failed health checks, then blocks', () => {
    expect(states['Roll back release'].Next).toBe('Record blockers');
    expect(states['Roll back release'].Catch[0].Next).toBe('Record blockers');
  });
});

describe('loadDefinition', () => {
  it('puts numbers where the file has quoted numeric placeholders, and keeps the rest of the text', () => {
    const text = loadDefinition('provisioning', { numbers: { ...NUMBERS, RetryBackoffRate: 1.5 } });
    expect(text).toContain('"BackoffRate": 1.5');
    expect(text).toContain('"FunctionName": "${WorkflowStepsFunctionArn}"');
    expect(text).not.toMatch(/"\$\{(Retry|StepTimeout|AgentHeartbeat)/);
  });

  it('refuses settings Step Functions would refuse, and strings with a placeholder left unfilled', () => {
    expect(() => loadDefinition('update', { numbers: { ...NUMBERS, AgentHeartbeatSeconds: NUMBERS.StepTimeoutSeconds } })).toThrow(/less than/);
    expect(() => loadDefinition('update', { numbers: { ...NUMBERS, RetryMaxAttempts: 1.5 } })).toThrow(/integer/);
    expect(() => loadDefinition('update', { numbers: NUMBERS, strings: {} })).toThrow(/WorkflowStepsFunctionArn/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Scenarios, run by aws-local-stepfunctions with a trivial local handler per task state.

interface Scenario {
  /** Per state: throw this error name (once per listed entry, in order) before answering. */
  failures?: Record<string, string[]>;
}

interface Outcome {
  status: 'SUCCEEDED' | 'FAILED';
  error?: string;
  output?: Json;
  entered: string[];
  retried: string[];
  calls: Map<string, Json[]>;
}

function namedError(name: string): Error {
  const error = new Error(`${name} (test)`);
  error.name = name;
  return error;
}

async function run(kind: WorkflowKind, mode: ExecutionInput['execution']['mode'], scenario: Scenario = {}): Promise<Outcome> {
  const definition = DEFINITIONS[kind];
  const calls = new Map<string, Json[]>();
  const pending = new Map(Object.entries(scenario.failures ?? {}).map(([state, errors]) => [state, [...errors]]));
  const handlers = Object.fromEntries(
    tasksOf(kind).map(([name, state]) => [
      name,
      (input: unknown) => {
        calls.set(name, [...(calls.get(name) ?? []), input as Json]);
        const error = pending.get(name)?.shift();
        if (error) throw namedError(error);
        // Record blockers answers the error that names the blocker; here it passes the caught one on.
        const failure = (input as { Payload?: { failure?: { Error?: string; Cause?: string } } }).Payload?.failure;
        const result = name === 'Record blockers' ? { summary: `${name} done`, error: failure?.Error, cause: failure?.Cause } : { summary: `${name} done` };
        // lambda:invoke answers the invocation ({Payload, StatusCode}); a callback task answers SendTaskSuccess's output.
        return state.Resource.endsWith('.waitForTaskToken') ? result : { Payload: result, StatusCode: 200 };
      },
    ]),
  );
  const input: ExecutionInput = {
    execution: {
      id: 'exec-1',
      kind,
      targetId: 'tgt-1',
      releaseId: 'rel-2',
      mode,
      ...(mode === 'saas' ? { strategy: 'blue-green' as const } : {}),
      startedAt: '2025-01-01T00:00:00.000Z',
    },
  };
  const machine = new StateMachine(definition as Definition);
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      retryIntervalOverrides: Object.fromEntries(tasksOf(kind).map(([name]) => [name, 0])),
    },
    // The context object the payloads read: $$.State.RetryCount and $$.Task.Token.
    context: { State: { RetryCount: 0 }, Task: { Token: 'local-token' } },
  });
  const entered: string[] = [];
  const retried: string[] = [];
  const events = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') entered.push(event.state.name);
      if (event.type === 'StateRetried') retried.push(event.state.name);
    }
  })();
  try {
    const output = (await execution.result) as Json;
    await events;
    return { status: 'SUCCEEDED', output, entered, retried, calls };
  } catch (error) {
    await events;
    return { status: 'FAILED', error: ((error as Error).cause as Error | undefined)?.name, entered, retried, calls };
  }
}

describe('provisioning scenarios', () => {
  it('happy path: every step once, in order, ending in Provisioned with each step result kept', async () => {
    const outcome = await run('provisioning', 'self-hosted');
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.entered).toEqual(HAPPY_PATH.provisioning);
    expect(outcome.output!.execution.targetId).toBe('tgt-1');
    expect(outcome.output!.results.runMigrations).toEqual({ summary: 'Run migrations done' });
    expect(outcome.output!.results.allocateTarget).toEqual({ summary: 'Allocate target done', details: { summary: 'Allocate target done' } });
    expect(outcome.output!.failure).toBeUndefined();
    const [payload] = outcome.calls.get('Validate runtime')!;
    expect(payload).toMatchObject({
      FunctionName: fakeArn('WorkflowStepsFunctionArn'),
      Payload: { step: 'Validate runtime', execution: { id: 'exec-1' }, attempt: 0, taskToken: 'local-token' },
    });
  });

  it('a permanent failure at Run migrations runs the block branch in order and fails with its error', async () => {
    const outcome = await run('provisioning', 'self-hosted', { failures: { 'Run migrations': ['Blocked.MigrationFailed'] } });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('Blocked.MigrationFailed');
    const at = outcome.entered.indexOf('Run migrations');
    expect(outcome.entered.slice(at)).toEqual(['Run migrations', ...BLOCK_BRANCH.provisioning]);
    expect(outcome.calls.get('Run migrations')).toHaveLength(1);
    expect(outcome.retried).toEqual([]);
    expect(outcome.calls.get('Seed foundation data')).toBeUndefined();
    const [compensation] = outcome.calls.get('Delete injected secrets')!;
    expect(compensation!.Payload.failure).toMatchObject({ Error: 'Blocked.MigrationFailed' });
  });

  it('a transient agent error is retried and the run goes on', async () => {
    const outcome = await run('provisioning', 'self-hosted', { failures: { 'Run migrations': ['Transient.AgentError'] } });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.retried).toEqual(['Run migrations']);
    expect(outcome.calls.get('Run migrations')).toHaveLength(2);
    expect(outcome.entered.at(-1)).toBe('Provisioned');
  });

  it('a transient error that outlasts the retries blocks the target', async () => {
    const times = Array.from({ length: NUMBERS.RetryMaxAttempts + 1 }, () => 'Transient.AgentTimeout');
    const outcome = await run('provisioning', 'self-hosted', { failures: { 'Bind release': times } });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('Transient.AgentTimeout');
    expect(outcome.calls.get('Bind release')).toHaveLength(NUMBERS.RetryMaxAttempts + 1);
    expect(outcome.entered.slice(-BLOCK_BRANCH.provisioning.length)).toEqual(BLOCK_BRANCH.provisioning);
  });

  it('a failed compensation ends in CompensationFailed', async () => {
    const outcome = await run('provisioning', 'self-hosted', {
      failures: { 'Lock installer': ['Blocked.InstallerLockFailed'], 'Release allocation': ['Error'] },
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('CompensationFailed');
    expect(outcome.entered.slice(-2)).toEqual(['Release allocation', 'CompensationFailed']);
  });
});

describe('update scenarios', () => {
  it('customer-run happy path: maintenance mode, backup, rollback package, then the common tail', async () => {
    const outcome = await run('update', 'enterprise-private-cloud');
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.entered).toEqual(HAPPY_PATH.update);
  });

  it('SaaS happy path: traffic shift instead of maintenance mode', async () => {
    const outcome = await run('update', 'saas');
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.entered).toEqual([
      'Check policy gate', 'Choose by deployment mode', 'Shift traffic', 'Run migrations', 'Bind release',
      'Run health checks', 'Disable maintenance mode', 'Record audit event', 'Updated',
    ]);
    const [payload] = outcome.calls.get('Shift traffic')!;
    expect(payload!.Payload.execution.strategy).toBe('blue-green');
  });

  it('failed health checks roll back, switch maintenance mode off and block with the health-check error', async () => {
    const outcome = await run('update', 'self-hosted', { failures: { 'Run health checks': ['Blocked.HealthCheckFailed'] } });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('Blocked.HealthCheckFailed');
    const at = outcome.entered.indexOf('Run health checks');
    expect(outcome.entered.slice(at)).toEqual(['Run health checks', 'Roll back release', ...BLOCK_BRANCH.update]);
    expect(outcome.calls.get('Roll back release')![0]!.Payload.failure).toMatchObject({ Error: 'Blocked.HealthCheckFailed' });
  });

  it('a failed rollback blocks with the rollback error', async () => {
    const outcome = await run('update', 'self-hosted', {
      failures: { 'Run health checks': ['Blocked.HealthCheckFailed'], 'Roll back release': ['Blocked.RollbackFailed'] },
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('Blocked.RollbackFailed');
    expect(outcome.entered.slice(-BLOCK_BRANCH.update.length)).toEqual(BLOCK_BRANCH.update);
  });

  it('a denial at the gate goes straight to the block branch', async () => {
    const outcome = await run('update', 'self-hosted', { failures: { 'Check policy gate': ['Blocked.PolicyDenied'] } });
    expect(outcome.error).toBe('Blocked.PolicyDenied');
    expect(outcome.entered).toEqual(['Check policy gate', ...BLOCK_BRANCH.update]);
  });
});
