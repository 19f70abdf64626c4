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

/** Seconds for the bucket to refill one request. */
const REFILL_SECONDS = 60 / BUDGET;

/**
 * Send `beat` one at a time until it answers 429 (at most `max` times); the successes and the refusal. A
 * loaded machine is slow to send them, and the bucket refills meanwhile: the caller allows for the elapsed time.
 */
async function untilLimited(beat: () => Promise<{ status: number; headers: Headers; body: any }>, max: number) {
  const started = Date.now();
  let passed = 0;
  for (let i = 0; i < max; i++) {
    const r = await beat();
    if (r.status === 429) return { passed, limited: r, elapsedSeconds: (Date.now() - started) / 1000 };
    expect(r.status).toBe(200);
    passed++;
  }
  throw new Error(`no 429 after ${max} requests`);
}

/** Requests the bucket may have let through in `elapsedSeconds`, on top of what it held. */
const refilledIn = (elapsedSeconds: number) => Math.ceil(elapsedSeconds / REFILL_SECONDS);

describe('per-token rate limit', () => {
  it('answers 429 with Retry-After once a target token spends its budget; other tokens are unaffected', async () => {
    await api.call('POST', '/licenses', { body: licenseBody('lic-rl') });
    const a = await api.call('POST', '/targets', { body: targetBody('rl-a', 'saas', 'lic-rl', targetKeys().publicKey) });
    const b = await api.call('POST', '/targets', { body: targetBody('rl-b', 'saas', 'lic-rl', targetKeys().publicKey) });
    const { passed, limited, elapsedSeconds } = await untilLimited(() => api.call('POST', '/targets/rl-a/heartbeat', { token: a.body.token }), 4 * BUDGET);
    expect(passed).toBeGreaterThanOrEqual(BUDGET);
    expect(passed).toBeLessThanOrEqual(BUDGET + refilledIn(elapsedSeconds));
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED', type: 'urn:dcp:problem:RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api.call('POST', '/targets/rl-b/heartbeat', { token: b.body.token })).status).toBe(200);
    expect((await api.call('GET', '/targets/rl-a')).status).toBe(200);
  });

  it('refills one request per 60/budget seconds, whenever the burst happened (no fixed minute windows)', async () => {
    const c = await api.call('POST', '/targets', { body: targetBody('rl-c', 'saas', 'lic-rl', targetKeys().publicKey) });
    const beat = () => api.call('POST', '/targets/rl-c/heartbeat', { token: c.body.token });
    const started = Date.now();
    const burst = await Promise.all(Array.from({ length: BUDGET }, beat));
    expect(burst.map((r) => r.status)).toEqual(Array(BUDGET).fill(200));
    const first = await untilLimited(beat, 4 * BUDGET);
    expect(first.passed).toBeLessThanOrEqual(refilledIn((Date.now() - started) / 1000));
    const retryAfter = Number(first.limited.headers.get('retry-after'));
    // A fixed window would say "wait for the next minute"; the bucket has a request again within 3 s.
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(REFILL_SECONDS));
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
    // One request has refilled (more only for the time the requests themselves took): a new minute window
    // would have let the whole budget through again.
    const waitedFrom = Date.now();
    const after = await untilLimited(beat, 4 * BUDGET);
    expect(after.passed).toBeGreaterThanOrEqual(1);
    expect(after.passed).toBeLessThanOrEqual(1 + refilledIn((Date.now() - waitedFrom) / 1000));
    expect(after.passed).toBeLessThan(BUDGET);
  });
});
