// Planning rollouts through real HTTP on DynamoDB Local (SPEC §7.4): about thirty targets on one channel,
// some blocked, skipped or waiting for a maintenance window; POST /rollouts plans them into a canary and
// batches and starts the rollout workflow (a fake engine here: the rollout state machines are wired
// elsewhere); the plan reads back through GET; halting stops the executions; the planning path selects
// targets by index and never scans.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { executionName } from '../../functions/adapters/runs.js';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { useApi } from '../support/api.js';
import { attestation, licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { currentManifest, testKey } from '../unit/crypto/release-fixtures.js';
import { ddb, tableName } from '../../functions/adapters/dynamo.js';
import type { EngineKind, WorkflowEngine } from '../../functions/adapters/engine.js';
import { useFakeEngine } from '../support/fake-engine.js';
import type { DeploymentMode } from '../../functions/core/policies.js';

const api = useApi();
const signer = testKey('rollouts-signer');

const BOUND = '1.0.0'; // every active target runs it
const NEXT = '1.1.0'; // the release rolled out
const SAAS_ONLY = '1.2.0'; // lists only saas (mode checks, the failed start)
const REVOKED = '1.3.0';

interface Call {
  kind: EngineKind;
  name: string;
  input?: unknown;
  error?: string;
  cause?: string;
}

/** Records starts and stops; a start throws when `failStart` is set (no rollout state machine yet). */
class FakeEngine implements WorkflowEngine {
  starts: Call[] = [];
  stops: Call[] = [];
  failStart = false;
  async start(kind: EngineKind, name: string, input: unknown) {
    if (this.failStart) throw new Error('DCP_STATE_MACHINE_ROLLOUT is not set');
    this.starts.push({ kind, name, input });
    return { executionArn: `arn:aws:states:local:000000000000:execution:dcp-${kind}:${name}` };
  }
  /** Names whose next StopExecution is throttled (ThrottlingException), as Step Functions does under load. */
  throttle = new Map<string, number>();
  async stop(kind: EngineKind, name: string, error: string, cause: string) {
    const throttled = this.throttle.get(name) ?? 0;
    if (throttled > 0) {
      this.throttle.set(name, throttled - 1);
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    }
    this.stops.push({ kind, name, error, cause });
    if (kind === 'rollout-wave' && name.endsWith('w0001')) throw Object.assign(new Error('gone'), { name: 'ExecutionDoesNotExist' });
  }
  async sendTaskSuccess() {
    throw new Error('not used');
  }
  async sendTaskFailure() {
    throw new Error('not used');
  }
  async sendTaskHeartbeat() {
    throw new Error('not used');
  }
  async historyPage() {
    return { events: [] };
  }
  async history() {
    return [];
  }
}
const engine = new FakeEngine();

function manifest(version: string, overrides: Record<string, unknown> = {}) {
  return currentManifest(version, [signer], overrides);
}

function x25519PublicKey(): string {
  const der = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32)).toString('base64');
}

async function ok(method: string, path: string, body?: unknown, status = 200) {
  const r = await api.call(method, path, body === undefined ? {} : { body });
  expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
  return r.body;
}

/** What provisioning would have left: the target active on BOUND (provisioning runs are tested elsewhere). */
async function activate(id: string) {
  await ddb().send(
    new UpdateCommand({
      TableName: tableName('targets'),
      Key: { id },
      UpdateExpression: 'SET #s = :active, currentRelease = :bound',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':active': 'active', ':bound': BOUND },
    }),
  );
}

interface Spec {
  id: string;
  mode: DeploymentMode;
  license?: string;
  overrides?: Record<string, unknown>;
  /** Leave it registered (not provisioned). */
  inactive?: boolean;
  /** Heartbeat and attestation (customer-run modes). */
  ready?: boolean;
  /** Written into the stored item after registration: data registration would refuse (older records). */
  stored?: Record<string, unknown>;
}

async function register(spec: Spec) {
  const keys = targetKeys();
  const reg = await api.call('POST', '/targets', {
    body: targetBody(spec.id, spec.mode, spec.license ?? 'lic-shared', keys.publicKey, { encryptionKey: x25519PublicKey(), ...spec.overrides }),
  });
  expect(reg.status, reg.text).toBe(201);
  if (spec.stored) {
    const entries = Object.entries(spec.stored);
    await ddb().send(
      new UpdateCommand({
        TableName: tableName('targets'),
        Key: { id: spec.id },
        UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :f${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:f${i}`, v])),
      }),
    );
  }
  if (spec.inactive) return;
  await activate(spec.id);
  if (!spec.ready) return;
  expect((await api.call('POST', `/targets/${spec.id}/heartbeat`, { token: reg.body.token })).status).toBe(200);
  const att = await api.call('POST', `/targets/${spec.id}/attestations`, {
    token: reg.body.token,
    body: attestation(spec.id, keys.keys, { releaseVersion: BOUND }),
  });
  expect(att.status, att.text).toBe(201);
  expect(att.body.result).toBe('passed');
}

// 20 ready SaaS targets, 6 self-hosted ones (two with windows, one unreadable window), 2 blocked, one not yet
// provisioned, one on another channel: 30 in all, 29 of them on `stable`.
const SAAS = Array.from({ length: 20 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
const hourAway = (h: number) => (new Date().getUTCHours() + h) % 24;
const CLOSED_WINDOW = { cron: `0 ${hourAway(12)} * * *`, durationMinutes: 60 };
const OPEN_WINDOW = { cron: '* * * * *', durationMinutes: 60 };
const SPECS: Spec[] = [
  ...SAAS.map((id): Spec => ({ id, mode: 'saas' })),
  { id: 'h01', mode: 'self-hosted', ready: true, overrides: { maintenanceWindow: CLOSED_WINDOW } },
  { id: 'h02', mode: 'self-hosted', ready: true, overrides: { maintenanceWindow: OPEN_WINDOW } },
  // Registration now refuses a window that never opens; a record stored before that rule still plans safely.
  { id: 'h03', mode: 'self-hosted', ready: true, stored: { maintenanceWindow: { cron: '0 0 30 2 *', durationMinutes: 60 } } },
  { id: 'h04', mode: 'self-hosted', ready: true },
  { id: 'h05', mode: 'self-hosted', ready: true },
  { id: 'h06', mode: 'self-hosted', ready: true },
  { id: 'x-revoked', mode: 'saas', license: 'lic-revoked' },
  { id: 'x-nobackup', mode: 'self-hosted', ready: true, overrides: { backupPolicy: undefined } },
  { id: 'x-registered', mode: 'saas', inactive: true },
  { id: 'y-beta', mode: 'saas', overrides: { channel: 'beta' } },
];
const STABLE = SPECS.filter((s) => s.overrides?.channel !== 'beta').map((s) => s.id);

beforeAll(async () => {
  removeFake = useFakeEngine(api.runtime, engine);
  await ok('POST', '/signing-keys', { keyId: signer.keyId, publicKey: signer.publicKeyBase64 }, 201);
  await ok('POST', '/releases', manifest(BOUND), 201);
  await ok('POST', '/licenses', licenseBody('lic-shared'), 201);
  await ok('POST', '/licenses', licenseBody('lic-revoked'), 201);
  for (const spec of SPECS) await register(spec);
  await ok('POST', '/licenses/lic-revoked/revoke', { reason: 'unpaid' });
  await ok('POST', '/releases', manifest(NEXT), 201);
  await ok('POST', '/releases', manifest(SAAS_ONLY, { modes: ['saas'] }), 201);
  await ok('POST', '/releases', manifest(REVOKED), 201);
  await ok('POST', `/releases/${REVOKED}/revoke`, { reason: 'bad build' });
});

let removeFake: (() => void) | undefined;
afterAll(() => removeFake?.());

async function controlRecords() {
  const out: { action: string; details: Record<string, any> }[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await ok('GET', `/audit?stream=control&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return out;
}

async function allTargets(id: string, limit: number) {
  const items: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const body: any = await ok('GET', `/rollouts/${id}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...body.targets.items);
    cursor = body.targets.cursor;
    pages++;
  } while (cursor);
  return { items, pages };
}

describe('POST /rollouts', () => {
  let rolloutId = '';
  const sent: string[] = [];
  const queries: { table: string; index?: string }[] = [];

  it('plans a canary and batches, records the rest, starts the workflow (and never scans)', async () => {
    // The rollouts function's DynamoDB calls reach the local endpoint signed by its role: recorded there.
    const rollouts = api.runtime.deployment.apiFunctions.rollouts!.role.logicalId;
    const stop = api.runtime.aws.observeDynamoDb((op, input, caller) => {
      if (caller !== rollouts) return;
      sent.push(`${op}Command`);
      if (op === 'Query') queries.push({ table: input.TableName, ...(input.IndexName ? { index: input.IndexName } : {}) });
    });
    let r;
    try {
      r = await api.call('POST', '/rollouts', { body: { releaseId: NEXT, waveSize: 8 } });
    } finally {
      stop();
    }
    expect(r.status, r.text).toBe(202);
    rolloutId = r.body.id;
    expect(rolloutId).toMatch(/^ro-1_1_0-\d{14}-[0-9a-f]{8}$/);
    expect(r.headers.get('location')).toBe(`/api/v1/deployment-server/rollouts/${rolloutId}`);
    // 29 targets on stable: 25 planned (h01 waits for its window), 2 blocked, 2 skipped (not provisioned,
    // unreadable window). Canary of 1, then 24 in batches of 8.
    expect(r.body).toMatchObject({
      id: rolloutId,
      status: 'RUNNING',
      waves: 4,
      planned: 25,
      skipped: 4,
      blocked: 2,
      waitingWindow: 1,
      settings: { canarySize: 1, waveSize: 8, maxConcurrency: 5, maxFailures: 0 },
      adjustments: [],
    });
    expect(engine.starts).toEqual([{ kind: 'rollout', name: rolloutId, input: { rollout: { id: rolloutId, releaseId: NEXT } } }]);

    expect(sent).not.toContain('ScanCommand');
    // One Query per mode on the byChannelMode index (each a single page here), one for rollouts in progress.
    const targetQueries = queries.filter((q) => q.table === tableName('targets'));
    expect(targetQueries).toEqual(Array(4).fill({ table: tableName('targets'), index: 'byChannelMode' }));
    expect(queries.filter((q) => q.table === tableName('rollouts'))).toEqual([{ table: tableName('rollouts'), index: 'byRelease' }]);
    // Shared facts in one BatchGetItem, every target's own items (deduplicated) in one more.
    expect(sent.filter((c) => c === 'BatchGetItemCommand')).toHaveLength(2);
    // 4 waves + 29 outcomes = 33 items: two BatchWriteItem requests of at most 25.
    expect(sent.filter((c) => c === 'BatchWriteItemCommand')).toHaveLength(2);
  });

  it('reads back: the plan, its waves (canary first) and every target outcome, paged', async () => {
    const body: any = await ok('GET', `/rollouts/${rolloutId}?limit=10`);
    expect(body).toMatchObject({
      id: rolloutId,
      releaseId: NEXT,
      channel: 'stable',
      modes: ['saas', 'self-hosted', 'white-label', 'enterprise-private-cloud'],
      status: 'RUNNING',
      waveCount: 4,
      counts: { targets: 29, planned: 25, waitingWindow: 1, blocked: 2, skipped: 2, succeeded: 0, failed: 0 },
      createdBy: expect.stringMatching(/^token:/),
      executionArn: expect.stringContaining(rolloutId),
    });
    expect(body).not.toHaveProperty('sk');
    expect(body.waves.map((w: any) => [w.index, w.kind, w.size, w.status])).toEqual([
      [0, 'canary', 1, 'PENDING'],
      [1, 'batch', 8, 'PENDING'],
      [2, 'batch', 8, 'PENDING'],
      [3, 'batch', 8, 'PENDING'],
    ]);
    expect(body.targets.items).toHaveLength(10);
    expect(body.targets.cursor).toEqual(expect.any(String));

    const { items, pages } = await allTargets(rolloutId, 10);
    expect(pages).toBe(3);
    expect(items.map((t) => t.targetId).sort()).toEqual(STABLE.filter((id) => id !== 'y-beta').sort());
    const byId = Object.fromEntries(items.map((t) => [t.targetId, t]));

    // The canary is the first target by id that can update now: h01 waits for its window, h02's is open.
    expect(byId.h02).toMatchObject({ wave: 0, outcome: 'planned', windowOpensAt: expect.any(String) });
    expect(byId.h01).toMatchObject({ outcome: 'waiting-window', maintenanceWindow: CLOSED_WINDOW, wave: 1 });
    expect(Date.parse(byId.h01.windowOpensAt)).toBeGreaterThan(Date.now());
    expect(byId.h03).toMatchObject({ wave: null, outcome: 'skipped', skip: { code: 'MAINTENANCE_WINDOW_INVALID' } });
    expect(byId['x-registered']).toMatchObject({ wave: null, outcome: 'skipped', skip: { code: 'TARGET_NOT_ACTIVE' } });
    expect(byId['x-revoked']).toMatchObject({ wave: null, outcome: 'skipped-blocked' });
    expect(byId['x-revoked'].blockers.map((b: any) => b.code)).toEqual(['LICENSE_REVOKED']);
    expect(byId['x-nobackup']).toMatchObject({ wave: null, outcome: 'skipped-blocked' });
    expect(byId['x-nobackup'].blockers.map((b: any) => b.code)).toEqual(['MISSING_BACKUP_POLICY']);
    for (const t of Object.values(byId) as any[]) expect(t).not.toHaveProperty('id');
    // Batches follow by id: h01, h04, h05, h06, s01…
    expect(items.filter((t) => t.wave === 1).map((t) => t.targetId).sort()).toEqual(['h01', 'h04', 'h05', 'h06', 's01', 's02', 's03', 's04']);
    expect(items.filter((t) => t.wave !== null)).toHaveLength(25);

    // An altered cursor is a 400, never a 500.
    const bad = await api.call('GET', `/rollouts/${rolloutId}?cursor=${encodeURIComponent(body.targets.cursor.slice(0, -2) + 'xx')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_CURSOR');
  });

  it('lists the rollouts of a release by the byRelease index', async () => {
    const list: any = await ok('GET', `/rollouts?releaseId=${NEXT}`);
    expect(list.items.map((r: any) => r.id)).toEqual([rolloutId]);
    expect(list.items[0]).not.toHaveProperty('sk');
    expect(list.cursor).toBeNull();
    expect((await ok('GET', `/rollouts?releaseId=${SAAS_ONLY}`)).items).toEqual([]);
    const missing = await api.call('GET', '/rollouts');
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([expect.objectContaining({ path: '/query/releaseId' })]);
  });

  it('audits the plan with counts, not target ids', async () => {
    const planned = (await controlRecords()).filter((r) => r.action === 'rollout.planned');
    expect(planned).toHaveLength(1);
    expect(planned[0]!.details).toMatchObject({
      rolloutId,
      releaseId: NEXT,
      status: 'RUNNING',
      waves: 4,
      counts: { targets: 29, planned: 25, blocked: 2, skipped: 2 },
      blockerCodes: { LICENSE_REVOKED: 1, MISSING_BACKUP_POLICY: 1 },
    });
    expect(JSON.stringify(planned[0]!.details)).not.toMatch(/"s01"|"h02"/);
    expect((await ok('GET', '/audit/verify?stream=control')).valid).toBe(true);
  });

  it('refuses a second rollout of the release while one runs', async () => {
    const r = await api.call('POST', '/rollouts', { body: { releaseId: NEXT } });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'ROLLOUT_IN_PROGRESS', detail: expect.stringContaining(rolloutId) });
  });

  it('halts: HALTED with the reason, the rollout and wave executions stopped, waves halted, update runs stopped by the reconciler with throttling retried (D12); a second halt is 409', async () => {
    // The canary wave is running (as the rollout workflow would have marked it); wave 1 already ended.
    for (const [sk, status] of [['wave#0000', 'RUNNING'], ['wave#0001', 'RUNNING']] as const) {
      await ddb().send(
        new UpdateCommand({
          TableName: tableName('rollouts'),
          Key: { id: rolloutId, sk },
          UpdateExpression: 'SET #s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': status },
        }),
      );
    }
    const r = await api.call('POST', `/rollouts/${rolloutId}/halt`, { body: { reason: 'canary errors' } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      id: rolloutId,
      status: 'HALTED',
      haltReason: 'canary errors',
      haltedAt: expect.any(String),
      haltedBy: expect.stringMatching(/^token:/),
      stopped: { rollout: 'stopped', waves: [{ index: 0, result: 'stopped' }, { index: 1, result: 'not-running' }] },
    });
    // The request stops the rollout and each running wave, never the waves' update runs (D12: a wave of
    // 1,000 would not fit in API Gateway's 29 s).
    expect(engine.stops).toEqual([
      { kind: 'rollout', name: rolloutId, error: 'RolloutHalted', cause: 'canary errors' },
      { kind: 'rollout-wave', name: `${rolloutId}-w0000`, error: 'RolloutHalted', cause: 'canary errors' },
      { kind: 'rollout-wave', name: `${rolloutId}-w0001`, error: 'RolloutHalted', cause: 'canary errors' },
    ]);
    // The rollout execution's ABORTED status change reaches the reconciler, which stops the update runs of
    // the waves that were running (named by runs.ts), retrying throttled stops and never counting them failed.
    const runningMembers = async (index: number) =>
      ((await api.tables.client.send(new GetItemCommand({ TableName: `${api.tables.prefix}rollouts`, Key: { id: { S: rolloutId }, sk: { S: `wave#${String(index).padStart(4, '0')}` } } }))).Item?.targetIds?.L ?? []).map((v) => v.S!);
    const updates = [...(await runningMembers(0)), ...(await runningMembers(1))].map((t) => ({ kind: 'update', name: executionName('update', t, `rollout-${rolloutId}`), error: 'RolloutHalted', cause: 'canary errors' }));
    expect(updates.length).toBeGreaterThan(0);
    engine.throttle.set(updates[0]!.name, 2);
    const { stopHaltedWaveMembers } = await import('../../functions/adapters/rollouts.js');
    const { handler: reconcile } = await import('../../functions/steps/reconcile.js');
    await reconcile({
      version: '0', id: 'evt-halt', 'detail-type': 'Step Functions Execution Status Change', source: 'aws.states', account: '000000000000',
      time: new Date().toISOString(), region: 'local', resources: [],
      detail: { executionArn: `arn:aws:states:local:000000000000:execution:dcp-rollout:${rolloutId}`, stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:dcp-rollout', name: rolloutId, status: 'ABORTED', input: JSON.stringify({ rollout: { id: rolloutId } }) },
    });
    expect(engine.throttle.get(updates[0]!.name)).toBe(0);
    expect(engine.stops.filter((s: { kind: string }) => s.kind === 'update').sort((a: any, b: any) => (a.name < b.name ? -1 : 1))).toEqual(
      updates.sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
    // Done once: the waves lost their mark, so a redelivered event stops nothing again.
    expect(await stopHaltedWaveMembers(rolloutId, 'again')).toEqual({ stopped: 0, notRunning: 0, throttled: 0, failed: 0 });
    // A stop throttled past every retry is left for the next attempt, not counted failed.
    await ddb().send(new UpdateCommand({ TableName: tableName('rollouts'), Key: { id: rolloutId, sk: 'wave#0000' }, UpdateExpression: 'SET membersToStop = :y', ExpressionAttributeValues: { ':y': true } }));
    engine.throttle.set(updates[0]!.name, 100);
    const wave0 = await runningMembers(0);
    const throttledRun = await stopHaltedWaveMembers(rolloutId, 'again', { attempts: 2, baseDelayMs: 1 });
    expect(throttledRun.failed).toBe(0);
    expect(throttledRun.throttled).toBe(wave0.some((t) => executionName('update', t, `rollout-${rolloutId}`) === updates[0]!.name) ? 1 : 0);
    engine.throttle.clear();
    const stopsAfterHalt = engine.stops.length;
    const after: any = await ok('GET', `/rollouts/${rolloutId}`);
    expect(after.status).toBe('HALTED');
    expect(after.waves.map((w: any) => w.status)).toEqual(['HALTED', 'HALTED', 'HALTED', 'HALTED']);
    expect((await controlRecords()).filter((x) => x.action === 'rollout.halted').map((x) => x.details)).toEqual([
      { rolloutId, releaseId: NEXT, reason: 'canary errors' },
    ]);

    const again = await api.call('POST', `/rollouts/${rolloutId}/halt`, { body: { reason: 'again' } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'ROLLOUT_NOT_RUNNING', type: 'urn:dcp:problem:ROLLOUT_NOT_RUNNING' });
    expect(engine.stops).toHaveLength(stopsAfterHalt);
    expect((await api.call('POST', '/rollouts/ro-nope/halt', { body: { reason: 'x' } })).status).toBe(404);
    expect((await api.call('GET', '/rollouts/ro-nope')).body.code).toBe('ROLLOUT_NOT_FOUND');
  });

  it('createRolloutPlan with an id is idempotent (EventBridge delivers an event at least once)', async () => {
    const { createRolloutPlan } = await import('../../functions/adapters/rollouts.js');
    const starts = engine.starts.length;
    const first = await createRolloutPlan(NEXT, { id: 'ro-event-1' }, 'events:ReleasePublished', new Date());
    expect(first).toMatchObject({ replayed: false, rollout: { id: 'ro-event-1', status: 'RUNNING', createdBy: 'events:ReleasePublished' } });
    const again = await createRolloutPlan(NEXT, { id: 'ro-event-1' }, 'events:ReleasePublished', new Date());
    expect(again).toMatchObject({ replayed: true, rollout: { id: 'ro-event-1', status: 'RUNNING' } });
    expect(engine.starts.slice(starts).map((s) => s.name)).toEqual(['ro-event-1']);
    await expect(createRolloutPlan(NEXT, { id: 'bad id' }, 'x', new Date())).rejects.toThrow(/must be 1-74/);
    await ok('POST', '/rollouts/ro-event-1/halt', { reason: 'test done' });
  });

  it('the catch-up schedule leaves a channel head that already had a rollout alone (D13: only lost events are caught up)', async () => {
    const { channelHeadKey, getChannelHead } = await import('../../functions/adapters/releases.js');
    const { listRollouts } = await import('../../functions/adapters/rollouts.js');
    const { handler: plan } = await import('../../functions/steps/rollout-plan.js');
    const schedule = (n: number) => plan({ event: { schedule: { channel: 'stable' } }, executionArn: `arn:aws:states:local:000000000000:execution:dcp-rollout:sched-catch-up-${n}` });
    const starts = engine.starts.length;
    // The stable head here is revoked: nothing to catch up, and no failed execution every hour.
    const head = (await getChannelHead('stable'))!.version;
    expect(await schedule(1)).toMatchObject({ id: '', status: 'SKIPPED', summary: expect.stringContaining('revoked') });
    // A head whose rollout an operator halted is not run again by the schedule.
    const putChannelHeadForTest = (version: string) =>
      ddb().send(new UpdateCommand({ TableName: tableName('guards'), Key: { key: channelHeadKey('stable') }, UpdateExpression: 'SET version = :v', ExpressionAttributeValues: { ':v': version } }));
    expect((await listRollouts(NEXT, 1)).items.length).toBeGreaterThan(0);
    await putChannelHeadForTest(NEXT);
    try {
      expect(await schedule(2)).toMatchObject({ id: '', status: 'SKIPPED', summary: expect.stringContaining('already had a rollout') });
    } finally {
      await putChannelHeadForTest(head);
    }
    expect(engine.starts).toHaveLength(starts);
  });
});

describe('POST /rollouts refusals', () => {
  it.each([
    [{ releaseId: '9.9.9' }, 404, 'RELEASE_NOT_FOUND'],
    [{ releaseId: REVOKED }, 409, 'RELEASE_REVOKED'],
    [{ releaseId: SAAS_ONLY, modes: ['saas', 'self-hosted'] }, 400, 'VALIDATION_FAILED'],
    [{ releaseId: NEXT, modes: [] }, 400, 'VALIDATION_FAILED'],
    [{ releaseId: NEXT, waveSize: 0 }, 400, 'VALIDATION_FAILED'],
    [{ releaseId: NEXT, extra: 1 }, 400, 'VALIDATION_FAILED'],
  ])('%j → %i %s', async (body, status, code) => {
    const r = await api.call('POST', '/rollouts', { body });
    expect(r.status, r.text).toBe(status);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.body.code).toBe(code);
  });

  it('names the mode the release does not list', async () => {
    const r = await api.call('POST', '/rollouts', { body: { releaseId: SAAS_ONLY, modes: ['saas', 'self-hosted'] } });
    expect(r.body.errors).toEqual([{ path: '/modes/1', message: expect.stringContaining('not for self-hosted') }]);
  });

  it('refuses tenant-restricted tokens: a rollout spans every tenant of the channel', async () => {
    const token = await api.token(['operator', 'tenant:tenant-a']);
    const r = await api.call('POST', '/rollouts', { token, body: { releaseId: SAAS_ONLY } });
    expect(r.status).toBe(403);
    expect((await api.call('GET', `/rollouts?releaseId=${NEXT}`, { token })).status).toBe(403);
  });

  it('marks the rollout FAILED and answers 503 when the workflow cannot be started', async () => {
    engine.failStart = true;
    try {
      const r = await api.call('POST', '/rollouts', { body: { releaseId: SAAS_ONLY, modes: ['saas'] } });
      expect(r.status, r.text).toBe(503);
      expect(r.body).toMatchObject({ code: 'ROLLOUT_START_FAILED', rolloutId: expect.any(String) });
      expect(r.body.detail).not.toContain('DCP_STATE_MACHINE_ROLLOUT');
      const failed: any = await ok('GET', `/rollouts/${r.body.rolloutId}`);
      expect(failed).toMatchObject({
        status: 'FAILED',
        failureReason: expect.stringContaining('DCP_STATE_MACHINE_ROLLOUT is not set'),
        failedAt: expect.any(String),
        counts: { targets: 22, planned: 20, blocked: 1, skipped: 1 },
      });
      expect((await controlRecords()).some((x) => x.action === 'rollout.start-failed' && x.details.rolloutId === r.body.rolloutId)).toBe(true);
    } finally {
      engine.failStart = false;
    }
    // A failed rollout does not block the next one.
    const next = await api.call('POST', '/rollouts', { body: { releaseId: SAAS_ONLY } });
    expect(next.status, next.text).toBe(202);
    expect(next.body).toMatchObject({ status: 'RUNNING', waves: 3, planned: 20, skipped: 2 });
  });
});
