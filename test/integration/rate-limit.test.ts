// Machine clients are held to a per-token budget of requests per minute, on top of API Gateway's stage
// and route throttling (SPEC §5): a token bucket that refills continuously, so no window boundary lets a
// burst through twice.
import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { licenseBody, targetBody, targetKeys } from '../support/fixtures.js';

// Set on the deployed functions, as a configuration update of their environment would.
// 20 a minute: one request every 3 s, bursts of up to 20.
const BUDGET = 20;
const api = useApi({ functionEnvironment: { DCP_TARGET_TOKEN_RATE_PER_MINUTE: String(BUDGET) } });

describe('per-token rate limit', () => {
  it('answers 429 with Retry-After once a target token spends its budget; other tokens are unaffected', async () => {
    await api.call('POST', '/licenses', { body: licenseBody('lic-rl') });
    const a = await api.call('POST', '/targets', { body: targetBody('rl-a', 'saas', 'lic-rl', targetKeys().publicKey) });
    const b = await api.call('POST', '/targets', { body: targetBody('rl-b', 'saas', 'lic-rl', targetKeys().publicKey) });
    for (let i = 0; i < BUDGET; i++) expect((await api.call('POST', '/targets/rl-a/heartbeat', { token: a.body.token })).status).toBe(200);
    const limited = await api.call('POST', '/targets/rl-a/heartbeat', { token: a.body.token });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED', type: 'urn:dcp:problem:RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api.call('POST', '/targets/rl-b/heartbeat', { token: b.body.token })).status).toBe(200);
    expect((await api.call('GET', '/targets/rl-a')).status).toBe(200);
  });

  it('refills one request per 60/budget seconds, whenever the burst happened (no fixed minute windows)', async () => {
    {
      const c = await api.call('POST', '/targets', { body: targetBody('rl-c', 'saas', 'lic-rl', targetKeys().publicKey) });
      const beat = () => api.call('POST', '/targets/rl-c/heartbeat', { token: c.body.token });
      const burst = await Promise.all(Array.from({ length: BUDGET }, beat));
      expect(burst.map((r) => r.status)).toEqual(Array(BUDGET).fill(200));
      const limited = await beat();
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      // A fixed window would say "wait for the next minute"; the bucket has a request again within 3 s.
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3);
      await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
      // Exactly one request has refilled: a new minute window would have let 20 through again.
      expect((await beat()).status).toBe(200);
      expect((await beat()).status).toBe(429);
    }
  });
});
