// The fault matrix of the provisioning workflow (SPEC §7.1, §7.3), end to end on the local runtime: for
// each of the ten provisioning steps a transient fault is retried and the run succeeds, and a permanent
// fault blocks the target with that step's blocker and undoes what the run did (secrets, installer lock)
// with an intact audit trail. Then the update workflow's failed health check rolls back (SPEC §7.2).
// Command steps are failed through the simulated agent (`command` faults), Lambda steps by the runner
// (`step` faults). Retries wait 0 ms; the cases run concurrently, each on its own target.
import { beforeAll, describe, expect, it } from 'vitest';
import { blockedErrorNameFor, PROVISIONING_SEQUENCE, stepByState, type StepSpec } from '../../functions/core/workflows.js';
import { useLocalRuntime } from '../support/local-runtime.js';
import { executionHistory } from '../support/history.js';
import {
  attest,
  auditStream,
  provision,
  publishRelease,
  registerTarget,
  releaseSigner,
  RELEASE,
  startRun,
  trustSigner,
  verifyAudit,
  type AuditRecord,
} from '../support/workflow-fixtures.js';

const h = useLocalRuntime();
const signer = releaseSigner('workflow-faults');
const UPDATE = '3.2.0';

interface Case {
  state: (typeof PROVISIONING_SEQUENCE)[number];
  spec: StepSpec;
  index: number;
}

const CASES: Case[] = PROVISIONING_SEQUENCE.map((state, index) => ({ state, spec: stepByState(state)!, index }));
const INJECT = PROVISIONING_SEQUENCE.indexOf('Inject secrets');
const LOCK = PROVISIONING_SEQUENCE.indexOf('Lock installer');

/** A fault of one step: through the agent for steps that send a command, through the runner otherwise. */
function faultFor(spec: StepSpec, targetId: string, kind: 'transient' | 'permanent') {
  return spec.command ? { targetId, command: spec.command, kind, times: 1 } : { targetId, step: spec.state, kind, times: 1 };
}

async function arm(fault: ReturnType<typeof faultFor>): Promise<void> {
  const r = await h.call('POST', '/local/faults', { body: fault });
  expect(r.status, r.text).toBe(201);
}

/** The run's end state once the simulated agent has posted every answer (its posts also update the record). */
async function finished(executionId: string) {
  await h.waitForExecution(executionId, RUN_TIMEOUT_MS - 5_000);
  await h.runtime.agent.idle();
  return (await h.call('GET', `/executions/${executionId}`)).body;
}

async function historyOf(executionId: string): Promise<{ type: string; state?: string; details?: any }[]> {
  return executionHistory(h, executionId);
}

interface StepView {
  key: string;
  name: string;
  status: string;
  attempts: number;
}

/** An execution's step by its key (the API names steps by state and by key). */
const stepOf = (execution: { steps: StepView[] }, key: string) => execution.steps.find((s) => s.key === key);
const stepKeys = (execution: { steps: StepView[] }) => execution.steps.map((s) => s.key);

const answersOf = (targetId: string) => h.runtime.agent.answers.filter((a) => a.targetId === targetId);
const secretsOf = async (targetId: string) => (await h.runtime.secrets.list(`dcp/${targetId}/`)).map((s) => s.name);

beforeAll(async () => {
  await trustSigner(h, signer);
  await publishRelease(h, signer, RELEASE);
});

// Ten runs at once, every step in its own function environment: a run takes longer than in one process.
const RUN_TIMEOUT_MS = 90_000;

describe('a transient fault in a provisioning step is retried and the run succeeds', { timeout: RUN_TIMEOUT_MS }, () => {
  it.concurrent.for(CASES)('$state', async ({ spec, index }, { expect }) => {
    const t = await registerTarget(h, `fault-t${index}`);
    await arm(faultFor(spec, t.id, 'transient'));
    const executionId = await provision(h, t.id, `transient-${index}-key`);

    const execution = await finished(executionId);
    expect(execution.status, JSON.stringify(execution)).toBe('SUCCEEDED');
    expect(stepOf(execution, spec.key)).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    // Only the faulty step ran twice.
    expect((execution.steps as StepView[]).filter((s) => s.attempts !== 1).map((s) => s.key)).toEqual([spec.key]);
    const target = (await h.call('GET', `/targets/${t.id}`)).body;
    expect(target).toMatchObject({ status: 'active', currentRelease: RELEASE, installerLocked: true, blockers: [] });

    const history = await historyOf(executionId);
    expect(history.filter((e) => e.type === 'TaskScheduled' && e.state === spec.state)).toHaveLength(2);
    const failed = history.filter((e) => e.type === 'TaskFailed');
    expect(failed.map((e) => [e.state, e.details.error])).toEqual([[spec.state, spec.command ? 'Transient.AgentError' : 'Transient.StepFailed']]);
    if (spec.command) {
      expect(answersOf(t.id).filter((a) => a.type === spec.command).map((a) => [a.status, a.httpStatus])).toEqual([['failed', 200], ['succeeded', 200]]);
    }
    expect((await h.call('GET', `/local/faults?targetId=${t.id}`)).body.items).toEqual([]);
    expect(await verifyAudit(h, t.id)).toMatchObject({ valid: true });
  });
});

describe('a permanent fault in a provisioning step blocks the target and undoes the run', { timeout: RUN_TIMEOUT_MS }, () => {
  it.concurrent.for(CASES)('$state', async ({ spec, index }, { expect }) => {
    const t = await registerTarget(h, `fault-p${index}`);
    await arm(faultFor(spec, t.id, 'permanent'));
    const executionId = await provision(h, t.id, `permanent-${index}-key`);

    const execution = await finished(executionId);
    expect(execution.status, JSON.stringify(execution)).toBe('FAILED');
    expect(execution.compensatedAt).toEqual(expect.any(String));
    expect(execution.blockers.map((b: { code: string }) => b.code)).toEqual([spec.blocker]);
    // No step after the failed one ran.
    const later = PROVISIONING_SEQUENCE.slice(index + 1).map((s) => stepByState(s)!.key);
    expect(stepKeys(execution).filter((n) => later.includes(n))).toEqual([]);
    // The agent's answer or the runner's fault is the step's failure (a Lambda step's fault fails it before
    // its handler runs, so the record has no entry for it).
    const step = stepOf(execution, spec.key);
    if (spec.command) expect(step).toMatchObject({ status: 'FAILED', attempts: 1 });
    else expect(step).toBeUndefined();

    const target = (await h.call('GET', `/targets/${t.id}`)).body;
    expect(target.status).toBe('blocked');
    expect(target.blockers.map((b: { code: string }) => b.code)).toEqual([spec.blocker]);
    expect(target.blockers[0].message).toContain('Simulated permanent failure');
    expect(target.installerLocked).toBe(false);
    expect(target.currentRelease).toBeUndefined();
    expect(await secretsOf(t.id)).toEqual([]);

    const history = await historyOf(executionId);
    // Permanent: one attempt, no retry, straight into the block branch, ending in the Fail state that names the blocker.
    expect(history.filter((e) => e.type === 'TaskScheduled' && e.state === spec.state)).toHaveLength(1);
    expect(history.find((e) => e.type === 'TaskFailed' && e.state === spec.state)?.details.error).toBe(blockedErrorNameFor(spec.blocker));
    expect(history.filter((e) => e.type.endsWith('StateEntered')).map((e) => e.state).slice(-6)).toEqual([
      'Record blockers', 'Delete injected secrets', 'Release allocation', 'Unlock installer', 'Record failure', 'Blocked',
    ]);
    expect(history.at(-1)).toMatchObject({ type: 'ExecutionFailed', details: { error: blockedErrorNameFor(spec.blocker) } });

    // Undo: secrets only exist from Inject secrets on, the installer lock from Lock installer on.
    const records = await auditStream(h, t.id);
    const deleted = records.find((r) => r.action === 'secrets.deleted');
    if (index >= INJECT) expect(deleted?.details.secrets).toEqual(expect.arrayContaining([`dcp/${t.id}/APP_KEY`]));
    else expect(deleted).toBeUndefined();
    const unlocks = answersOf(t.id).filter((a) => a.type === 'unlock-installer');
    expect(unlocks.map((a) => [a.status, a.httpStatus])).toEqual(index >= LOCK ? [['succeeded', 200]] : []);

    // The audit trail: intact, and it records where the run failed and how it ended.
    expect(await verifyAudit(h, t.id)).toMatchObject({ valid: true });
    const inRun = (r: AuditRecord) => r.details.executionId === executionId;
    expect(records.filter(inRun).some((r) => r.action === 'target.blocked' && r.details.step === spec.key && r.details.error === blockedErrorNameFor(spec.blocker))).toBe(true);
    if (spec.command) {
      expect(records.some((r) => r.action === 'command.result' && r.details.step === spec.key && r.details.status === 'failed')).toBe(true);
    }
    const failedRecord = records.filter(inRun).find((r) => r.action === 'workflow.failed');
    expect(failedRecord?.details.blockers.map((b: { code: string }) => b.code)).toEqual([spec.blocker]);
    // Blocked first, then the undo, then the end of the run.
    const order = (action: string) => records.findIndex((r) => inRun(r) && r.action === action);
    expect(order('target.blocked')).toBeLessThan(order('workflow.failed'));
    expect((await h.call('GET', `/local/faults?targetId=${t.id}`)).body.items).toEqual([]);
  });
});

describe('an update whose health checks fail', () => {
  it('rolls back to the retained release, ends maintenance mode and blocks the target with the reason', async () => {
    const t = await registerTarget(h, 'fault-update');
    const provisioned = await finished(await provision(h, t.id, 'update-provision-key'));
    expect(provisioned.status).toBe('SUCCEEDED');
    await publishRelease(h, signer, UPDATE, { artifacts: [{ name: `app-${UPDATE}.zip`, kind: 'zip', sha256: 'c'.repeat(64), size: 10 }] });
    await attest(h, t, RELEASE);
    await arm({ targetId: t.id, command: 'run-health-checks', kind: 'permanent', times: 1 });
    const before = answersOf(t.id).length;

    const executionId = await startRun(h, 'update', t.id, 'update-health-key', UPDATE);
    const execution = await finished(executionId);
    expect(execution.status, JSON.stringify(execution)).toBe('FAILED');
    expect(execution.blockers.map((b: { code: string }) => b.code)).toEqual(['HEALTH_CHECK_FAILED']);
    const steps = Object.fromEntries((execution.steps as StepView[]).map((s) => [s.key, s.status]));
    expect(steps).toMatchObject({ retainRollbackPackage: 'SUCCEEDED', bindRelease: 'SUCCEEDED', runHealthChecks: 'FAILED', rollback: 'SUCCEEDED' });
    expect(steps.disableMaintenance).toBeUndefined();

    // The agent was told to go back to the retained package, and did.
    const answers = answersOf(t.id).slice(before);
    expect(answers.map((a) => [a.type, a.status, a.httpStatus])).toEqual([
      ['enable-maintenance', 'succeeded', 200],
      ['verify-backup', 'succeeded', 200],
      ['run-migrations', 'succeeded', 200],
      ['install-release', 'succeeded', 200],
      ['run-health-checks', 'failed', 200],
      ['rollback', 'succeeded', 200],
      ['disable-maintenance', 'succeeded', 200],
    ]);
    const commands = (await h.call('GET', `/targets/${t.id}/commands?status=all&limit=100`, { token: t.token })).body.items as { type: string; executionId: string; payload: any; status: string }[];
    const rollback = commands.filter((c) => c.type === 'rollback' && c.executionId === executionId);
    expect(rollback).toHaveLength(1);
    expect(rollback[0]).toMatchObject({ status: 'succeeded', payload: { fromRelease: UPDATE, toRelease: RELEASE, mode: 'self-hosted' } });

    const target = (await h.call('GET', `/targets/${t.id}`)).body;
    expect(target).toMatchObject({ status: 'blocked', currentRelease: RELEASE, rollbackRelease: RELEASE, maintenanceMode: false });
    expect(target.blockers).toHaveLength(1);
    expect(target.blockers[0]).toMatchObject({ code: 'HEALTH_CHECK_FAILED', message: expect.stringContaining('Simulated permanent failure of run-health-checks') });

    const history = await historyOf(executionId);
    const entered = history.filter((e) => e.type.endsWith('StateEntered')).map((e) => e.state);
    expect(entered.slice(entered.indexOf('Run health checks'))).toEqual([
      'Run health checks', 'Roll back release', 'Record blockers', 'Release allocation', 'Switch off maintenance mode', 'Record failure', 'Blocked',
    ]);
    expect(history.some((e) => e.type === 'TaskSucceeded' && e.state === 'Roll back release')).toBe(true);

    expect(await verifyAudit(h, t.id)).toMatchObject({ valid: true });
    const records = (await auditStream(h, t.id)).filter((r) => r.details.executionId === executionId);
    expect(records.some((r) => r.action === 'target.blocked' && r.details.step === 'runHealthChecks')).toBe(true);
    expect(records.find((r) => r.action === 'workflow.failed')?.details.blockers[0].code).toBe('HEALTH_CHECK_FAILED');
  });
});
