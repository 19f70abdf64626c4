import { createPublicKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import fc from 'fast-check';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict, encodeBase64 } from '../../functions/core/crypto/base64.js';
import { canonicalBytes } from '../../functions/core/crypto/canonical.js';
import { keyIdOf, verify } from '../../functions/core/crypto/ed25519.js';
import { JsonSyntaxError, parseJsonStrict } from '../../functions/core/json.js';
import {
  checkSignedContent,
  judgeSignatures,
  manifestProblem,
  newSigningKeyRecord,
  signManifest,
  verifyManifest,
  versionKey,
  type VerifyManifestOptions,
} from '../../functions/core/manifest.js';
import { addSigningKeyBody, publishReleaseBody, validateConfigBody } from '../../functions/core/schemas/releases.js';
import { keyRecord, RECEIVED_AT, sampleSigned, signedBy, testKey } from './crypto/release-fixtures.js';

const alice = testKey('alice');
const bob = testKey('bob');
const carol = testKey('carol');

function options(overrides: Partial<VerifyManifestOptions> = {}): VerifyManifestOptions {
  return { trustedKeys: [keyRecord(alice), keyRecord(bob)], threshold: 1, now: RECEIVED_AT, channelVersions: [], ...overrides };
}

function expectRejected(result: ReturnType<typeof verifyManifest>, code: string, status: number) {
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (!result.ok) {
    expect(result.code).toBe(code);
    expect(result.status).toBe(status);
  }
  return result.ok ? undefined : result;
}

describe('verifyManifest: accepted manifests', () => {
  it('turns a well-signed manifest into a release draft', () => {
    const manifest = signedBy(sampleSigned(), alice);
    const result = verifyManifest(manifest, options());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.validSignerKeyIds).toEqual([alice.keyId]);
    expect(result.release).toMatchObject({
      id: '2.4.0', version: '2.4.0', channel: 'stable', name: 'app', versionKey: versionKey('2.4.0'),
      required: false, minUpgradeFrom: '2.0.0', validSignerKeyIds: [alice.keyId],
      modes: ['saas', 'self-hosted', 'white-label', 'enterprise-private-cloud'],
    });
    expect(result.release.manifest).toEqual(manifest);
    expect(result.release.migrations.map((m) => m.id)).toEqual(['2026_10_01_000001_create_tenants', '2026_11_01_000001_add_invoices']);
  });

  it('verifies a manifest signed by an independent implementation (node:crypto)', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
    const signed = sampleSigned();
    const sig = nodeSign(null, canonicalBytes(signed), privateKey).toString('base64');
    const keyId = keyIdOf(raw);
    const manifest = { signed, signatures: [{ keyId, sig }] };
    const trusted = { keyId, publicKey: encodeBase64(raw), status: 'active' as const, notBefore: '2026-01-01T00:00:00Z', createdAt: '2026-01-01T00:00:00Z' };
    const result = verifyManifest(manifest, options({ trustedKeys: [trusted] }));
    expect(result).toMatchObject({ ok: true, validSignerKeyIds: [keyId] });
    expect(createPublicKey(privateKey).export({ format: 'jwk' }).x).toBe(publicKey.export({ format: 'jwk' }).x);
  });

  it('keeps and covers fields beyond the schema in `signed`', () => {
    const manifest = signedBy(sampleSigned({ releaseNotes: 'https://example.com/2.4.0', extra: { a: [1, 2] } }), alice);
    const result = verifyManifest(manifest, options());
    expect(result.ok && result.release.manifest.signed.releaseNotes).toBe('https://example.com/2.4.0');
    const tampered = { ...manifest, signed: { ...manifest.signed, extra: { a: [1, 3] } } };
    expectRejected(verifyManifest(tampered, options()), 'RELEASE_SIGNATURE_INVALID', 400);
  });

  it('accepts a pre-release above every version on its channel', () => {
    const manifest = signedBy(sampleSigned({ version: '3.0.0-beta.2', channel: 'beta', minUpgradeFrom: '2.0.0' }), alice);
    expect(verifyManifest(manifest, options({ channelVersions: ['2.4.0', '3.0.0-beta.1', '3.0.0-alpha.9'] })).ok).toBe(true);
  });

  it('counts signatures from unknown keys as nothing, not as failures', () => {
    const manifest = signedBy(sampleSigned(), carol, alice);
    expect(verifyManifest(manifest, options())).toMatchObject({ ok: true, validSignerKeyIds: [alice.keyId] });
  });
});

describe('verifyManifest: signatures', () => {
  const manifest = signedBy(sampleSigned(), alice);
  const message = canonicalBytes(manifest.signed);
  const signature = decodeBase64Strict(manifest.signatures[0]!.sig, 64);

  it('rejects a flip of any single byte of the canonical signed content', () => {
    for (let i = 0; i < message.length; i++) {
      const altered = message.slice();
      altered[i]! ^= 0x01;
      expect(verify(signature, altered, alice.publicKey), `byte ${i}`).toBe(false);
    }
    expect(verify(signature, message, alice.publicKey)).toBe(true);
  });

  it('rejects a manifest whose signature has any single byte changed', () => {
    for (let i = 0; i < signature.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const altered = signature.slice();
        altered[i]! ^= mask;
        const tampered = { signed: manifest.signed, signatures: [{ keyId: alice.keyId, sig: encodeBase64(altered) }] };
        expectRejected(verifyManifest(tampered, options()), 'RELEASE_SIGNATURE_INVALID', 400);
      }
    }
  });

  it('rejects any change to a signed string field (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom('name', 'channel', 'publishedAt', 'expiresAt', 'version'), fc.string({ minLength: 1, maxLength: 8 }), (field, suffix) => {
        const tampered = { ...manifest, signed: { ...manifest.signed, [field]: `${String(manifest.signed[field])}${suffix}` } };
        const result = verifyManifest(tampered, options());
        return !result.ok && result.code === 'RELEASE_SIGNATURE_INVALID';
      }),
      { numRuns: 100 },
    );
  });

  it('refuses base64 signature texts that are not canonical even when they decode to the same bytes', () => {
    const sig = manifest.signatures[0]!.sig;
    expect(sig.endsWith('==')).toBe(true);
    const last = sig.at(-3)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const trailingBits = alphabet[alphabet.indexOf(last) | 0x01]!; // 64 bytes leave 4 unused bits in that char
    const variants = {
      'non-zero trailing bits': `${sig.slice(0, -3)}${trailingBits}==`,
      'missing padding': sig.slice(0, -2),
      'embedded newline': `${sig.slice(0, 40)}\n${sig.slice(40)}`,
      'leading space': ` ${sig}`,
      'url-safe alphabet': sig.replace(/\+/g, '-').replace(/\//g, '_'),
    };
    for (const [label, text] of Object.entries(variants)) {
      if (text === sig) continue; // the url-safe variant only differs when + or / occur
      expect(Buffer.from(text, 'base64').equals(Buffer.from(signature)), label).toBe(true);
      const result = expectRejected(
        verifyManifest({ signed: manifest.signed, signatures: [{ keyId: alice.keyId, sig: text }] }, options()),
        'RELEASE_SIGNATURE_INVALID', 400,
      );
      expect(result?.errors?.[0]?.message, label).toMatch(/not strict base64/);
    }
  });

  it('rejects a manifest without signatures', () => {
    expectRejected(verifyManifest({ signed: manifest.signed, signatures: [] }, options()), 'RELEASE_SIGNATURE_INVALID', 400);
    expectRejected(verifyManifest({ signed: manifest.signed }, options()), 'RELEASE_SIGNATURE_INVALID', 400);
  });

  it('rejects an unknown key', () => {
    const result = expectRejected(verifyManifest(signedBy(sampleSigned(), carol), options()), 'RELEASE_SIGNATURE_INVALID', 400);
    expect(result?.errors?.[0]?.message).toMatch(/not a trusted signing key/);
  });

  it('rejects a revoked key', () => {
    const keys = [keyRecord(alice, { status: 'revoked', revokedAt: '2026-06-01T00:00:00Z' })];
    const result = expectRejected(verifyManifest(manifest, options({ trustedKeys: keys })), 'RELEASE_SIGNATURE_INVALID', 400);
    expect(result?.errors?.[0]?.message).toMatch(/revoked/);
  });

  it('judges key windows at receipt, not at the manifest publishedAt', () => {
    // The manifest claims 2026-11-01; the key is valid only from 2026-12-01, and the manifest arrives before that.
    const notYet = [keyRecord(alice, { notBefore: '2026-12-01T00:00:00Z' })];
    expectRejected(verifyManifest(manifest, options({ trustedKeys: notYet })), 'RELEASE_SIGNATURE_INVALID', 400);
    expect(verifyManifest(manifest, options({ trustedKeys: notYet, now: new Date('2026-12-02T00:00:00Z') })).ok).toBe(true);
    // The key's window closed before receipt even though the manifest claims an earlier date.
    const expired = [keyRecord(alice, { notAfter: '2026-11-02T00:00:00Z' })];
    const result = expectRejected(verifyManifest(manifest, options({ trustedKeys: expired })), 'RELEASE_SIGNATURE_INVALID', 400);
    expect(result?.errors?.[0]?.message).toMatch(/expired at receipt/);
  });

  it('requires the threshold of distinct active keys', () => {
    const twoOf = options({ threshold: 2 });
    expectRejected(verifyManifest(manifest, twoOf), 'RELEASE_SIGNATURE_INVALID', 400);
    expect(verifyManifest(signedBy(sampleSigned(), alice, bob), twoOf)).toMatchObject({ ok: true, validSignerKeyIds: [alice.keyId, bob.keyId].sort() });
    // The same key twice is not two keys: a duplicate entry is refused outright.
    const doubled = { signed: manifest.signed, signatures: [manifest.signatures[0]!, manifest.signatures[0]!] };
    expectRejected(verifyManifest(doubled, twoOf), 'RELEASE_MANIFEST_INVALID', 400);
    // A revoked co-signer drops the count below the threshold.
    const keys = [keyRecord(alice), keyRecord(bob, { status: 'revoked' })];
    expectRejected(verifyManifest(signedBy(sampleSigned(), alice, bob), options({ threshold: 2, trustedKeys: keys })), 'RELEASE_SIGNATURE_INVALID', 400);
  });

  it('rejects a registry entry whose keyId is not the hash of its key', () => {
    const forged = [{ ...keyRecord(alice), keyId: bob.keyId }];
    const manifest2 = { signed: manifest.signed, signatures: [{ keyId: bob.keyId, sig: manifest.signatures[0]!.sig }] };
    expectRejected(verifyManifest(manifest2, options({ trustedKeys: forged })), 'RELEASE_SIGNATURE_INVALID', 400);
  });

  it('rejects an otherwise sufficient manifest that also carries a tampered signature', () => {
    const both = signedBy(sampleSigned(), alice, bob);
    const broken = { ...both, signatures: [both.signatures[0]!, { ...both.signatures[1]!, sig: both.signatures[0]!.sig }] };
    expectRejected(verifyManifest(broken, options({ threshold: 1 })), 'RELEASE_SIGNATURE_INVALID', 400);
  });
});

describe('verifyManifest: content, expiry, config', () => {
  const verifySigned = (signed: Record<string, unknown>, extra: Partial<VerifyManifestOptions> = {}) =>
    verifyManifest(signedBy(signed, alice), options(extra));

  it('rejects an expired release', () => {
    expectRejected(verifySigned(sampleSigned({ publishedAt: '2025-01-01T00:00:00Z', expiresAt: '2026-01-01T00:00:00Z' })), 'RELEASE_EXPIRED', 400);
    expectRejected(verifySigned(sampleSigned({ expiresAt: RECEIVED_AT.toISOString() })), 'RELEASE_EXPIRED', 400);
  });

  it.each([
    ['APP_DEBUG true', { APP_DEBUG: 'true', APP_ENV: 'production' }],
    ['APP_DEBUG missing', { APP_ENV: 'production' }],
    ['APP_ENV local', { APP_DEBUG: 'false', APP_ENV: 'local' }],
    ['a literal secret', { APP_DEBUG: 'false', APP_ENV: 'production', APP_KEY: 'base64:c2VjcmV0' }],
  ])('rejects config with %s', (_label, config) => {
    expectRejected(verifySigned(sampleSigned({ config })), 'RELEASE_CONFIG_INVALID', 400);
  });

  it('accepts secret references in config', () => {
    expect(verifySigned(sampleSigned({ config: { APP_DEBUG: 'false', APP_ENV: 'production', APP_KEY: 'secretsmanager:dcp/app-key' } })).ok).toBe(true);
  });

  it('rejects unordered, duplicate and unchecksummed migrations', () => {
    const m = (id: string, extra: Record<string, unknown> = {}) => ({ id, checksum: 'ab'.repeat(32), backwardCompatible: true, ...extra });
    const unordered = expectRejected(verifySigned(sampleSigned({ migrations: [m('2026_11_01_b'), m('2026_10_01_a')] })), 'RELEASE_MANIFEST_INVALID', 400);
    expect(unordered?.errors).toEqual([{ path: '/signed/migrations/1/id', message: 'migrations must be ordered by id (ascending)' }]);
    const duplicate = expectRejected(verifySigned(sampleSigned({ migrations: [m('2026_10_01_a'), m('2026_10_01_a')] })), 'RELEASE_MANIFEST_INVALID', 400);
    expect(duplicate?.errors?.[0]?.message).toMatch(/duplicate migration id/);
    const noChecksum = { id: '2026_10_01_a', backwardCompatible: true };
    const missing = expectRejected(verifySigned(sampleSigned({ migrations: [noChecksum] })), 'RELEASE_MANIFEST_INVALID', 400);
    expect(missing?.errors?.[0]?.path).toBe('/signed/migrations/0/checksum');
    expectRejected(verifySigned(sampleSigned({ migrations: [m('a', { checksum: 'not-hex' })] })), 'RELEASE_MANIFEST_INVALID', 400);
    expect(verifySigned(sampleSigned({ migrations: [] })).ok).toBe(true);
  });

  it.each([
    ['an artifact without sha256', { artifacts: [{ name: 'a.zip', kind: 'zip', size: 1 }] }],
    ['an artifact without size', { artifacts: [{ name: 'a.zip', kind: 'zip', sha256: 'ab'.repeat(32) }] }],
    ['a negative size', { artifacts: [{ name: 'a.zip', kind: 'zip', sha256: 'ab'.repeat(32), size: -1 }] }],
    ['a short sha256', { artifacts: [{ name: 'a.zip', kind: 'zip', sha256: 'ab', size: 1 }] }],
    ['no artifacts', { artifacts: [] }],
    ['self-hosted without zip or compose', { artifacts: [{ name: 'app:2.4.0', kind: 'image', sha256: 'ab'.repeat(32), size: 1 }] }],
    ['an unknown mode', { modes: ['saas', 'on-prem'] }],
    ['a repeated mode', { modes: ['saas', 'saas'] }],
    ['a bad version', { version: 'v2.4.0' }],
    ['build metadata', { version: '2.4.0+build.7' }],
    ['a bad runtime range', { runtime: { php: 'not a range' } }],
    ['minUpgradeFrom above the version', { minUpgradeFrom: '2.5.0' }],
    ['expiry before publication', { expiresAt: '2026-10-01T00:00:00Z' }],
    ['a wrong _type', { _type: 'attestation' }],
    ['a missing name', { name: undefined }],
    ['a non-string config value', { config: { APP_DEBUG: false, APP_ENV: 'production' } }],
  ])('rejects %s', (_label, overrides) => {
    const signed = sampleSigned(overrides);
    for (const [k, v] of Object.entries(signed)) if (v === undefined) delete signed[k];
    expectRejected(verifySigned(signed), 'RELEASE_MANIFEST_INVALID', 400);
  });

  it('accepts a saas-only release shipped as an image', () => {
    expect(verifySigned(sampleSigned({ modes: ['saas'], artifacts: [{ name: 'app:2.4.0', kind: 'image', sha256: 'ab'.repeat(32), size: 0 }] })).ok).toBe(true);
  });

  it('rejects a strict-envelope violation as manifest invalid', () => {
    const manifest = signedBy(sampleSigned(), alice);
    expectRejected(verifyManifest({ ...manifest, note: 'x' }, options()), 'RELEASE_MANIFEST_INVALID', 400);
    expectRejected(verifyManifest({ ...manifest, signatures: [{ ...manifest.signatures[0], extra: 1 }] }, options()), 'RELEASE_MANIFEST_INVALID', 400);
    expectRejected(verifyManifest([], options()), 'RELEASE_MANIFEST_INVALID', 400);
    expectRejected(verifyManifest({ signed: 'x', signatures: manifest.signatures }, options()), 'RELEASE_MANIFEST_INVALID', 400);
  });

  it('is reached only through strict JSON: duplicate member names are refused before verification', () => {
    const manifest = signedBy(sampleSigned(), alice);
    const text = JSON.stringify(manifest).replace('"name":"app"', '"name":"app","name":"evil"');
    expect(() => parseJsonStrict(text)).toThrow(JsonSyntaxError);
    expect(() => parseJsonStrict(text)).toThrow(/Duplicate member name "name"/);
    // JSON.parse would have silently kept the last value, which no longer verifies.
    expect(verifyManifest(JSON.parse(text), options()).ok).toBe(false);
  });
});

describe('verifyManifest: uniqueness and ordering', () => {
  const manifest = signedBy(sampleSigned(), alice);

  it('refuses a version that is already taken (republish)', () => {
    expectRejected(verifyManifest(manifest, options({ existingIds: ['2.4.0'] })), 'RELEASE_EXISTS', 409);
    expectRejected(verifyManifest(manifest, options({ channelVersions: ['2.4.0'] })), 'RELEASE_EXISTS', 409);
  });

  it('refuses a version not above every version on its channel', () => {
    expectRejected(verifyManifest(manifest, options({ channelVersions: ['2.3.0', '2.5.0'] })), 'RELEASE_DOWNGRADE', 409);
    const pre = signedBy(sampleSigned({ version: '2.5.0-rc.1' }), alice);
    expectRejected(verifyManifest(pre, options({ channelVersions: ['2.5.0'] })), 'RELEASE_DOWNGRADE', 409);
    expectRejected(verifyManifest(pre, options({ channelVersions: ['2.5.0-rc.2'] })), 'RELEASE_DOWNGRADE', 409);
    expect(verifyManifest(pre, options({ channelVersions: ['2.5.0-rc.0', '2.5.0-beta.9', '2.4.0'] })).ok).toBe(true);
  });

  it('maps rejections to problem documents', () => {
    const result = verifyManifest(manifest, options({ channelVersions: ['3.0.0'] }));
    if (result.ok) throw new Error('expected a rejection');
    const doc = manifestProblem(result).toDocument();
    expect(doc).toMatchObject({ type: 'urn:dcp:problem:RELEASE_DOWNGRADE', status: 409, code: 'RELEASE_DOWNGRADE' });
  });
});

describe('judgeSignatures at bind time (key rotation)', () => {
  it('invalidates only releases that lack the threshold without a revoked key', () => {
    const keys = [keyRecord(alice), keyRecord(bob)];
    const onlyAlice = verifyManifest(signedBy(sampleSigned({ version: '2.4.0' }), alice), options({ trustedKeys: keys }));
    const onlyBob = verifyManifest(signedBy(sampleSigned({ version: '2.5.0' }), bob), options({ trustedKeys: keys }));
    const both = verifyManifest(signedBy(sampleSigned({ version: '2.6.0' }), alice, bob), options({ trustedKeys: keys }));
    if (!onlyAlice.ok || !onlyBob.ok || !both.ok) throw new Error('setup: all three should publish');
    const stored = (r: typeof onlyAlice & { ok: true }) => ({ ...r.release, receivedAt: RECEIVED_AT.toISOString() });

    const later = new Date('2027-01-01T00:00:00Z');
    const afterRotation = [keyRecord(alice, { status: 'revoked', revokedAt: '2026-12-01T00:00:00Z' }), keyRecord(bob)];
    expect(judgeSignatures(stored(onlyAlice), afterRotation, 1, later)).toMatchObject({ valid: false, validSignerKeyIds: [] });
    expect(judgeSignatures(stored(onlyAlice), afterRotation, 1, later).problems).toEqual([{ index: 0, keyId: alice.keyId, reason: 'revoked-key' }]);
    expect(judgeSignatures(stored(onlyBob), afterRotation, 1, later)).toMatchObject({ valid: true, validSignerKeyIds: [bob.keyId] });
    expect(judgeSignatures(stored(both), afterRotation, 1, later)).toMatchObject({ valid: true, validSignerKeyIds: [bob.keyId] });
    // With a threshold of 2, the doubly signed release also falls.
    expect(judgeSignatures(stored(both), afterRotation, 2, later).valid).toBe(false);
  });

  it('judges key windows at the stored receivedAt, not at bind time', () => {
    const published = verifyManifest(signedBy(sampleSigned(), alice), options());
    if (!published.ok) throw new Error('setup');
    const keys = [keyRecord(alice, { notAfter: '2026-12-31T00:00:00Z' })];
    const stored = { ...published.release, receivedAt: RECEIVED_AT.toISOString() };
    expect(judgeSignatures(stored, keys, 1, new Date('2027-06-01T00:00:00Z')).valid).toBe(true);
    expect(judgeSignatures({ manifest: stored.manifest }, keys, 1, new Date('2027-06-01T00:00:00Z')).valid).toBe(false);
  });

  it('still catches a stored manifest that was altered', () => {
    const published = verifyManifest(signedBy(sampleSigned(), alice), options());
    if (!published.ok) throw new Error('setup');
    const altered = { manifest: { ...published.release.manifest, signed: { ...published.release.manifest.signed, required: true } } };
    expect(judgeSignatures(altered, [keyRecord(alice)], 1, RECEIVED_AT)).toMatchObject({ valid: false, problems: [{ reason: 'bad-signature' }] });
  });
});

describe('versionKey', () => {
  const identifier = fc.oneof(fc.nat({ max: 1000 }).map(String), fc.stringMatching(/^[0-9A-Za-z-]{1,6}$/).filter((s) => !/^\d+$/.test(s)));
  const version = fc.record({
    major: fc.nat({ max: 30 }), minor: fc.nat({ max: 30 }), patch: fc.nat({ max: 30 }),
    pre: fc.array(identifier, { maxLength: 3 }),
  }).map(({ major, minor, patch, pre }) => `${major}.${minor}.${patch}${pre.length ? `-${pre.join('.')}` : ''}`);

  it('orders byte-wise exactly as semver precedence', () => {
    fc.assert(fc.property(version, version, (a, b) => {
      const byKey = Math.sign(Buffer.compare(Buffer.from(versionKey(a)), Buffer.from(versionKey(b))));
      expect(byKey).toBe(semver.compare(a, b));
    }), { numRuns: 2000 });
  });

  it('sorts the SemVer 2.0.0 example list in order', () => {
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.10.0', '10.0.0'];
    expect([...ordered].sort((a, b) => (versionKey(a) < versionKey(b) ? -1 : 1))).toEqual(ordered);
    expect(() => versionKey('1.0')).toThrow(RangeError);
    expect(() => versionKey('1.0.0+b')).toThrow(RangeError);
  });
});

describe('signing helpers and request schemas', () => {
  it('signManifest replaces its own entry and keeps the others', () => {
    const first = signedBy(sampleSigned(), alice, bob);
    const again = signManifest(first, alice.secretKey, alice.publicKey);
    expect(again.signatures.map((s) => s.keyId)).toEqual([alice.keyId, bob.keyId]);
    expect(again.signatures).toEqual(first.signatures); // Ed25519 is deterministic
  });

  it('checkSignedContent accepts the SPEC example shape', () => {
    expect(checkSignedContent(sampleSigned()).ok).toBe(true);
  });

  it('publishReleaseBody is the strict envelope', () => {
    const manifest = signedBy(sampleSigned(), alice);
    expect(publishReleaseBody.safeParse(manifest).success).toBe(true);
    expect(publishReleaseBody.safeParse({ ...manifest, extra: 1 }).success).toBe(false);
  });

  it('addSigningKeyBody checks the key, its id and the window', () => {
    const ok = { keyId: alice.keyId, publicKey: alice.publicKeyBase64 };
    expect(addSigningKeyBody.safeParse(ok).success).toBe(true);
    expect(addSigningKeyBody.safeParse({ ...ok, keyId: bob.keyId }).success).toBe(false);
    expect(addSigningKeyBody.safeParse({ ...ok, publicKey: alice.publicKeyBase64.replace('=', '') }).success).toBe(false);
    expect(addSigningKeyBody.safeParse({ ...ok, status: 'active' }).success).toBe(false);
    expect(addSigningKeyBody.safeParse({ ...ok, notBefore: '2027-01-01T00:00:00Z', notAfter: '2026-01-01T00:00:00Z' }).success).toBe(false);
    const zeroKey = encodeBase64(new Uint8Array(32));
    expect(addSigningKeyBody.safeParse({ keyId: keyIdOf(new Uint8Array(32)), publicKey: zeroKey }).success).toBe(false);
    expect(newSigningKeyRecord(ok, RECEIVED_AT)).toEqual({ ...ok, status: 'active', notBefore: RECEIVED_AT.toISOString(), createdAt: RECEIVED_AT.toISOString() });
  });

  it('validateConfigBody takes an object or .env text, and a known mode', () => {
    expect(validateConfigBody.safeParse({ mode: 'saas', env: { APP_DEBUG: 'false' } }).success).toBe(true);
    expect(validateConfigBody.safeParse({ mode: 'saas', env: 'APP_DEBUG=false\n' }).success).toBe(true);
    expect(validateConfigBody.safeParse({ mode: 'mainframe', env: '' }).success).toBe(false);
    expect(validateConfigBody.safeParse({ mode: 'saas', env: { APP_DEBUG: false } }).success).toBe(false);
    expect(validateConfigBody.safeParse({ mode: 'saas', env: '', extra: 1 }).success).toBe(false);
  });
});
