// The local runtime's workflow runner (SPEC §7, §9). First the runner alone, on a small inline definition
// with stub handlers: the callback pattern (fresh token per attempt), HeartbeatSeconds and TimeoutSeconds,
// faults, stop and crash recovery. Then the real provisioning state machine and step handlers, driven
// through the API with the simulated agent answering over HTTP. DCP_TIMINGS=1 prints run times.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { TaskNotWaitingError } from '../../functions/adapters/engine.js';
import { ddb, tableName } from '../../functions/adapters/dynamo.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import type { ExecutionRecord, StepPayload, StepResult } from '../../functions/core/workflows.js';
import { FaultRegistry } from '../../local/faults.js';
import { LocalSecretStore } from '../../local/secret-store.js';
import { LocalWorkflowEngine, type CompensationReason, type StepHandler } from '../../local/workflow-runner.js';
import { signStatement } from '../../functions/core/crypto/signed-statement.js';
import { useLocalRuntime } from '../support/local-runtime.js';
import { executionHistory } from '../support/history.js';
import {
  attest,
  provision as provisionTarget,
  publishRelease,
  registerTarget as registerWith,
  releaseSigner,
  RELEASE,
  sleep,
  trustSigner,
  until,
  type Registered,
} from '../support/workflow-fixtures.js';

const h = useLocalRuntime();

// ---- the runner alone ------------------------------------------------------------------------------

const RETRY = [{ ErrorEquals: ['Transient.StepFailed', 'Transient.AgentError', 'States.Timeout', 'States.HeartbeatTimeout'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2, JitterStrategy: 'FULL' }];
const CATCH = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Blocked' }];
const fn = (name: string) => `arn:aws:lambda:local:000000000000:function:dcp-${name}`;

/** Two real state names (so faults find their step specs): a Lambda step, then a command step. */
const INLINE: StateMachineDefinition = {
  StartAt: 'Allocate target',
  States: {
    'Allocate target': {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: fn('allocate-target'), Payload: { step: 'Allocate target', 'execution.$': '$.execution', 'attempt.$': '$$.State.RetryCount' } },
      TimeoutSeconds: 30,
      ResultSelector: { 'summary.$': '$.Payload.summary' },
      ResultPath: '$.results.allocateTarget',
      Retry: RETRY,
      Catch: CATCH,
      Next: 'Validate runtime',
    },
    'Validate runtime': {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: fn('validate-runtime'),
        Payload: { step: 'Validate runtime', 'execution.$': '$.execution', 'attempt.$': '$$.State.RetryCount', 'taskToken.$': '$$.Task.Token' },
      },
      HeartbeatSeconds: 60,
      TimeoutSeconds: 120,
      ResultPath: '$.results.validateRuntime',
      Retry: RETRY,
      Catch: CATCH,
      Next: 'Provisioned',
    },
    Provisioned: { Type: 'Succeed' },
    Blocked: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
  } as StateMachineDefinition['States'],
};

interface Harness {
  engine: LocalWorkflowEngine;
  faults: FaultRegistry;
  dir: string;
  calls: StepPayload[];
  compensations: [string, CompensationReason][];
  /** Tokens handed to the command step, in order. */
  tokens: string[];
  stubs: Record<string, StepHandler>;
}

let seq = 0;
const input = (targetId = 'inline-target') => ({ execution: { id: `x${++seq}`, kind: 'provisioning', targetId, releaseId: '1.0.0', mode: 'self-hosted', startedAt: new Date().toISOString() } });

describe('the runner on an inline definition', () => {
  let x: Harness;
  const dirs: string[] = [];

  async function makeHarness(dir?: string): Promise<Harness> {
    const d = dir ?? (await mkdtemp(join(tmpdir(), 'dcp-runner-')));
    if (!dir) dirs.push(d);
    const calls: StepPayload[] = [];
    const compensations: [string, CompensationReason][] = [];
    const tokens: string[] = [];
    const faults = new FaultRegistry();
    const stubs: Record<string, StepHandler> = {
      'Allocate target': async (p) => ({ summary: `allocated (attempt ${p.attempt})` }),
      'Validate runtime': async (p) => {
        tokens.push(p.taskToken!);
        return { summary: 'sent validate-runtime' };
      },
    };
    const engine = new LocalWorkflowEngine({
      dataDir: d,
      settings: { retryIntervalMs: 0 },
      faults,
      definition: async () => INLINE,
      handler: async (state) => async (p: StepPayload): Promise<StepResult> => {
        calls.push(p);
        return stubs[state]!(p);
      },
      compensate: async (id, reason) => {
        compensations.push([id, reason]);
      },
    });
    return { engine, faults, dir: d, calls, compensations, tokens, stubs };
  }

  beforeEach(async () => {
    x = await makeHarness();
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('hands a command step a fresh token and its attempt, and completes the state with the output sent', async () => {
    const name = `run-ok-${seq}`;
    const { executionArn } = await x.engine.start('provisioning', name, input());
    expect(executionArn).toMatch(new RegExp(`:execution:dcp-provisioning:${name}$`));
    const token = await until(() => x.tokens[0]);
    expect(token).not.toContain('see-payload');
    expect(x.calls.map((c) => [c.step, c.attempt])).toEqual([['Allocate target', 0], ['Validate runtime', 0]]);

    // Idempotent for the same name and input while it runs; a different input is refused, as Step Functions does.
    expect(await x.engine.start('provisioning', name, (await x.engine.describe('provisioning', name))!.input)).toEqual({ executionArn });
    await expect(x.engine.start('provisioning', name, input())).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });

    await x.engine.sendTaskHeartbeat(token);
    await x.engine.sendTaskSuccess(token, { summary: 'runtime ok', output: { php: '8.3' } });
    expect(await x.engine.waitFor('provisioning', name)).toBe('SUCCEEDED');
    await expect(x.engine.start('provisioning', name, (await x.engine.describe('provisioning', name))!.input)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await expect(x.engine.sendTaskSuccess(token, {})).rejects.toBeInstanceOf(TaskNotWaitingError);
    await expect(x.engine.sendTaskHeartbeat(token)).rejects.toBeInstanceOf(TaskNotWaitingError);

    const d = await x.engine.describe('provisioning', name);
    expect((d!.output as any).results).toEqual({ allocateTarget: { summary: 'allocated (attempt 0)' }, validateRuntime: { summary: 'runtime ok', output: { php: '8.3' } } });
    const history = await x.engine.history('provisioning', name);
    expect(history.map((e) => `${e.type}${e.state ? `:${e.state}` : ''}`)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered:Allocate target',
      'TaskScheduled:Allocate target',
      'TaskStarted:Allocate target',
      'TaskSucceeded:Allocate target',
      'TaskStateExited:Allocate target',
      'TaskStateEntered:Validate runtime',
      'TaskScheduled:Validate runtime',
      'TaskStarted:Validate runtime',
      'TaskSubmitted:Validate runtime',
      'TaskSucceeded:Validate runtime',
      'TaskStateExited:Validate runtime',
      'SucceedStateEntered:Provisioned',
      'SucceedStateExited:Provisioned',
      'ExecutionSucceeded',
    ]);
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
    expect(x.compensations).toEqual([]);
  });

  it('fails the state with the error and cause of sendTaskFailure, which Catch records', async () => {
    const name = `run-fail-${seq}`;
    await x.engine.start('provisioning', name, input());
    await x.engine.sendTaskFailure(await until(() => x.tokens[0]), 'Blocked.UnsupportedRuntime', '{"step":"Validate runtime"}');
    expect(await x.engine.waitFor('provisioning', name)).toBe('FAILED');
    expect(await x.engine.describe('provisioning', name)).toMatchObject({ error: 'Blocked.UnsupportedRuntime', cause: '{"step":"Validate runtime"}' });
    const history = await x.engine.history('provisioning', name);
    expect(history.find((e) => e.type === 'TaskFailed')?.details).toMatchObject({ error: 'Blocked.UnsupportedRuntime' });
    expect(history.at(-2)).toMatchObject({ type: 'FailStateEntered', state: 'Blocked' });
    // Like EventBridge's status-change event: the reconciler hears of every failed run (and skips those
    // whose block branch compensated them).
    expect(x.compensations).toEqual([[name, 'FAILED']]);
  });

  it('keeps a wait alive with heartbeats and times it out without them (States.HeartbeatTimeout, retried)', async () => {
    x.engine.settings.heartbeatMs = 150;
    const alive = `run-hb-${seq}`;
    await x.engine.start('provisioning', alive, input());
    const token = await until(() => x.tokens[0]);
    for (let i = 0; i < 8; i++) {
      await sleep(50);
      await x.engine.sendTaskHeartbeat(token);
    }
    await x.engine.sendTaskSuccess(token, { summary: 'late but alive' });
    expect(await x.engine.waitFor('provisioning', alive)).toBe('SUCCEEDED');
    expect(x.tokens).toHaveLength(1);

    x.tokens.length = 0;
    const silent = `run-hb-silent-${seq}`;
    const started = Date.now();
    await x.engine.start('provisioning', silent, input());
    expect(await x.engine.waitFor('provisioning', silent)).toBe('FAILED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 150);
    // First attempt and two retries, each with its own token; every one of them is dead now.
    expect(new Set(x.tokens).size).toBe(3);
    expect(x.calls.filter((c) => c.step === 'Validate runtime').slice(-3).map((c) => c.attempt)).toEqual([0, 1, 2]);
    for (const t of x.tokens) await expect(x.engine.sendTaskSuccess(t, {})).rejects.toBeInstanceOf(TaskNotWaitingError);
    expect(await x.engine.describe('provisioning', silent)).toMatchObject({ error: 'States.HeartbeatTimeout' });
    const timedOut = (await x.engine.history('provisioning', silent)).filter((e) => e.type === 'TaskTimedOut');
    expect(timedOut).toHaveLength(3);
  });

  it("enforces the task's TimeoutSeconds itself (States.Timeout)", async () => {
    x.engine.settings.taskTimeoutMs = 80;
    x.stubs['Allocate target'] = async () => {
      await sleep(300);
      return { summary: 'too late' };
    };
    const name = `run-timeout-${seq}`;
    await x.engine.start('provisioning', name, input());
    expect(await x.engine.waitFor('provisioning', name)).toBe('FAILED');
    expect(await x.engine.describe('provisioning', name)).toMatchObject({ error: 'States.Timeout' });
    expect(x.calls.filter((c) => c.step === 'Allocate target')).toHaveLength(3);
  });

  it('fails a step by an armed fault: transient is retried, permanent blocks with the step blocker', async () => {
    x.faults.add({ targetId: 'faulty', step: 'Allocate target', kind: 'transient', times: 1 });
    const retried = `run-fault-t-${seq}`;
    await x.engine.start('provisioning', retried, input('faulty'));
    await x.engine.sendTaskSuccess(await until(() => x.tokens[0]), { summary: 'ok' });
    expect(await x.engine.waitFor('provisioning', retried)).toBe('SUCCEEDED');
    // The fault replaced the first attempt; the handler ran once, as attempt 1.
    expect(x.calls.filter((c) => c.step === 'Allocate target').map((c) => c.attempt)).toEqual([1]);
    expect(x.faults.list()).toEqual([]);

    x.faults.add({ targetId: 'faulty', step: 'Allocate target', kind: 'permanent', times: 1 });
    const blocked = `run-fault-p-${seq}`;
    await x.engine.start('provisioning', blocked, input('faulty'));
    expect(await x.engine.waitFor('provisioning', blocked)).toBe('FAILED');
    const d = await x.engine.describe('provisioning', blocked);
    expect(d!.error).toBe('Blocked.AllocationFailed');
    expect(JSON.parse(d!.cause!)).toMatchObject({ step: 'Allocate target', blockers: [{ code: 'ALLOCATION_FAILED' }] });
  });

  it('stops a run: its wait ends, the token is dead, and the reconciler compensates it as ABORTED', async () => {
    const name = `run-stop-${seq}`;
    await x.engine.start('provisioning', name, input());
    const token = await until(() => x.tokens[0]);
    await x.engine.stop('provisioning', name, 'Rollout.Halted', 'halted by an operator');
    expect(await x.engine.describe('provisioning', name)).toMatchObject({ status: 'ABORTED', error: 'Rollout.Halted', cause: 'halted by an operator' });
    await expect(x.engine.sendTaskSuccess(token, {})).rejects.toBeInstanceOf(TaskNotWaitingError);
    expect(x.compensations).toEqual([[name, 'ABORTED']]);
    expect((await x.engine.history('provisioning', name)).at(-1)).toMatchObject({ type: 'ExecutionAborted', details: { error: 'Rollout.Halted' } });
    await expect(x.engine.stop('provisioning', 'no-such-run', 'x', 'y')).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });

  it('keeps histories across a restart and recovers runs a shutdown left RUNNING as LOST', async () => {
    const done = `run-persist-${seq}`;
    await x.engine.start('provisioning', done, input());
    await x.engine.sendTaskSuccess(await until(() => x.tokens[0]), { summary: 'ok' });
    await x.engine.waitFor('provisioning', done);
    x.tokens.length = 0;

    // A run in progress at shutdown, with its execution record RUNNING as the API wrote it.
    const inflight = `run-lost-${seq}`;
    await ddb().send(new PutCommand({ TableName: tableName('executions'), Item: { id: inflight, kind: 'provisioning', targetId: 'inline-target', releaseId: '1.0.0', status: 'RUNNING', startedAt: new Date().toISOString(), steps: [], idempotencyKey: 'k', version: 1 } satisfies ExecutionRecord }));
    await x.engine.start('provisioning', inflight, input());
    const token = await until(() => x.tokens[0]);
    await x.engine.close();
    expect(x.compensations).toEqual([]);
    await expect(x.engine.sendTaskSuccess(token, {})).rejects.toBeInstanceOf(TaskNotWaitingError);

    const next = await makeHarness(x.dir);
    expect((await next.engine.history('provisioning', done)).at(-1)!.type).toBe('ExecutionSucceeded');
    expect((await next.engine.describe('provisioning', inflight))!.status).toBe('RUNNING');
    expect(await next.engine.recoverLostExecutions()).toContain(inflight);
    expect(next.compensations).toContainEqual([inflight, 'LOST']);
    expect(await next.engine.describe('provisioning', inflight)).toMatchObject({ status: 'ABORTED', error: 'Local.RuntimeLost' });
    expect((await next.engine.history('provisioning', inflight)).at(-1)!.type).toBe('ExecutionAborted');
    expect((await stat(join(x.dir, 'executions', 'provisioning', `${done}.json`))).mode & 0o777).toBe(0o600);
  });
});

// ---- the secret store ------------------------------------------------------------------------------

describe('the local secret store', () => {
  it('is idempotent for its creator, refuses other creators, deletes for good and survives a restart encrypted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcp-secrets-'));
    try {
      const store = LocalSecretStore.inDirectory(dir);
      expect(await store.create('dcp/t1/APP_KEY', 'v-1', 'run-1')).toEqual({ name: 'dcp/t1/APP_KEY', ref: 'local:dcp/t1/APP_KEY' });
      expect(await store.create('dcp/t1/APP_KEY', 'v-other', 'run-1')).toEqual({ name: 'dcp/t1/APP_KEY', ref: 'local:dcp/t1/APP_KEY' });
      await expect(store.create('dcp/t1/APP_KEY', 'v-2', 'run-2')).rejects.toMatchObject({ name: 'SecretOwnedElsewhereError' });
      await store.create('dcp/t1/DB_PASSWORD', 'pw', 'run-1');
      await store.create('dcp/t2/APP_KEY', 'k2', 'run-3');
      expect((await store.list('dcp/t1/')).map((s) => s.name)).toEqual(['dcp/t1/APP_KEY', 'dcp/t1/DB_PASSWORD']);

      const reopened = LocalSecretStore.inDirectory(dir);
      expect(await reopened.read('dcp/t1/APP_KEY')).toBe('v-1');
      await reopened.delete('dcp/t1/APP_KEY');
      await reopened.delete('dcp/t1/APP_KEY');
      expect(await reopened.read('dcp/t1/APP_KEY')).toBeUndefined();
      expect(await reopened.create('dcp/t1/APP_KEY', 'v-3', 'run-4')).toMatchObject({ name: 'dcp/t1/APP_KEY' });

      const { readFile } = await import('node:fs/promises');
      const raw = await readFile(join(dir, 'store.json'), 'utf8');
      expect(raw).not.toContain('v-3');
      expect(raw).not.toContain('pw"');
      expect((await stat(join(dir, 'key'))).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, 'store.json'))).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---- faults route ----------------------------------------------------------------------------------

describe('POST /local/faults', () => {
  it('needs an admin token, validates the body and arms, lists and clears faults', async () => {
    expect((await h.call('POST', '/local/faults', { token: null, body: {} })).status).toBe(401);
    const operator = await h.token(['operator']);
    expect((await h.call('GET', '/local/faults', { token: operator })).status).toBe(403);
    const bad = await h.call('POST', '/local/faults', { body: { targetId: 't', command: 'install-release', step: 'Allocate target', kind: 'sometimes', times: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', type: 'urn:dcp:problem:VALIDATION_FAILED' });
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['/kind', '/times']));
    expect((await h.call('POST', '/local/faults', { body: { targetId: 't', kind: 'transient', times: 1 } })).status).toBe(400);
    expect((await h.call('POST', '/local/faults', { raw: '{"targetId":"t","targetId":"u"}' })).body.code).toBe('MALFORMED_JSON');

    const armed = await h.call('POST', '/local/faults', { body: { targetId: 't', command: 'install-release', kind: 'permanent', times: 2 } });
    expect(armed.status).toBe(201);
    expect(armed.body).toMatchObject({ targetId: 't', command: 'install-release', kind: 'permanent', times: 2 });
    expect((await h.call('GET', '/local/faults')).body.items).toHaveLength(1);
    expect((await h.call('DELETE', '/local/faults')).status).toBe(204);
    expect((await h.call('GET', '/local/faults')).body.items).toEqual([]);
  });
});

// ---- the real provisioning workflow ----------------------------------------------------------------

const signer = releaseSigner();
const registered = new Map<string, Registered>();

/** A self-hosted target (test/support/workflow-fixtures.ts), kept by id for the tests that reuse it. */
async function registerTarget(id: string, simulated = true): Promise<Registered> {
  const t = await registerWith(h, id, { simulated });
  registered.set(id, t);
  return t;
}

const provision = (id: string, key: string) => provisionTarget(h, id, key);

describe('provisioning through the API with the simulated agent', () => {
  beforeAll(async () => {
    await trustSigner(h, signer);
    await publishRelease(h, signer, RELEASE);
  });

  it('provisions a self-hosted target to active with the release bound, in at most 15 state transitions', async () => {
    const t = await registerTarget('sim-happy');
    expect(t.body.target.agentPublicKey).toEqual(expect.any(String));
    const started = Date.now();
    const executionId = await provision(t.id, 'happy-key-0001');
    // The same key and request answers the same run.
    expect(await provision(t.id, 'happy-key-0001')).toBe(executionId);

    const execution = await h.waitForExecution(executionId);
    const elapsed = Date.now() - started;
    expect(execution.status, JSON.stringify(execution)).toBe('SUCCEEDED');
    const target = (await h.call('GET', `/targets/${t.id}`)).body;
    expect(target).toMatchObject({ status: 'active', currentRelease: RELEASE, installerLocked: true });

    const history = (await executionHistory(h, executionId)) as { type: string; state?: string }[];
    const entered = history.filter((e) => e.type.endsWith('StateEntered'));
    expect(entered.length).toBeLessThanOrEqual(15);
    expect(entered.map((e) => e.state)).toEqual([
      'Check policy gate', 'Allocate target', 'Validate runtime', 'Inject secrets', 'Run migrations', 'Seed foundation data',
      'Activate license', 'Bind release', 'Run health checks', 'Lock installer', 'Record audit event', 'Provisioned',
    ]);
    expect(history.at(-1)!.type).toBe('ExecutionSucceeded');
    // Every command was answered by the simulated agent through the result route.
    const answers = h.runtime.agent.answers.filter((a) => a.targetId === t.id);
    expect(answers.every((a) => a.httpStatus === 200 && a.status === 'succeeded')).toBe(true);
    expect(answers.map((a) => a.type)).toEqual(['validate-runtime', 'install-secrets', 'run-migrations', 'seed-foundation-data', 'install-license', 'install-release', 'run-health-checks', 'lock-installer']);
    if (process.env.DCP_TIMINGS) {
      console.info(`provisioning run (simulated agent, retries 0 ms): ${elapsed} ms, ${history.length} events`);
      const ev = history as { type: string; state?: string; timestamp: string }[];
      for (const e of ev.filter((x) => x.type === 'TaskStateEntered')) {
        const exit = ev.find((x) => x.type === 'TaskStateExited' && x.state === e.state)!;
        console.info(`${e.state}: ${Date.parse(exit.timestamp) - Date.parse(e.timestamp)} ms`);
      }
    }
  });

  it('updates the provisioned target to a newer release through the update state machine', async () => {
    const update = '3.2.0';
    await publishRelease(h, signer, update, { artifacts: [{ name: `app-${update}.zip`, kind: 'zip', sha256: 'b'.repeat(64), size: 10 }] });
    const t = registered.get('sim-happy')!;
    // Updates need an attestation naming the bound release (attestation policy: requireReleaseMatch).
    await attest(h, t, RELEASE);
    const r = await h.call('POST', `/targets/${t.id}/update`, { body: { releaseId: update }, headers: { 'idempotency-key': 'update-key-0001' } });
    expect(r.status, r.text).toBe(202);
    const execution = await h.waitForExecution(r.body.executionId);
    expect(execution.status, JSON.stringify(execution)).toBe('SUCCEEDED');
    expect((await h.call('GET', `/targets/${t.id}`)).body).toMatchObject({ status: 'active', currentRelease: update, rollbackRelease: RELEASE, maintenanceMode: false });
    const events = (await executionHistory(h, r.body.executionId)) as { type: string; state?: string }[];
    expect(events.filter((e) => e.type.endsWith('StateEntered')).map((e) => e.state)).toEqual([
      'Check policy gate', 'Choose by deployment mode', 'Enable maintenance mode', 'Verify fresh backup', 'Retain rollback package',
      'Run migrations', 'Bind release', 'Run health checks', 'Disable maintenance mode', 'Record audit event', 'Updated',
    ]);
  });

  it('blocks the target when its agent never answers (heartbeat timeout, retried, then caught)', async () => {
    // Long enough for a step's own Lambda call (a cold start in its own environment) to answer its token,
    // as a heartbeat in AWS must be: only the silent agent's waits run out.
    h.runtime.engine.settings.heartbeatMs = 1000;
    try {
      const t = await registerTarget('sim-silent', false);
      const started = Date.now();
      const executionId = await provision(t.id, 'silent-key-0001');
      const execution = await h.waitForExecution(executionId);
      const elapsed = Date.now() - started;
      expect(execution.status).toBe('FAILED');
      const target = (await h.call('GET', `/targets/${t.id}`)).body;
      expect(target.status).toBe('blocked');
      expect(target.blockers.map((b: { code: string }) => b.code)).toContain('AGENT_TIMEOUT');
      const history = (await executionHistory(h, executionId)) as { type: string; state?: string; details?: any }[];
      const timedOut = history.filter((e) => e.type === 'TaskTimedOut' && e.state === 'Validate runtime');
      expect(timedOut).toHaveLength(DEFAULT_POLICIES.provisioning.retry.maxAttempts + 1);
      expect(timedOut[0]!.details.error).toBe('States.HeartbeatTimeout');
      expect(history.some((e) => e.type === 'FailStateEntered' && e.state === 'Blocked')).toBe(true);
      if (process.env.DCP_TIMINGS) console.info(`silent-agent run (heartbeat 1000 ms): ${elapsed} ms`);
    } finally {
      delete h.runtime.engine.settings.heartbeatMs;
    }
  });

  it('keeps a command alive on heartbeats past HeartbeatSeconds, then continues on the signed result', async () => {
    h.runtime.engine.settings.heartbeatMs = 500;
    try {
      const t = await registerTarget('sim-heartbeat', false);
      const executionId = await provision(t.id, 'heartbeat-key-1');
      // Act as the agent: hold the first command past several heartbeat periods, then answer it.
      const command = await until(async () => (await h.call('GET', `/targets/${t.id}/commands`, { token: t.token })).body.items[0]);
      expect(command.type).toBe('validate-runtime');
      for (let i = 0; i < 10; i++) {
        await sleep(100);
        const hb = await h.call('POST', `/commands/${command.id}/heartbeat`, { token: t.token });
        expect(hb.status, hb.text).toBe(200);
      }
      const statement = { _type: 'command-result', commandId: command.id, targetId: t.id, status: 'succeeded', output: { summary: 'runtime checked by hand' }, issuedAt: new Date().toISOString() };
      const posted = await h.call('POST', `/commands/${command.id}/result`, { token: t.token, body: signStatement(statement, t.keys.keys.secretKey) });
      expect(posted.status, posted.text).toBe(200);
      expect(posted.body.awaited).toBe(true);

      const next = await until(async () => (await h.call('GET', `/targets/${t.id}/commands`, { token: t.token })).body.items.find((c: { type: string }) => c.type === 'install-secrets'));
      expect(next.payload).toBeDefined();
      const history = (await executionHistory(h, executionId)) as { type: string; state?: string }[];
      // One token only for the step: the wait never timed out.
      expect(history.filter((e) => e.type === 'TaskScheduled' && e.state === 'Validate runtime')).toHaveLength(1);
      expect(history.filter((e) => e.type === 'TaskStateExited').map((e) => e.state)).toContain('Validate runtime');

      // Stopping (a halted rollout does this) ends the wait and the reconciler compensates the run.
      await h.runtime.engine.stop('provisioning', executionId, 'Test.Stopped', 'test over');
      const execution = await h.waitForExecution(executionId);
      expect(execution.status).toBe('ABORTED');
      expect((await h.call('GET', `/targets/${t.id}`)).body).toMatchObject({ status: 'blocked', blockers: [expect.objectContaining({ code: 'EXECUTION_ABORTED' })] });
      expect((await h.call('POST', `/commands/${next.id}/heartbeat`, { token: t.token })).status).toBe(409);
    } finally {
      delete h.runtime.engine.settings.heartbeatMs;
    }
  });

  it('answers with armed command faults: a transient failure is retried, a permanent one blocks with the step blocker', async () => {
    const t = await registerTarget('sim-faults');
    for (const fault of [
      { targetId: t.id, command: 'run-migrations', kind: 'transient', times: 1 },
      { targetId: t.id, command: 'run-health-checks', kind: 'permanent', times: 1 },
    ]) {
      expect((await h.call('POST', '/local/faults', { body: fault })).status).toBe(201);
    }
    const executionId = await provision(t.id, 'faults-key-0001');
    const execution = await h.waitForExecution(executionId);
    expect(execution.status).toBe('FAILED');
    const migrations = execution.steps.find((s: { key: string }) => s.key === 'runMigrations');
    expect(migrations?.name).toBe('Run migrations');
    expect(migrations).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const target = (await h.call('GET', `/targets/${t.id}`)).body;
    expect(target.status).toBe('blocked');
    expect(target.blockers.map((b: { code: string }) => b.code)).toEqual(['HEALTH_CHECK_FAILED']);
    expect(h.runtime.agent.answers.filter((a) => a.targetId === t.id && a.status === 'failed').map((a) => a.type)).toEqual(['run-migrations', 'run-health-checks']);
    expect((await h.call('GET', `/local/faults?targetId=${t.id}`)).body.items).toEqual([]);
  });

  it('recovers a run left RUNNING by a stop of the runtime: compensated as lost at the next start', async () => {
    const t = await registerTarget('sim-restart', false);
    const executionId = await provision(t.id, 'restart-key-0001');
    await until(async () => (await h.call('GET', `/targets/${t.id}/commands`, { token: t.token })).body.items[0]);
    const started = Date.now();
    const runtime = await h.restart();
    const restartMs = Date.now() - started;
    expect(runtime.recovered).toContain(executionId);
    const execution = (await h.call('GET', `/executions/${executionId}`)).body;
    expect(execution).toMatchObject({ status: 'FAILED', compensatedAt: expect.any(String), blockers: [expect.objectContaining({ code: 'EXECUTION_LOST' })] });
    expect((await h.call('GET', `/targets/${t.id}`)).body.status).toBe('blocked');
    expect((await executionHistory(h, executionId)).at(-1)).toMatchObject({ type: 'ExecutionAborted', details: { error: 'Local.RuntimeLost' } });
    // Simulated agents' keys survived the restart (files 0600), and runs of simulated targets still work.
    expect(await runtime.agent.createAgentKey('sim-happy')).toBe(registered.get('sim-happy')!.body.target.agentPublicKey);
    expect((await stat(join(h.dataDir, 'agents', 'sim-happy.json'))).mode & 0o777).toBe(0o600);
    const again = await registerTarget('sim-after-restart');
    expect((await h.waitForExecution(await provision(again.id, 'after-restart-01'))).status).toBe('SUCCEEDED');
    if (process.env.DCP_TIMINGS) console.info(`runtime restart with recovery: ${restartMs} ms`);
  });
});
