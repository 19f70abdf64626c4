// Releases and signing keys through real HTTP: publish verification, anti-rollback, rotation, revocation.
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { sampleSigned, signedBy, testKey } from '../unit/crypto/release-fixtures.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';

const api = useApi();
const k1 = testKey('integration-1');
const k2 = testKey('integration-2');
const k3 = testKey('integration-3');
const future = () => new Date(Date.now() + 180 * 86400_000).toISOString();
const signed = (version: string, extra: Record<string, unknown> = {}) =>
  sampleSigned({ version, artifacts: [{ name: `app-${version}.zip`, kind: 'zip', sha256: 'a'.repeat(64), size: 10 }], publishedAt: new Date().toISOString(), expiresAt: future(), minUpgradeFrom: '0.1.0', ...extra });

async function addKey(k: ReturnType<typeof testKey>) {
  const r = await api.call('POST', '/signing-keys', { body: { keyId: k.keyId, publicKey: k.publicKeyBase64 } });
  expect(r.status).toBe(201);
}

beforeAll(async () => {
  await addKey(k1);
  await addKey(k2);
});

describe('signing keys', () => {
  it('lists keys and refuses a key whose id is not its hash, or a second registration', async () => {
    const list = await api.call('GET', '/signing-keys');
    expect(list.body.items.map((k: { keyId: string }) => k.keyId).sort()).toEqual([k1.keyId, k2.keyId].sort());
    const wrong = await api.call('POST', '/signing-keys', { body: { keyId: k2.keyId, publicKey: k3.publicKeyBase64 } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors[0].path).toBe('/keyId');
    expect((await api.call('POST', '/signing-keys', { body: { keyId: k1.keyId, publicKey: k1.publicKeyBase64 } })).status).toBe(409);
  });
});

describe('publishing', () => {
  it('publishes a manifest signed by a trusted key, and refuses to publish it again', async () => {
    const manifest = signedBy(signed('1.0.0'), k1);
    const r = await api.call('POST', '/releases', { body: manifest });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ id: '1.0.0', status: 'published', validSignerKeyIds: [k1.keyId], requiredVersionsBefore: [] });
    const again = await api.call('POST', '/releases', { body: manifest });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('RELEASE_EXISTS');
  });

  it('refuses a downgrade on the channel but allows the version on another channel only if unique', async () => {
    const lower = await api.call('POST', '/releases', { body: signedBy(signed('0.9.0'), k1) });
    expect(lower.status).toBe(409);
    expect(lower.body.code).toBe('RELEASE_DOWNGRADE');
    const beta = await api.call('POST', '/releases', { body: signedBy(signed('0.9.0-beta.1', { channel: 'beta' }), k1) });
    expect(beta.status).toBe(201);
  });

  it('records required releases so later ones carry them', async () => {
    expect((await api.call('POST', '/releases', { body: signedBy(signed('1.1.0', { required: true }), k1) })).status).toBe(201);
    const r = await api.call('POST', '/releases', { body: signedBy(signed('1.2.0'), k1) });
    expect(r.body.requiredVersionsBefore).toEqual(['1.1.0']);
  });

  it.each([
    ['an unknown key', () => signedBy(signed('5.0.0'), k3), 400, 'RELEASE_SIGNATURE_INVALID'],
    ['a tampered manifest', () => ({ ...signedBy(signed('5.0.1'), k1), signed: signed('5.0.2') }), 400, 'RELEASE_SIGNATURE_INVALID'],
    ['no signatures', () => ({ signed: signed('5.0.3'), signatures: [] }), 400, 'RELEASE_SIGNATURE_INVALID'],
    ['an expired manifest', () => signedBy(signed('5.0.4', { publishedAt: '2025-06-01T00:00:00Z', expiresAt: '2026-01-01T00:00:00Z' }), k1), 400, 'RELEASE_EXPIRED'],
    ['APP_DEBUG=true', () => signedBy(signed('5.0.5', { config: { APP_DEBUG: 'true', APP_ENV: 'production' } }), k1), 400, 'RELEASE_CONFIG_INVALID'],
    ['unordered migrations', () => signedBy(signed('5.0.6', { migrations: [{ id: 'b', checksum: 'ab'.repeat(16), backwardCompatible: true }, { id: 'a', checksum: 'cd'.repeat(16), backwardCompatible: true }] }), k1), 400, 'RELEASE_MANIFEST_INVALID'],
    ['an envelope with an extra member', () => ({ ...signedBy(signed('5.0.7'), k1), note: 'x' }), 400, 'RELEASE_MANIFEST_INVALID'],
  ])('refuses %s', async (_name, build, status, code) => {
    const before = (await api.call('GET', '/audit/verify?stream=control')).body.head.seq;
    const r = await api.call('POST', '/releases', { body: build() });
    expect(r.status).toBe(status);
    expect(r.body).toMatchObject({ code, type: `urn:dcp:problem:${code}` });
    expect((await api.call('GET', '/audit/verify?stream=control')).body.head.seq).toBe(before);
  });

  it('refuses duplicate member names anywhere in the body', async () => {
    const text = JSON.stringify(signedBy(signed('5.1.0'), k1)).replace('"name":"app"', '"name":"app","name":"evil"');
    const r = await api.call('POST', '/releases', { raw: text });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('MALFORMED_JSON');
  });

  it('honours the provisioning policy threshold of distinct active keys', async () => {
    const put = await api.call('PUT', '/provisioning-policy', {
      body: { document: { ...DEFAULT_POLICIES.provisioning, signatureThreshold: 2 } },
      headers: { 'if-match': '"0"' },
    });
    expect(put.status).toBe(200);
    const one = await api.call('POST', '/releases', { body: signedBy(signed('2.0.0'), k1) });
    expect(one.status).toBe(400);
    expect(one.body.code).toBe('RELEASE_SIGNATURE_INVALID');
    const two = await api.call('POST', '/releases', { body: signedBy(signed('2.0.0'), k1, k2) });
    expect(two.status, JSON.stringify(two.body)).toBe(201);
    expect(two.body.validSignerKeyIds.sort()).toEqual([k1.keyId, k2.keyId].sort());
    const back = await api.call('PUT', '/provisioning-policy', { body: { document: DEFAULT_POLICIES.provisioning }, headers: { 'if-match': '"1"' } });
    expect(back.status).toBe(200);
  });

  it('a revoked key no longer signs new releases', async () => {
    await addKey(k3);
    expect((await api.call('POST', `/signing-keys/${k3.keyId}/revoke`, { body: { reason: 'laptop lost' } })).body.status).toBe('revoked');
    const r = await api.call('POST', '/releases', { body: signedBy(signed('3.0.0'), k3) });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('RELEASE_SIGNATURE_INVALID');
    expect((await api.call('POST', `/signing-keys/${k3.keyId}/revoke`)).status).toBe(409);
  });
});

describe('revocation and reads', () => {
  it('revokes a release with a reason, once', async () => {
    expect((await api.call('POST', '/releases', { body: signedBy(signed('3.1.0'), k1) })).status).toBe(201);
    const r = await api.call('POST', '/releases/3.1.0/revoke', { body: { reason: 'broken migration' } });
    expect(r.body).toMatchObject({ status: 'revoked', revokedReason: 'broken migration' });
    expect((await api.call('POST', '/releases/3.1.0/revoke', { body: { reason: 'x' } })).status).toBe(409);
    expect((await api.call('GET', '/releases/3.1.0')).body.status).toBe('revoked');
    expect((await api.call('GET', '/releases/9.9.9')).status).toBe(404);
    const list = await api.call('GET', '/releases?channel=stable&limit=2');
    expect(list.body.items.map((x: { id: string }) => x.id)).toEqual(['3.1.0', '2.0.0']);
  });
});

describe('packaging', () => {
  it('validates a config given as .env text or as an object', async () => {
    const bad = await api.call('POST', '/packaging/validate-config', { body: { mode: 'self-hosted', env: 'APP_DEBUG=true\nAPP_ENV=local\nDB_PASSWORD=hunter2\n' } });
    expect(bad.status).toBe(200);
    expect(bad.body.valid).toBe(false);
    const codes = bad.body.violations.map((v: { key: string }) => v.key);
    expect(codes).toEqual(expect.arrayContaining(['APP_DEBUG', 'APP_ENV', 'DB_PASSWORD']));
    expect(JSON.stringify(bad.body)).not.toContain('hunter2');
  });
});
