// Issue #10 (hardening) items that need the whole local runtime (workflow runner, simulated agent).
import { beforeAll, describe, expect, it } from 'vitest';
import { useLocalRuntime } from '../support/local-runtime.js';
import { publishRelease, RELEASE, registerTarget, releaseSigner, trustSigner } from '../support/workflow-fixtures.js';

const rt = useLocalRuntime();
const signer = releaseSigner('hardening-runtime');

beforeAll(async () => {
  await trustSigner(rt, signer);
  await publishRelease(rt, signer, RELEASE);
});

describe('F5: concurrent retries with one Idempotency-Key', () => {
  it('5 identical provisioning requests at once all answer 202 with the same execution', async () => {
    await registerTarget(rt, 'idem-race');
    const rs = await Promise.all(
      Array.from({ length: 5 }, () =>
        rt.call('POST', '/targets/idem-race/provision', { body: { releaseId: RELEASE }, headers: { 'idempotency-key': 'idem-race-key-1' } }),
      ),
    );
    expect(rs.map((r) => r.status), rs.map((r) => r.text).join('\n')).toEqual([202, 202, 202, 202, 202]);
    const ids = new Set(rs.map((r) => r.body.executionId));
    expect(ids.size).toBe(1);
    expect(rs.filter((r) => r.body.replayed === false)).toHaveLength(1);
    const done = await rt.waitForExecution([...ids][0]!);
    expect(done.status).toBe('SUCCEEDED');
    // A different request under the same key is still refused.
    const other = await rt.call('POST', '/targets/idem-race/provision', { body: { releaseId: '9.9.9' }, headers: { 'idempotency-key': 'idem-race-key-1' } });
    expect(other.status).not.toBe(202);
  });
});

describe('fresh targets are updated', () => {
  it('a target provisioned with the simulated agent is attested on the installed release, so the next release updates it', async () => {
    await registerTarget(rt, 'fresh-1');
    const run = await rt.call('POST', '/targets/fresh-1/provision', { body: { releaseId: RELEASE }, headers: { 'idempotency-key': 'fresh-1-provision' } });
    expect(run.status, run.text).toBe(202);
    expect((await rt.waitForExecution(run.body.executionId)).status).toBe('SUCCEEDED');
    const target = (await rt.call('GET', '/targets/fresh-1')).body;
    expect(target).toMatchObject({ status: 'active', currentRelease: RELEASE, attestation: { result: 'passed' } });

    await publishRelease(rt, signer, '3.2.0');
    const d = await rt.call('POST', '/decisions', { body: { targetId: 'fresh-1', releaseId: '3.2.0', action: 'update' } });
    expect(d.status).toBe(200);
    expect(d.body.blockers.map((b: { code: string }) => b.code)).not.toContain('ATTESTATION_FAILED');
    const update = await rt.call('POST', '/targets/fresh-1/update', { body: { releaseId: '3.2.0' }, headers: { 'idempotency-key': 'fresh-1-update' } });
    expect(update.status, update.text).toBe(202);
    const done = await rt.waitForExecution(update.body.executionId);
    expect(done.status, JSON.stringify(done.steps?.slice(-3))).toBe('SUCCEEDED');
    expect((await rt.call('GET', '/targets/fresh-1')).body).toMatchObject({ currentRelease: '3.2.0', attestation: { result: 'passed' } });
  });
});
