// Starting runs (SPEC §7.1): Idempotency-Key replays, conflicting reuse, one run per target under
// concurrency, refusal of revoked releases — against DynamoDB Local, with a recording engine standing in
// for Step Functions at the local endpoint (the runs function still calls it with its own role).
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { sampleSigned, signedBy, testKey } from '../unit/crypto/release-fixtures.js';
import type { WorkflowEngine } from '../../functions/adapters/engine.js';
import { useFakeEngine } from '../support/fake-engine.js';

const api = useApi();
const started: { kind: string; name: string; input: any }[] = [];
let failNextStart = false;
const engine: WorkflowEngine = {
  async start(kind, name, input) {
    if (failNextStart) {
      failNextStart = false;
      throw Object.assign(new Error('State Machine Does Not Exist'), { name: 'StateMachineDoesNotExist' });
    }
    started.push({ kind, name, input });
    return { executionArn: `arn:local:${name}` };
  },
  async stop() {},
  async sendTaskSuccess() {},
  async sendTaskFailure() {},
  async sendTaskHeartbeat() {},
  async historyPage() {
    return { events: [] };
  },
  async history() {
    return [];
  },
};
const key = testKey('runs');
const future = new Date(Date.now() + 90 * 86400_000).toISOString();

beforeAll(async () => {
  useFakeEngine(api.runtime, engine);
  await api.call('POST', '/licenses', { body: licenseBody('lic-runs') });
  await api.call('POST', '/signing-keys', { body: { keyId: key.keyId, publicKey: key.publicKeyBase64 } });
  for (const v of ['1.0.0', '1.1.0']) {
    const r = await api.call('POST', '/releases', { body: signedBy(sampleSigned({ version: v, minUpgradeFrom: '0.1.0', publishedAt: new Date().toISOString(), expiresAt: future }), key) });
    expect(r.status, r.text).toBe(201);
  }
  await api.call('POST', '/releases/1.1.0/revoke', { body: { reason: 'bad build' } });
});

async function register(id: string) {
  const r = await api.call('POST', '/targets', { body: targetBody(id, 'saas', 'lic-runs', targetKeys().publicKey) });
  expect(r.status).toBe(201);
}

const provision = (id: string, idem: string | undefined, releaseId = '1.0.0') =>
  api.call('POST', `/targets/${id}/provision`, { body: { releaseId }, headers: idem === undefined ? {} : { 'idempotency-key': idem } });

describe('starting a provisioning run', () => {
  it('answers 202 with an execution, moves the target to provisioning and records the run', async () => {
    await register('run-1');
    const r = await provision('run-1', 'key-run-1-aaaa');
    expect(r.status).toBe(202);
    expect(r.body.executionId).toMatch(/^provision-run-1-[0-9a-f]{16}$/);
    expect(r.body.executionId.length).toBeLessThanOrEqual(80);
    const run = started.find((s) => s.name === r.body.executionId)!;
    expect(run.kind).toBe('provisioning');
    expect(run.input.execution).toMatchObject({ id: r.body.executionId, targetId: 'run-1', releaseId: '1.0.0', mode: 'saas', strategy: 'blue-green' });
    expect((await api.call('GET', '/targets/run-1')).body.status).toBe('provisioning');
    const exec = await api.call('GET', `/executions/${r.body.executionId}`);
    expect(exec.body).toMatchObject({ id: r.body.executionId, kind: 'provisioning', targetId: 'run-1', releaseId: '1.0.0', status: 'RUNNING', steps: [] });
    const list = await api.call('GET', '/targets/run-1/executions');
    expect(list.body.items.map((e: { id: string }) => e.id)).toEqual([r.body.executionId]);
  });

  it('a replayed Idempotency-Key answers the same execution and starts nothing new', async () => {
    await register('run-2');
    const first = await provision('run-2', 'key-run-2-aaaa');
    const count = started.length;
    const again = await provision('run-2', 'key-run-2-aaaa');
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ executionId: first.body.executionId, replayed: true });
    expect(started.length).toBe(count);
  });

  it('the same key with another request is a 422', async () => {
    await register('run-3');
    await provision('run-3', 'key-run-3-aaaa');
    const other = await provision('run-3', 'key-run-3-aaaa', '9.9.9');
    // The unknown release is refused before the key is looked at; use a real one to reach the key check.
    expect(other.status).toBe(404);
    await api.call('POST', '/releases', { body: signedBy(sampleSigned({ version: '1.2.0', minUpgradeFrom: '0.1.0', publishedAt: new Date().toISOString(), expiresAt: future }), key) });
    const reused = await provision('run-3', 'key-run-3-aaaa', '1.2.0');
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('concurrent requests with different keys start one run; the others get 409', async () => {
    await register('run-4');
    const before = started.length;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => provision('run-4', `key-run-4-${i}xxxx`)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([202, 409, 409, 409, 409, 409]);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === 'TARGET_BUSY')).toBe(true);
    expect(started.length - before).toBe(1);
  });

  it('refuses missing keys, revoked and unknown releases, and targets that are not registered', async () => {
    await register('run-5');
    expect((await provision('run-5', undefined)).body.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    expect((await provision('run-5', 'short')).status).toBe(400);
    const revoked = await provision('run-5', 'key-run-5-aaaa', '1.1.0');
    expect(revoked.status).toBe(409);
    expect(revoked.body.code).toBe('RELEASE_REVOKED');
    expect((await provision('run-5', 'key-run-5-bbbb', 'nope')).status).toBe(404);
    const update = await api.call('POST', '/targets/run-5/update', { body: { releaseId: '1.0.0' }, headers: { 'idempotency-key': 'key-run-5-cccc' } });
    expect(update.status).toBe(409);
    expect(update.body.code).toBe('TARGET_NOT_READY');
    expect((await api.call('GET', '/targets/run-5')).body.status).toBe('registered');
  });

  it('when the engine refuses the start, nothing is left behind and the same key can retry', async () => {
    await register('run-6');
    failNextStart = true;
    const r = await provision('run-6', 'key-run-6-aaaa');
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('WORKFLOW_START_FAILED');
    expect((await api.call('GET', '/targets/run-6')).body.status).toBe('registered');
    const retry = await provision('run-6', 'key-run-6-aaaa');
    expect(retry.status).toBe(202);
    expect((await api.call('GET', '/audit/verify?targetId=run-6')).body.valid).toBe(true);
  });
});
