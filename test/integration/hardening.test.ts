// Issue #10 (hardening): what a hostile or careless client found, each through real HTTP on DynamoDB Local.
import { createHash, createHmac } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { attestation, licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { sampleSigned, signedBy, testKey } from '../unit/crypto/release-fixtures.js';
import { canonicalBytes } from '../../functions/core/crypto/canonical.js';
import { encodeBase64 } from '../../functions/core/crypto/base64.js';
import { sign } from '../../functions/core/crypto/ed25519.js';

const api = useApi();
const signer = testKey('hardening-signer');
const future = () => new Date(Date.now() + 90 * 86400_000).toISOString();
const LIC = 'lic-hardening';

beforeAll(async () => {
  expect((await api.call('POST', '/licenses', { body: licenseBody(LIC) })).status).toBe(201);
  expect((await api.call('POST', '/signing-keys', { body: { keyId: signer.keyId, publicKey: signer.publicKeyBase64 } })).status).toBe(201);
});

describe('F3: .env parsing is linear and does not stall other requests', () => {
  const N = 256 * 1024;
  const texts: Record<string, string> = {
    'unterminated double quote over many lines': 'A="' + 'x\n'.repeat(N / 2).slice(0, N - 3),
    'unterminated single quote over many lines': "A='" + 'x\n'.repeat(N / 2).slice(0, N - 3),
    'a long run of blanks before a value': 'A=' + ' \t'.repeat(N / 2 - 2) + 'x',
    'backslashes in an open quote': 'A="' + '\\'.repeat(N - 3),
    'many short assignments': 'APP_KEY=x\n'.repeat(N / 10),
  };
  let auditor = '';
  beforeAll(async () => {
    auditor = await api.token(['auditor']);
    // Load the route's module first: the local gateway imports a handler on its first request (a cold start).
    expect((await api.call('POST', '/packaging/validate-config', { token: auditor, body: { mode: 'saas', env: 'A=b' } })).status).toBe(200);
  });

  /** The slowest of a few /healthz probes with nothing else of ours running: the machine's own noise. */
  async function idleProbe() {
    let slowest = 0;
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await api.call('GET', '/healthz', { token: null });
      slowest = Math.max(slowest, performance.now() - t);
    }
    return slowest;
  }

  /** One validation with /healthz probed back to back while it runs: its time and the slowest probe. */
  async function measure(env: string) {
    const started = performance.now();
    let done = false;
    const pending = api.call('POST', '/packaging/validate-config', { token: auditor, body: { mode: 'saas', env } }).finally(() => (done = true));
    const health: number[] = [];
    while (!done) {
      const t = performance.now();
      const h = await api.call('GET', '/healthz', { token: null });
      expect(h.status).toBe(200);
      health.push(performance.now() - t);
    }
    const r = await pending;
    return { r, elapsed: performance.now() - started, slowestProbe: Math.max(0, ...health) };
  }

  for (const [name, env] of Object.entries(texts)) {
    it(`256 KiB: ${name} answers within 1 s while /healthz stays under 50 ms`, async () => {
      // This machine is shared: a measurement disturbed by other load is repeated, up to three times.
      // Under a loaded machine (the whole suite on two shared cores) probes are slow without any validation:
      // the bound is 50 ms above the idle probes' slowest, measured right before.
      let noise = await idleProbe();
      let m = await measure(env);
      for (let attempt = 2; attempt <= 3 && (m.elapsed >= 1000 || m.slowestProbe >= 50 + noise); attempt++) {
        noise = await idleProbe();
        m = await measure(env);
      }
      expect(m.r.status, m.r.text.slice(0, 300)).toBe(200);
      expect(m.r.body.valid).toBe(false);
      expect(m.r.body.violations.length).toBeLessThanOrEqual(200);
      expect(m.elapsed).toBeLessThan(1000);
      expect(m.slowestProbe).toBeLessThan(50 + noise);
    });
  }
});

describe('F4: rejected or future-dated attestations never shadow later good ones', () => {
  it('a garbage statement dated a year ahead does not pin the target; the next good statement is the latest', async () => {
    const k = targetKeys();
    const reg = await api.call('POST', '/targets', { body: targetBody('att-shadow', 'self-hosted', LIC, k.publicKey) });
    expect(reg.status, reg.text).toBe(201);
    const token = reg.body.token as string;
    const ahead = new Date(Date.now() + 365 * 86400_000).toISOString();
    const garbage = { ...attestation('att-shadow', k.keys, { issuedAt: ahead, flags: { appDebug: true } }), signature: encodeBase64(new Uint8Array(64).fill(7)) };
    const bad = await api.call('POST', '/targets/att-shadow/attestations', { token, body: garbage });
    expect(bad.status, bad.text).toBe(201);
    expect(bad.body.result).toBe('failed');
    // A validly signed but future-dated one does not become the latest either.
    const aheadSigned = await api.call('POST', '/targets/att-shadow/attestations', { token, body: attestation('att-shadow', k.keys, { issuedAt: ahead }) });
    expect(aheadSigned.body.result).toBe('failed');
    expect((await api.call('GET', '/targets/att-shadow')).body.attestation).toBeUndefined();

    const good = await api.call('POST', '/targets/att-shadow/attestations', { token, body: attestation('att-shadow', k.keys) });
    expect(good.status).toBe(201);
    expect(good.body.result).toBe('passed');
    const t = await api.call('GET', '/targets/att-shadow');
    expect(t.body.attestation).toMatchObject({ result: 'passed' });
    const d = await api.call('POST', '/decisions', { body: { targetId: 'att-shadow', releaseId: '9.9.9', action: 'provision' } });
    expect(d.status).toBe(200);
    expect(d.body.blockers.map((b: { code: string }) => b.code)).not.toContain('ATTESTATION_FAILED');
  });
});

describe('F9: "__proto__" is never dropped silently', () => {
  function manifest(version: string, extra: Record<string, unknown>) {
    return sampleSigned({ version, publishedAt: new Date().toISOString(), expiresAt: future(), ...extra });
  }

  it('a manifest whose signed part carries an uncovered "__proto__" member is refused, not published', async () => {
    const env = signedBy(manifest('7.0.0', {}), signer);
    const text = JSON.stringify(env).replace('"_type":', '"__proto__":{"x":1},"_type":');
    expect(text).toContain('__proto__');
    const r = await api.call('POST', '/releases', { raw: text });
    expect(r.status, r.text).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await api.call('GET', '/releases/7.0.0')).status).toBe(404);
  });

  it('one whose signature covers "__proto__" is refused the same way (400), not as a bad signature', async () => {
    const signed = JSON.parse('{"__proto__":{"x":1}}') as Record<string, unknown>;
    Object.assign(signed, manifest('7.0.1', {}));
    expect(Object.keys(signed)).toContain('__proto__');
    let message: Uint8Array | undefined;
    try {
      message = canonicalBytes(signed);
    } catch {
      message = new TextEncoder().encode(JSON.stringify(signed));
    }
    const text = JSON.stringify({ signed, signatures: [{ keyId: signer.keyId, sig: encodeBase64(sign(message, signer.secretKey)) }] });
    const r = await api.call('POST', '/releases', { raw: text });
    expect(r.status, r.text).toBe(400);
    expect(r.body.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(r.body.errors)).toMatch(/__proto__/);
  });

  it('validate-config refuses an env object with a "__proto__" member instead of ignoring it', async () => {
    const r = await api.call('POST', '/packaging/validate-config', { raw: '{"mode":"saas","env":{"__proto__":5,"APP_DEBUG":"true"}}' });
    expect(r.status, r.text).toBe(400);
    expect(JSON.stringify(r.body.errors)).toMatch(/__proto__/);
  });
});

describe('F10: invalid UTF-8 in a body is refused', () => {
  it('answers 400 with a problem document and stores nothing', async () => {
    const head = Buffer.from('{"id":"lic-utf8","customerId":"c', 'utf8');
    const tail = Buffer.from(JSON.stringify(licenseBody('lic-utf8')).replace(/^\{"id":"lic-utf8","customerId":"cust-1/, ''), 'utf8');
    const body = Buffer.concat([head, Buffer.from([0xff, 0xfe, 0xc3]), tail]);
    const r = await api.call('POST', '/licenses', { raw: body });
    expect(r.status, r.text).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/problem\+json/);
    expect(r.body.detail).toMatch(/UTF-8/);
    expect((await api.call('GET', '/licenses/lic-utf8')).status).toBe(404);
  });

  it('still accepts U+FFFD sent escaped', async () => {
    const r = await api.call('POST', '/licenses', { raw: JSON.stringify(licenseBody('lic-fffd', { customerId: 'c' })).replace('"c"', '"c\\ufffd"') });
    expect(r.status, r.text).toBe(400); // customerId is an identifier; the point is that the refusal is the schema's
    expect(r.body.code).not.toBe('MALFORMED_JSON');
  });
});

describe('F11: a token takes at most one tenant restriction', () => {
  it('two tenant: scopes answer 400 and mint nothing', async () => {
    const before = (await api.call('GET', '/tokens?limit=100')).body.items.length;
    const r = await api.call('POST', '/tokens', { body: { scopes: ['operator', 'tenant:a', 'tenant:b'] } });
    expect(r.status, r.text).toBe(400);
    expect(r.body.errors[0].path).toBe('/scopes');
    expect((await api.call('GET', '/tokens?limit=100')).body.items.length).toBe(before);
    const one = await api.call('POST', '/tokens', { body: { scopes: ['operator', 'tenant:a', 'tenant:a'] } });
    expect(one.status).toBe(201);
  });
});

describe('F6: a license never has more live targets than maxTargets', () => {
  it('registration takes a seat in its transaction, needs the license to exist, and decommissioning frees only a held seat', async () => {
    const body = (id: string) => targetBody(id, 'saas', 'lic-seat', targetKeys().publicKey);
    // Before the license exists nothing is registered (it would take no seat).
    const early = await api.call('POST', '/targets', { body: body('seat-early') });
    expect(early.status, early.text).toBe(400);
    expect(early.body.code).toBe('LICENSE_NOT_FOUND');
    expect((await api.call('GET', '/targets/seat-early')).status).toBe(404);

    expect((await api.call('POST', '/licenses', { body: licenseBody('lic-seat', { entitlements: { modes: ['saas'], maxTargets: 1, features: [] } }) })).status).toBe(201);
    // Concurrent registrations: exactly one takes the seat.
    const rs = await Promise.all(['seat-1', 'seat-2', 'seat-3'].map((id) => api.call('POST', '/targets', { body: body(id) })));
    expect(rs.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    const holder = rs.find((r) => r.status === 201)!.body.target.id as string;
    expect((await api.call('GET', '/licenses/lic-seat')).body.targetCount).toBe(1);

    expect((await api.call('POST', `/targets/${holder}/decommission`, { body: { reason: 'moved' } })).status).toBe(200);
    expect((await api.call('GET', '/licenses/lic-seat')).body.targetCount).toBe(0);
    const next = await api.call('POST', '/targets', { body: body('seat-4') });
    expect(next.status, next.text).toBe(201);
    expect((await api.call('POST', '/targets', { body: body('seat-5') })).status).toBe(409);
    expect((await api.call('GET', '/licenses/lic-seat')).body.targetCount).toBe(1);
  });
});

describe('F7 + O1: a tenant-restricted operator reaches nothing of other tenants', () => {
  let tenantOp = '';
  beforeAll(async () => {
    tenantOp = await api.token(['operator', 'tenant:tenant-a']);
    const own = await api.call('POST', '/licenses', { body: licenseBody('lic-tenant-a', { customerId: 'tenant-a' }) });
    expect(own.status).toBe(201);
    const pub = await api.call('POST', '/releases', { body: signedBy(sampleSigned({ version: '8.0.0', publishedAt: new Date().toISOString(), expiresAt: future() }), signer) });
    expect(pub.status, pub.text).toBe(201);
  });

  it('may not publish or revoke releases (they reach every tenant)', async () => {
    const r = await api.call('POST', '/releases', { token: tenantOp, body: signedBy(sampleSigned({ version: '8.1.0', publishedAt: new Date().toISOString(), expiresAt: future() }), signer) });
    expect(r.status, r.text).toBe(403);
    expect((await api.call('GET', '/releases/8.1.0')).status).toBe(404);
    const revoke = await api.call('POST', '/releases/8.0.0/revoke', { token: tenantOp, body: { reason: 'not mine' } });
    expect(revoke.status).toBe(403);
    expect((await api.call('GET', '/releases/8.0.0')).body.status).not.toBe('revoked');
    expect((await api.call('POST', '/rollouts', { token: tenantOp, body: { releaseId: '8.0.0' } })).status).toBe(403);
  });

  it("may not read another customer's license or register targets on it; its own customer's it may", async () => {
    expect((await api.call('GET', `/licenses/${LIC}`, { token: tenantOp })).status).toBe(404);
    const before = (await api.call('GET', `/licenses/${LIC}`)).body.targetCount;
    const foreign = await api.call('POST', '/targets', { token: tenantOp, body: targetBody('ten-foreign', 'saas', LIC, targetKeys().publicKey, { tenantId: 'tenant-a' }) });
    expect(foreign.status, foreign.text).toBe(403);
    expect((await api.call('GET', `/licenses/${LIC}`)).body.targetCount).toBe(before);
    expect((await api.call('GET', '/licenses/lic-tenant-a', { token: tenantOp })).status).toBe(200);
    const own = await api.call('POST', '/targets', { token: tenantOp, body: targetBody('ten-own', 'saas', 'lic-tenant-a', targetKeys().publicKey, { tenantId: 'tenant-a' }) });
    expect(own.status, own.text).toBe(201);
  });
});

describe('F2: cursors are authenticated with a keyed MAC and checked against their query', () => {
  const edit = (cursor: string, change: (p: { k: Record<string, unknown>; q: string }) => void) => {
    const [payload] = cursor.split('.');
    const p = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    change(p);
    return Buffer.from(JSON.stringify(p), 'utf8').toString('base64url');
  };
  /** The old scheme's unkeyed checksum, recomputed by an attacker over the edited payload. */
  const rechecksum = (payload: string) => `${payload}.${createHash('sha256').update(payload).digest('base64url').slice(0, 16)}`;
  const withMac = async (payload: string) => {
    const { cursorSecret } = await import('../../functions/adapters/cursor-secret.js');
    const mac = createHmac('sha256', await cursorSecret()).update('dcp:cursor:v2\n').update(payload).digest('base64url');
    return `${payload}.${mac}`;
  };

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const r = await api.call('POST', '/targets', { body: targetBody(`cur-a-${i}`, 'saas', LIC, targetKeys().publicKey, { tenantId: 'cur-a' }) });
      expect(r.status).toBe(201);
      expect((await api.call('POST', '/targets', { body: targetBody(`cur-b-${i}`, 'saas', LIC, targetKeys().publicKey, { tenantId: 'cur-b' }) })).status).toBe(201);
    }
    for (const version of ['9.0.0', '9.1.0']) {
      const r = await api.call('POST', '/releases', { body: signedBy(sampleSigned({ version, publishedAt: new Date().toISOString(), expiresAt: future() }), signer) });
      expect(r.status, r.text).toBe(201);
    }
  });

  const lists = ['/targets?limit=1', '/targets?limit=1&tenantId=cur-a', '/targets?limit=1&status=registered', '/tokens?limit=1', '/releases?limit=1', '/releases?limit=1&channel=stable', '/signing-keys?limit=1'];

  for (const path of lists) {
    it(`${path}: an edited cursor with a recomputed checksum, or a forged MAC, is a 400 problem`, async () => {
      const first = await api.call('GET', path);
      expect(first.status, first.text).toBe(200);
      const cursor = first.body.cursor as string | null;
      if (cursor === null) return expect.fail(`${path} has a single page`);
      expect((await api.call('GET', `${path}&cursor=${encodeURIComponent(cursor)}`)).status).toBe(200);
      const payloads = [
        edit(cursor, (p) => (p.k = Object.fromEntries(Object.keys(p.k).map((n) => [n, 42])))),
        edit(cursor, (p) => (p.k = { ...p.k, id: 'zzz' })),
        edit(cursor, (p) => (p.k = { nope: 'x' })),
      ];
      for (const payload of payloads) {
        for (const forged of [rechecksum(payload), `${payload}.${createHmac('sha256', 'guess').update(payload).digest('base64url')}`]) {
          const r = await api.call('GET', `${path}&cursor=${encodeURIComponent(forged)}`);
          expect(r.status, `${forged}: ${r.text}`).toBe(400);
          expect(r.body.code).toBe('INVALID_CURSOR');
        }
      }
    });
  }

  it('even a correctly tagged cursor whose key does not fit the query (types, attributes, partition) is a 400, never a 500', async () => {
    const tenantA = await api.token(['operator', 'tenant:cur-a']);
    const first = await api.call('GET', '/targets?limit=1', { token: tenantA });
    expect(first.status).toBe(200);
    const cursor = first.body.cursor as string;
    expect(cursor).toEqual(expect.any(String));
    const cases = [
      edit(cursor, (p) => (p.k = { ...p.k, id: 7 })), // Type mismatch
      edit(cursor, (p) => (p.k = { ...p.k, tenantId: 'cur-b' })), // another tenant's partition
      edit(cursor, (p) => (p.k = { id: p.k.id })), // the base table's key on an index query
      edit(cursor, (p) => (p.k = { ...p.k, extra: 'x' })),
    ];
    for (const payload of cases) {
      const r = await api.call('GET', `/targets?limit=1&cursor=${encodeURIComponent(await withMac(payload))}`, { token: tenantA });
      expect(r.status, r.text).toBe(400);
      expect(r.body.code).toBe('INVALID_CURSOR');
    }
    // A cursor of one tenant's query does not continue another's.
    const b = await api.call('GET', '/targets?limit=1&tenantId=cur-b');
    const r = await api.call('GET', `/targets?limit=1&cursor=${encodeURIComponent(b.body.cursor)}`, { token: tenantA });
    expect(r.status).toBe(400);
  });

  it('/targets/{id}/commands and /targets/{id}/executions refuse a tagged cursor moved to another target or retyped', async () => {
    for (const route of ['commands', 'executions']) {
      const key = route === 'commands' ? { id: 'c1', targetId: 'cur-b-0', createdAt: new Date().toISOString() } : { id: 'e1', targetId: 'cur-b-0', startedAt: new Date().toISOString() };
      const { queryFingerprint } = await import('../../functions/core/cursor.js');
      const q = route === 'commands' ? queryFingerprint(['commands', 'cur-a-0', true]) : queryFingerprint(['executions', 'cur-a-0']);
      for (const k of [key, { ...key, targetId: 'cur-a-0', id: 12 }]) {
        const payload = Buffer.from(JSON.stringify({ k, q }), 'utf8').toString('base64url');
        const r = await api.call('GET', `/targets/cur-a-0/${route}?cursor=${encodeURIComponent(await withMac(payload))}`);
        expect(r.status, `${route} ${JSON.stringify(k)}: ${r.text}`).toBe(400);
        expect(r.body.code).toBe('INVALID_CURSOR');
      }
    }
  });
});

describe('F8: concurrent decisions on one target', () => {
  it('200 decisions at 20 in flight on ONE target: no non-2xx, a valid chain, every decision audited', async () => {
    const reg = await api.call('POST', '/targets', { body: targetBody('hot-target', 'saas', LIC, targetKeys().publicKey) });
    expect(reg.status, reg.text).toBe(201);
    const TOTAL = 200;
    const IN_FLIGHT = 20;
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < TOTAL) {
          next++;
          const r = await api.call('POST', '/decisions', { body: { targetId: 'hot-target', releaseId: '9.9.9', action: 'provision' } });
          statuses.push(r.status);
        }
      }),
    );
    expect(statuses.length).toBe(TOTAL);
    expect(statuses.filter((s) => s < 200 || s >= 300)).toEqual([]);
    const verify = await api.call('GET', '/audit/verify?targetId=hot-target');
    expect(verify.body).toMatchObject({ valid: true });
    let decisions = 0;
    let cursor: string | null = null;
    do {
      const page: { body: { items: { action: string }[]; cursor: string | null } } = await api.call('GET', `/audit?targetId=hot-target&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      decisions += page.body.items.filter((i) => i.action === 'decision.made').length;
      cursor = page.body.cursor;
    } while (cursor);
    expect(decisions).toBe(TOTAL);
    // Nothing is left parked: every pending item was chained and withdrawn by its writer.
    const { QueryCommand } = await import('@aws-sdk/client-dynamodb');
    const { pendingPartition } = await import('../../functions/adapters/audit.js');
    const { localTableName } = await import('../../functions/core/tables.js');
    const left = await api.tables.client.send(new QueryCommand({ TableName: localTableName(api.tables.prefix, 'audit'), KeyConditionExpression: '#s = :p', ExpressionAttributeNames: { '#s': 'stream' }, ExpressionAttributeValues: { ':p': { S: pendingPartition('target:hot-target') } }, ConsistentRead: true }));
    expect(left.Items ?? []).toEqual([]);
  }, 120_000);
});
