// Setup shared by the workflow tests that drive the local runtime through the API: a signed release, a
// self-hosted target with everything provisioning needs (license, heartbeat, passing attestation,
// encryption key), starting runs, and reading a target's audit stream page by page.
import { expect } from 'vitest';
import { generateRecipientKeyPair } from '../../functions/core/secret-box.js';
import { sampleSigned, signedBy, testKey, type TestKey } from '../unit/crypto/release-fixtures.js';
import type { LocalRuntimeHarness } from './local-runtime.js';
import { attestation, licenseBody, targetBody, targetKeys } from './fixtures.js';

/** The release the workflow tests provision. */
export const RELEASE = '3.1.0';

export type Api = Pick<LocalRuntimeHarness, 'call'>;

export interface Registered {
  id: string;
  /** The target's `target:<id>` API token. */
  token: string;
  /** The registration response. */
  body: any;
  /** The target's own key pair: without a simulated agent, its publicKey also verifies command results. */
  keys: ReturnType<typeof targetKeys>;
  /** The X25519 key pair whose public half is the target's encryptionKey (raw base64). */
  encryption: { publicKey: string; privateKey: string };
}

export interface RegisterOptions {
  /** Answered by the simulated agent (default) or by the test acting as the agent. */
  simulated?: boolean;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `probe` answers something other than undefined. */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** The release signer the workflow tests trust. */
export function releaseSigner(label = 'local-runner'): TestKey {
  return testKey(label);
}

/** Trust `signer` (POST /signing-keys). */
export async function trustSigner(api: Api, signer: TestKey): Promise<void> {
  const r = await api.call('POST', '/signing-keys', { body: { keyId: signer.keyId, publicKey: signer.publicKeyBase64 } });
  expect(r.status, r.text).toBe(201);
}

/** Publish a release signed by `signer`, valid for 180 days; `overrides` change the manifest. */
export async function publishRelease(api: Api, signer: TestKey, version: string, overrides: Record<string, unknown> = {}): Promise<void> {
  const manifest = signedBy(
    sampleSigned({ version, publishedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 180 * 86400_000).toISOString(), minUpgradeFrom: '0.1.0', ...overrides }),
    signer,
  );
  const r = await api.call('POST', '/releases', { body: manifest });
  expect(r.status, r.text).toBe(201);
}

/** A self-hosted target with everything provisioning needs, answered by the simulated agent unless `simulated` is false. */
export async function registerTarget(api: Api, id: string, opts: RegisterOptions = {}): Promise<Registered> {
  const simulated = opts.simulated ?? true;
  const licenseId = `lic-${id}`;
  expect((await api.call('POST', '/licenses', { body: licenseBody(licenseId) })).status).toBe(201);
  const keys = targetKeys();
  const encryption = generateRecipientKeyPair();
  const reg = await api.call('POST', '/targets', {
    body: targetBody(id, 'self-hosted', licenseId, keys.publicKey, { encryptionKey: encryption.publicKey, ...(simulated ? { agent: 'simulated' } : {}) }),
  });
  expect(reg.status, reg.text).toBe(201);
  expect((await api.call('POST', `/targets/${id}/heartbeat`, { token: reg.body.token })).status).toBe(200);
  const t: Registered = { id, token: reg.body.token, body: reg.body, keys, encryption };
  await attest(api, t, undefined, 60_000);
  return t;
}

/** A passing attestation of the target, naming `releaseVersion` when given (updates need the bound one). */
export async function attest(api: Api, t: Registered, releaseVersion?: string, issuedAgoMs = 30_000): Promise<void> {
  const body = attestation(t.id, t.keys.keys, { issuedAt: new Date(Date.now() - issuedAgoMs).toISOString(), ...(releaseVersion ? { releaseVersion } : {}) });
  const att = await api.call('POST', `/targets/${t.id}/attestations`, { token: t.token, body });
  expect(att.status, att.text).toBe(201);
  expect(att.body.result, att.text).toBe('passed');
}

/** POST /targets/{id}/provision|update with an Idempotency-Key; answers the execution id. */
export async function startRun(api: Api, kind: 'provision' | 'update', id: string, key: string, releaseId = RELEASE): Promise<string> {
  const r = await api.call('POST', `/targets/${id}/${kind}`, { body: { releaseId }, headers: { 'idempotency-key': key } });
  expect(r.status, r.text).toBe(202);
  return r.body.executionId as string;
}

export function provision(api: Api, id: string, key: string, releaseId = RELEASE): Promise<string> {
  return startRun(api, 'provision', id, key, releaseId);
}

export interface AuditRecord {
  stream: string;
  seq: number;
  action: string;
  actor: string;
  targetId?: string;
  details: Record<string, any>;
}

/** Every record of a stream (`targetId`, or the control stream), following the cursor 100 at a time. */
export async function auditStream(api: Api, targetId?: string): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: '100', ...(targetId ? { targetId } : { stream: 'control' }), ...(cursor ? { cursor } : {}) });
    const page = await api.call('GET', `/audit?${query}`);
    expect(page.status, page.text).toBe(200);
    records.push(...(page.body.items as AuditRecord[]));
    cursor = page.body.cursor as string | null;
  } while (cursor);
  return records;
}

/** GET /audit/verify for a target's stream. */
export async function verifyAudit(api: Api, targetId: string): Promise<{ valid: boolean; checked: number }> {
  const r = await api.call('GET', `/audit/verify?targetId=${encodeURIComponent(targetId)}`);
  expect(r.status, r.text).toBe(200);
  return r.body;
}
