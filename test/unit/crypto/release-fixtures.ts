// Builders for signed release manifests and signing-key records, shared by the manifest, crypto and CLI
// tests. Keys come from fixed seeds so failures reproduce.
import { createHash } from 'node:crypto';
import { encodeBase64 } from '../../../functions/core/crypto/base64.js';
import { keyIdOf, publicKeyFromSecret } from '../../../functions/core/crypto/ed25519.js';
import { signManifest } from '../../../functions/core/manifest.js';
import type { SigningKeyRecord } from '../../../functions/core/records.js';

export const RECEIVED_AT = new Date('2026-11-02T12:00:00Z');

export interface TestKey {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  keyId: string;
  publicKeyBase64: string;
}

export function testKey(label: string): TestKey {
  const secretKey = new Uint8Array(createHash('sha256').update(`dcp test key ${label}`).digest());
  const publicKey = publicKeyFromSecret(secretKey);
  return { secretKey, publicKey, keyId: keyIdOf(publicKey), publicKeyBase64: encodeBase64(publicKey) };
}

export function keyRecord(key: TestKey, overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  return {
    keyId: key.keyId,
    publicKey: key.publicKeyBase64,
    status: 'active',
    notBefore: '2026-01-01T00:00:00Z',
    createdAt: '2026-01-01T00:00:00Z',
    ...overrides,
  };
}

const hex = (label: string) => createHash('sha256').update(label).digest('hex');

export function sampleSigned(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: 'release',
    name: 'app',
    version: '2.4.0',
    channel: 'stable',
    publishedAt: '2026-11-01T00:00:00Z',
    expiresAt: '2027-11-01T00:00:00Z',
    modes: ['saas', 'self-hosted', 'white-label', 'enterprise-private-cloud'],
    artifacts: [{ name: 'app-2.4.0.zip', kind: 'zip', sha256: hex('zip'), size: 1234 }],
    migrations: [
      { id: '2026_10_01_000001_create_tenants', checksum: hex('m1'), backwardCompatible: true },
      { id: '2026_11_01_000001_add_invoices', checksum: hex('m2'), backwardCompatible: true },
    ],
    runtime: { php: '>=8.2', postgresql: '>=14' },
    required: false,
    minUpgradeFrom: '2.0.0',
    config: { APP_DEBUG: 'false', APP_ENV: 'production' },
    ...overrides,
  };
}

/** A manifest over `signed`, signed by each key in order. */
export function signedBy(signed: Record<string, unknown>, ...keys: TestKey[]) {
  let manifest: { signed: Record<string, unknown>; signatures: { keyId: string; sig: string }[] } = { signed, signatures: [] };
  for (const key of keys) manifest = signManifest(manifest, key.secretKey, key.publicKey);
  return manifest;
}

/**
 * A manifest of `version` that a running control plane accepts today (published a minute ago, valid for
 * 180 days, upgradable from 0.1.0, its own zip artifact), signed by `keys`.
 */
export function currentManifest(version: string, keys: TestKey[], overrides: Record<string, unknown> = {}) {
  return signedBy(
    sampleSigned({
      version,
      artifacts: [{ name: `app-${version}.zip`, kind: 'zip', sha256: createHash('sha256').update(version).digest('hex'), size: 10 }],
      publishedAt: new Date(Date.now() - 60_000).toISOString(),
      expiresAt: new Date(Date.now() + 180 * 86400_000).toISOString(),
      minUpgradeFrom: '0.1.0',
      ...overrides,
    }),
    ...keys,
  );
}
