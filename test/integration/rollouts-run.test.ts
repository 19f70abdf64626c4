// Rollouts end to end on the local runtime (SPEC §7.4): publishing a release puts ReleasePublished on the
// local bus, which starts the rollout state machine; waves run as child executions and update targets
// through their simulated agents. 30 targets: two blocked (revoked license), one failing health checks in
// the canary wave.
import { beforeAll, describe, expect, it } from 'vitest';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { useLocalRuntime } from '../support/local-runtime.js';
import { licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { publishRelease, releaseSigner, sleep, trustSigner } from '../support/workflow-fixtures.js';

const api = useLocalRuntime({ rolloutOnPublish: true });
const signer = releaseSigner('rollouts');

/** 30 SaaS targets of one channel answered by simulated agents, active on `bound`; ids `${prefix}-00`…`-29`. */
async function fleet(prefix: string, channel: string, bound: string): Promise<string[]> {
  await api.call('POST', '/licenses', { body: licenseBody(`lic-${prefix}`) });
  await api.call('POST', '/licenses', { body: licenseBody(`lic-${prefix}-revoked`) });
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) {
    const id = `${prefix}-${String(i).padStart(2, '0')}`;
    const licenseId = i >= 28 ? `lic-${prefix}-revoked` : `lic-${prefix}`;
    const r = await api.call('POST', '/targets', { body: targetBody(id, 'saas', licenseId, targetKeys().publicKey, { channel, agent: 'simulated' }) });
    expect(r.status, r.text).toBe(201);
    // Already provisioned on `bound` (provisioning is the workflow tests' subject, not this one's).
    await api.tables.client.send(
      new UpdateItemCommand({
        TableName: `${api.tables.prefix}targets`,
        Key: { id: { S: id } },
        UpdateExpression: 'SET #s = :active, currentRelease = :bound',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':active': { S: 'active' }, ':bound': { S: bound } },
      }),
    );
    ids.push(id);
  }
  await api.call('POST', `/licenses/lic-${prefix}-revoked/revoke`, { body: { reason: 'customer churned' } });
  return ids;
}

async function rolloutOf(releaseId: string): Promise<any> {
  const deadline = Date.now() + Number(process.env.ROLLOUT_WAIT_MS ?? 90_000);
  for (;;) {
    const list = await api.call('GET', `/rollouts?releaseId=${releaseId}`);
    const item = list.body.items?.[0];
    if (item && item.status !== 'RUNNING' && item.status !== 'PLANNING') {
      return (await api.call('GET', `/rollouts/${item.id}?limit=100`)).body;
    }
    if (Date.now() > deadline) {
      const name = String(item?.executionArn ?? '').split(':').pop() ?? '';
      const events = await api.runtime.engine.history('rollout', name).catch((e: unknown) => [String(e)]);
      throw new Error(`rollout of ${releaseId} did not end: ${JSON.stringify(item)}\n${JSON.stringify(events.slice(-8), null, 1)}`);
    }
    await sleep(100);
  }
}

async function currentRelease(id: string): Promise<string> {
  return (await api.call('GET', `/targets/${id}`)).body.currentRelease;
}

beforeAll(async () => {
  await trustSigner(api, signer);
});

describe('a rollout started by ReleasePublished', () => {
  it('halts after the canary wave when its target fails health checks; blocked targets are never updated', async () => {
    await publishRelease(api, signer, '4.0.0', { channel: 'fleet-a' });
    const ids = await fleet('fa', 'fleet-a', '4.0.0');
    const canary = ids[0]!;
    const armed = await api.call('POST', '/local/faults', { body: { targetId: canary, command: 'run-health-checks', kind: 'permanent', times: 1 } });
    expect(armed.status).toBe(201);

    await publishRelease(api, signer, '4.1.0', { channel: 'fleet-a' });
    const rollout = await rolloutOf('4.1.0');

    expect(rollout.status).toBe('HALTED');
    expect(rollout.haltReason).toMatch(/Wave 0 .* 1 failed update/);
    expect(rollout.waves[0]).toMatchObject({ index: 0, kind: 'canary', failures: 1, succeeded: 0 });
    expect(rollout.waves.slice(1).every((w: { status: string }) => w.status !== 'SUCCEEDED' && w.status !== 'RUNNING')).toBe(true);
    const outcomes = new Map(rollout.targets.items.map((t: { targetId: string }) => [t.targetId, t]));
    expect(outcomes.get(canary)).toMatchObject({ outcome: 'failed', wave: 0 });
    // The failed canary rolled back: still on the old release, blocked with the reason.
    const failed = (await api.call('GET', `/targets/${canary}`)).body;
    expect(failed).toMatchObject({ status: 'blocked', currentRelease: '4.0.0' });
    expect(failed.blockers.map((b: { code: string }) => b.code)).toContain('HEALTH_CHECK_FAILED');
    // Nobody after the canary was updated; the revoked-license targets were recorded with their blockers.
    for (const id of ids.slice(1, 28)) expect(await currentRelease(id)).toBe('4.0.0');
    for (const id of ids.slice(28)) {
      expect(outcomes.get(id)).toMatchObject({ outcome: 'skipped-blocked', wave: null });
      expect((outcomes.get(id) as { blockers: { code: string }[] }).blockers.map((b) => b.code)).toContain('LICENSE_REVOKED');
      expect((await api.call('GET', `/targets/${id}/executions`)).body.items).toEqual([]);
    }
    const audit = await api.call('GET', '/audit?stream=control&limit=100');
    expect(audit.body.items.map((r: { action: string }) => r.action)).toEqual(expect.arrayContaining(['rollout.planned', 'rollout.halted']));
  }, 120_000);

  it('without a failing target it completes every wave; blocked targets stay untouched', async () => {
    await publishRelease(api, signer, '5.0.0', { channel: 'fleet-b' });
    const ids = await fleet('fb', 'fleet-b', '5.0.0');
    await publishRelease(api, signer, '5.1.0', { channel: 'fleet-b' });
    const rollout = await rolloutOf('5.1.0');

    expect(rollout.status, JSON.stringify(rollout.failureReason ?? rollout.haltReason)).toBe('SUCCEEDED');
    expect(rollout.counts).toMatchObject({ planned: 28, blocked: 2, succeeded: 28, failed: 0 });
    expect(rollout.waves.map((w: { kind: string; size: number; status: string }) => [w.kind, w.size, w.status])).toEqual([
      ['canary', 1, 'SUCCEEDED'],
      ['batch', 10, 'SUCCEEDED'],
      ['batch', 10, 'SUCCEEDED'],
      ['batch', 7, 'SUCCEEDED'],
    ]);
    for (const id of ids.slice(0, 28)) expect(await currentRelease(id)).toBe('5.1.0');
    for (const id of ids.slice(28)) {
      expect(await currentRelease(id)).toBe('5.0.0');
      expect((await api.call('GET', `/targets/${id}/executions`)).body.items).toEqual([]);
    }
  }, 120_000);
});
