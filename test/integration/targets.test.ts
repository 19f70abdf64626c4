// Targets, licenses, heartbeats and attestations through real HTTP on DynamoDB Local.
import { beforeAll, describe, expect, it } from 'vitest';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { useApi } from '../support/api.js';
import { attestation, licenseBody, targetBody, targetKeys } from '../support/fixtures.js';

const api = useApi();
const LIC = 'lic-targets';

beforeAll(async () => {
  expect((await api.call('POST', '/licenses', { body: licenseBody(LIC) })).status).toBe(201);
});

describe('licenses', () => {
  it('creates, reads and revokes with a reason; a second revoke is a 409', async () => {
    expect((await api.call('POST', '/licenses', { body: licenseBody('lic-r') })).status).toBe(201);
    expect((await api.call('POST', '/licenses', { body: licenseBody('lic-r') })).body.code).toBe('LICENSE_EXISTS');
    const got = await api.call('GET', '/licenses/lic-r');
    expect(got.body).toMatchObject({ id: 'lic-r', status: 'active', targetCount: 0 });
    const revoked = await api.call('POST', '/licenses/lic-r/revoke', { body: { reason: 'contract ended' } });
    expect(revoked.body).toMatchObject({ status: 'revoked', revokedReason: 'contract ended' });
    expect((await api.call('POST', '/licenses/lic-r/revoke', { body: { reason: 'again' } })).status).toBe(409);
    expect((await api.call('GET', '/licenses/nope')).status).toBe(404);
  });

  it('refuses registration past maxTargets', async () => {
    await api.call('POST', '/licenses', { body: licenseBody('lic-one', { entitlements: { modes: ['saas'], maxTargets: 1, features: [] } }) });
    const k = targetKeys();
    expect((await api.call('POST', '/targets', { body: targetBody('seat-1', 'saas', 'lic-one', k.publicKey) })).status).toBe(201);
    const second = await api.call('POST', '/targets', { body: targetBody('seat-2', 'saas', 'lic-one', k.publicKey) });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('LICENSE_MAX_TARGETS');
    expect((await api.call('GET', '/targets/seat-2')).status).toBe(404);
    // Decommissioning frees the seat.
    expect((await api.call('POST', '/targets/seat-1/decommission', { body: { reason: 'moved' } })).status).toBe(200);
    expect((await api.call('POST', '/targets', { body: targetBody('seat-2', 'saas', 'lic-one', k.publicKey) })).status).toBe(201);
  });
});

describe('registration', () => {
  it('answers the target once with a target token that works only for it', async () => {
    const k = targetKeys();
    const r = await api.call('POST', '/targets', { body: targetBody('reg-1', 'self-hosted', LIC, k.publicKey) });
    expect(r.status).toBe(201);
    expect(r.headers.get('etag')).toBe('"1"');
    expect(r.body.target).toMatchObject({ id: 'reg-1', status: 'registered', channel: 'stable', version: 1, installerLocked: false });
    expect(r.body.token).toMatch(/^dcp_/);
    const own = await api.call('GET', '/targets/reg-1', { token: r.body.token });
    expect(own.status).toBe(200);
    expect((await api.call('POST', '/targets/reg-1/heartbeat', { token: r.body.token })).status).toBe(200);
    expect((await api.call('GET', '/targets', { token: r.body.token })).status).toBe(403);
    const dup = await api.call('POST', '/targets', { body: targetBody('reg-1', 'self-hosted', LIC, k.publicKey) });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('TARGET_EXISTS');
  });

  it('checks only the shape: an incomplete white-label target registers, a malformed one is a 400 with paths', async () => {
    const k = targetKeys();
    const incomplete = targetBody('wl-incomplete', 'white-label', LIC, k.publicKey);
    delete (incomplete as Record<string, unknown>).whiteLabel;
    expect((await api.call('POST', '/targets', { body: incomplete })).status).toBe(201);

    const bad = await api.call('POST', '/targets', {
      body: { ...targetBody('bad-1', 'saas', LIC, 'bm90IGEga2V5'), mode: 'mainframe', surprise: 1 },
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['', '/mode', '/publicKey']));
    expect((await api.call('GET', '/targets/bad-1')).status).toBe(404);
  });

  it('keeps a billing account to one tenant', async () => {
    const k = targetKeys();
    const a = targetBody('wl-a', 'white-label', LIC, k.publicKey, { whiteLabel: { customDomain: 'a.example.com', brandingRef: 'b', billingAccountId: 'shared-bill' } });
    expect((await api.call('POST', '/targets', { body: a })).status).toBe(201);
    const sameTenant = { ...a, id: 'wl-a2' };
    expect((await api.call('POST', '/targets', { body: sameTenant })).status).toBe(201);
    const other = { ...a, id: 'wl-b', tenantId: 'tenant-b' };
    const r = await api.call('POST', '/targets', { body: other });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('BILLING_ACCOUNT_IN_USE');
    expect((await api.call('GET', '/targets/wl-b')).status).toBe(404);
  });
});

describe('listing, PATCH and tenant restriction', () => {
  it('filters by index and pages with a cursor', async () => {
    const k = targetKeys();
    for (let i = 0; i < 5; i++) {
      await api.call('POST', '/targets', { body: targetBody(`list-${i}`, 'saas', LIC, k.publicKey, { tenantId: 'tenant-list', channel: i < 3 ? 'beta' : 'stable' }) });
    }
    const all = await api.call('GET', '/targets?tenantId=tenant-list&limit=2');
    expect(all.body.items).toHaveLength(2);
    const next = await api.call('GET', `/targets?tenantId=tenant-list&limit=10&cursor=${encodeURIComponent(all.body.cursor)}`);
    expect(next.body.items).toHaveLength(3);
    const beta = await api.call('GET', '/targets?channel=beta&mode=saas&limit=50');
    expect(beta.body.items.map((t: { id: string }) => t.id).sort()).toEqual(['list-0', 'list-1', 'list-2']);
    expect((await api.call('GET', '/targets?limit=0')).status).toBe(400);
    expect((await api.call('GET', '/targets?color=red')).status).toBe(400);
  });

  it('PATCH needs If-Match and refuses a stale version', async () => {
    const k = targetKeys();
    await api.call('POST', '/targets', { body: targetBody('patch-1', 'saas', LIC, k.publicKey) });
    expect((await api.call('PATCH', '/targets/patch-1', { body: { name: 'x' } })).status).toBe(428);
    const ok = await api.call('PATCH', '/targets/patch-1', { body: { name: 'Renamed', channel: 'beta' }, headers: { 'if-match': '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ name: 'Renamed', channel: 'beta', version: 2 });
    expect(ok.body.channelMode).toBeUndefined();
    expect((await api.call('PATCH', '/targets/patch-1', { body: { name: 'y' }, headers: { 'if-match': '"1"' } })).status).toBe(412);
    expect((await api.call('PATCH', '/targets/patch-1', { body: { mode: 'saas' }, headers: { 'if-match': '"2"' } })).status).toBe(400);
  });

  it('a tenant-restricted operator sees only its tenant', async () => {
    const k = targetKeys();
    await api.call('POST', '/targets', { body: targetBody('ten-a', 'saas', LIC, k.publicKey, { tenantId: 'tenant-x' }) });
    await api.call('POST', '/targets', { body: targetBody('ten-b', 'saas', LIC, k.publicKey, { tenantId: 'tenant-y' }) });
    const token = await api.token(['operator', 'tenant:tenant-x']);
    expect((await api.call('GET', '/targets/ten-a', { token })).status).toBe(200);
    expect((await api.call('GET', '/targets/ten-b', { token })).status).toBe(404);
    const list = await api.call('GET', '/targets', { token });
    expect(list.body.items.every((t: { tenantId: string }) => t.tenantId === 'tenant-x')).toBe(true);
    expect((await api.call('POST', '/targets', { token, body: targetBody('ten-c', 'saas', LIC, k.publicKey, { tenantId: 'tenant-y' }) })).status).toBe(403);
  });
});

describe('heartbeats and attestations', () => {
  let token = '';
  const k = targetKeys();
  beforeAll(async () => {
    const r = await api.call('POST', '/targets', { body: targetBody('att-1', 'self-hosted', LIC, k.publicKey) });
    token = r.body.token;
  });

  it('a heartbeat records the time and runtime and answers the license status', async () => {
    const r = await api.call('POST', '/targets/att-1/heartbeat', { token, body: { runtime: { php: '8.4' } } });
    expect(r.status).toBe(200);
    expect(r.body.license).toMatchObject({ status: 'active' });
    const t = await api.call('GET', '/targets/att-1');
    expect(t.body.runtime).toEqual({ php: '8.4' });
    expect(t.body.lastHeartbeatAt).toEqual(expect.any(String));
    expect(t.body.version).toBe(1);
  });

  it('stores a passing attestation and refuses its replay', async () => {
    const signed = attestation('att-1', k.keys);
    const r = await api.call('POST', '/targets/att-1/attestations', { token, body: signed });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ result: 'passed', reasons: [] });
    const again = await api.call('POST', '/targets/att-1/attestations', { token, body: signed });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ATTESTATION_REPLAYED');
    expect((await api.call('GET', '/targets/att-1')).body.attestation).toMatchObject({ result: 'passed' });
  });

  it('stores failures: bad signature, appDebug true, future-dated, too old', async () => {
    const other = targetKeys();
    const cases = [
      { body: attestation('att-1', other.keys), reason: /signature/ },
      { body: attestation('att-1', k.keys, { flags: { appDebug: true } }), reason: /appDebug/ },
      { body: attestation('att-1', k.keys, { issuedAt: new Date(Date.now() + 3600_000).toISOString() }), reason: /future/ },
      { body: attestation('att-1', k.keys, { issuedAt: new Date(Date.now() - 3 * 86400_000).toISOString() }), reason: /older/ },
    ];
    for (const c of cases) {
      const r = await api.call('POST', '/targets/att-1/attestations', { token, body: c.body });
      expect(r.status).toBe(201);
      expect(r.body.result).toBe('failed');
      expect(r.body.reasons.join(' ')).toMatch(c.reason);
    }
  });

  it('refuses malformed statements with 400', async () => {
    const signed = attestation('att-1', k.keys);
    const cases = [
      { ...signed, signature: signed.signature.replace(/=*$/, '') },
      { ...signed, statement: { ...signed.statement, extra: 1 } },
      attestation('someone-else', k.keys),
      { statement: signed.statement },
    ];
    for (const body of cases) {
      const r = await api.call('POST', '/targets/att-1/attestations', { token, body });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
    }
  });
});

describe('unblock and decommission', () => {
  it('only a blocked target can be unblocked, with a reason, and it is audited', async () => {
    const k = targetKeys();
    await api.call('POST', '/targets', { body: targetBody('blk-1', 'saas', LIC, k.publicKey) });
    expect((await api.call('POST', '/targets/blk-1/unblock', { body: { reason: 'why not' } })).status).toBe(409);
    await api.tables.client.send(
      new UpdateItemCommand({
        TableName: `${api.tables.prefix}targets`,
        Key: { id: { S: 'blk-1' } },
        UpdateExpression: 'SET #s = :b, blockers = :bl',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':b': { S: 'blocked' }, ':bl': { L: [{ M: { code: { S: 'UNSUPPORTED_RUNTIME' }, message: { S: 'php 7' } } }] } },
      }),
    );
    const operator = await api.token(['operator']);
    expect((await api.call('POST', '/targets/blk-1/unblock', { token: operator, body: { reason: 'x' } })).status).toBe(403);
    expect((await api.call('POST', '/targets/blk-1/unblock', { body: {} })).status).toBe(400);
    const r = await api.call('POST', '/targets/blk-1/unblock', { body: { reason: 'runtime upgraded by customer' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'registered', blockers: [] });
    const audit = await api.call('GET', '/audit?targetId=blk-1');
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(['target.registered', 'target.unblocked']);
    expect((await api.call('GET', '/audit/verify?targetId=blk-1')).body.valid).toBe(true);
  });

  it('decommissioning revokes the target token', async () => {
    const k = targetKeys();
    const reg = await api.call('POST', '/targets', { body: targetBody('dec-1', 'saas', LIC, k.publicKey) });
    expect((await api.call('POST', '/targets/dec-1/decommission', { body: { reason: 'customer left' } })).body.status).toBe('decommissioned');
    expect((await api.call('GET', '/targets/dec-1', { token: reg.body.token })).status).toBe(401);
    expect((await api.call('POST', '/targets/dec-1/decommission', { body: { reason: 'again' } })).status).toBe(409);
  });
});

describe('maintenance windows', () => {
  it('refuses a cron expression that is malformed or can never match, with its reason', async () => {
    const k = targetKeys();
    for (const [cron, reason] of [
      ['0 3 * *', /5 fields/],
      ['0 0 30 2 *', /never matches/],
      ['61 * * * *', /outside 0-59/],
    ] as const) {
      const r = await api.call('POST', '/targets', { body: targetBody(`mw-${cron.length}`, 'self-hosted', LIC, k.publicKey, { maintenanceWindow: { cron, durationMinutes: 60 } }) });
      expect(r.status, cron).toBe(400);
      expect(r.body.errors).toEqual([expect.objectContaining({ path: '/maintenanceWindow/cron', message: expect.stringMatching(reason) })]);
    }
    const ok = await api.call('POST', '/targets', { body: targetBody('mw-ok', 'self-hosted', LIC, k.publicKey, { maintenanceWindow: { cron: '0 3 * * 0', durationMinutes: 120 } }) });
    expect(ok.status).toBe(201);
  });
});
