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
