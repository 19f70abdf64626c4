// Machine clients are held to a per-token budget of requests per minute, on top of API Gateway's stage
// and route throttling (SPEC §5).
import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { licenseBody, targetBody, targetKeys } from '../support/fixtures.js';

// Set on the deployed functions, as a configuration update of their environment would.
const api = useApi({ functionEnvironment: { DCP_TARGET_TOKEN_RATE_PER_MINUTE: '5' } });

describe('per-token rate limit', () => {
  it('answers 429 with Retry-After once a target token spends its budget; other tokens are unaffected', async () => {
    // Start at the beginning of a minute window so the six calls share one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
    await api.call('POST', '/licenses', { body: licenseBody('lic-rl') });
    const a = await api.call('POST', '/targets', { body: targetBody('rl-a', 'saas', 'lic-rl', targetKeys().publicKey) });
    const b = await api.call('POST', '/targets', { body: targetBody('rl-b', 'saas', 'lic-rl', targetKeys().publicKey) });
    for (let i = 0; i < 5; i++) expect((await api.call('POST', '/targets/rl-a/heartbeat', { token: a.body.token })).status).toBe(200);
    const limited = await api.call('POST', '/targets/rl-a/heartbeat', { token: a.body.token });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED', type: 'urn:dcp:problem:RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api.call('POST', '/targets/rl-b/heartbeat', { token: b.body.token })).status).toBe(200);
    expect((await api.call('GET', '/targets/rl-a')).status).toBe(200);
  });
});
