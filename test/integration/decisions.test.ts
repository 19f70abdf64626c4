// Decisions through real HTTP on DynamoDB Local: each product blocker switched on and off on a target that
// is otherwise ready, what /KIND-policy/evaluate reports next to /decisions, key rotation reaching a bound
// release, the audit record every decision leaves, and the exact DynamoDB commands one decision issues.
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { attestation, CUSTOMER_RUNTIME, licenseBody, targetBody, targetKeys, type TargetKeys } from '../support/fixtures.js';
import { sampleSigned, signedBy, testKey, type TestKey } from '../unit/crypto/release-fixtures.js';
import { codesOwnedBy } from '../../functions/core/blockers.js';
import { POLICY_KINDS, DEFAULT_POLICIES, type DeploymentMode } from '../../functions/core/policies.js';
import { ddb } from '../../functions/adapters/dynamo.js';

const api = useApi();

const signer = testKey('decisions-signer');
const rotA = testKey('decisions-rotation-a');
const rotB = testKey('decisions-rotation-b');

// Releases of this file, all on `stable`, published in ascending order in beforeAll.
const REL = '1.0.0'; // the release every walk decides about
const REL_OTHER = '1.1.0'; // a healthy alternative
const REL_TO_REVOKE = '1.2.0'; // revoked by the RELEASE_REVOKED walk
const REL_MIX = '1.3.0'; // revoked by the evaluate test
const REL_ROT_A = '2.0.0'; // signed only by rotA
const REL_ROT_B = '2.1.0'; // signed only by rotB

type Action = 'provision' | 'update' | 'bind';
interface Blocker {
  code: string;
  message: string;
  remediation?: string;
}
interface DecisionBody {
  decision: 'allow' | 'deny';
  blockers: Blocker[];
  policyVersions: Record<string, number>;
  action: Action;
  evaluatedAt: string;
}

const future = () => new Date(Date.now() + 180 * 86400_000).toISOString();

function release(version: string) {
  return sampleSigned({
    version,
    artifacts: [{ name: `app-${version}.zip`, kind: 'zip', sha256: 'a'.repeat(64), size: 10 }],
    publishedAt: new Date(Date.now() - 60_000).toISOString(),
    expiresAt: future(),
    minUpgradeFrom: '0.1.0',
  });
}

async function addKey(k: TestKey) {
  const r = await api.call('POST', '/signing-keys', { body: { keyId: k.keyId, publicKey: k.publicKeyBase64 } });
  expect(r.status, r.text).toBe(201);
}

async function publish(version: string, ...keys: TestKey[]) {
  const r = await api.call('POST', '/releases', { body: signedBy(release(version), ...keys) });
  expect(r.status, r.text).toBe(201);
}

/** A real X25519 public key, raw 32 bytes in base64 (the key secrets are encrypted to). */
function x25519PublicKey(): string {
  const der = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32)).toString('base64');
}

// Attestations must be newer than the last one (the `latest` item is the newest by issuedAt) and unique
// (same signature = replay); an hour ago plus one second per statement is both, and never stale.
let attestClock = Date.now() - 3600_000;
const nextIssuedAt = () => new Date((attestClock += 1000)).toISOString();

interface Ready {
  id: string;
  licenseId: string;
  token: string;
  keys: TargetKeys;
}

async function attest(t: Ready, overrides: Record<string, unknown> = {}): Promise<{ result: string; reasons: string[] }> {
  const r = await api.call('POST', `/targets/${t.id}/attestations`, {
    token: t.token,
    body: attestation(t.id, t.keys.keys, { issuedAt: nextIssuedAt(), ...overrides }),
  });
  expect(r.status, r.text).toBe(201);
  return r.body;
}

/**
 * A target with everything a decision asks for: its own active license, an encryption key (secrets can
 * reach it), a backup policy (self-hosted), a heartbeat and, where the mode requires one, a passing
 * attestation.
 */
async function readyTarget(id: string, mode: DeploymentMode = 'self-hosted', overrides: Record<string, unknown> = {}): Promise<Ready> {
  const licenseId = `lic-${id}`;
  expect((await api.call('POST', '/licenses', { body: licenseBody(licenseId) })).status).toBe(201);
  const keys = targetKeys();
  const reg = await api.call('POST', '/targets', {
    body: targetBody(id, mode, licenseId, keys.publicKey, { encryptionKey: x25519PublicKey(), ...overrides }),
  });
  expect(reg.status, reg.text).toBe(201);
  const t: Ready = { id, licenseId, token: reg.body.token, keys };
  expect((await api.call('POST', `/targets/${id}/heartbeat`, { token: t.token })).status).toBe(200);
  if (DEFAULT_POLICIES.attestation.requiredForModes.includes(mode)) {
    expect(await attest(t)).toMatchObject({ result: 'passed', reasons: [] });
  }
  return t;
}

async function auditOf(targetId: string) {
  const list = await api.call('GET', `/audit?targetId=${targetId}&limit=100`);
  expect(list.status).toBe(200);
  expect(list.body.cursor).toBeNull();
  return list.body.items as { seq: number; action: string; actor: string; details: Record<string, unknown> }[];
}

async function verifyTarget(targetId: string) {
  const r = await api.call('GET', `/audit/verify?targetId=${targetId}`);
  expect(r.status).toBe(200);
  return r.body as { valid: boolean; checked: number; head: { seq: number } | null };
}

const codes = (d: { blockers: Blocker[] }) => d.blockers.map((b) => b.code).sort();

/**
 * POST /decisions, and check the decision left exactly one `decision.made` record on the target's stream
 * that says what was answered, with the chain still valid.
 */
async function decide(targetId: string, action: Action, releaseId?: string): Promise<DecisionBody> {
  const before = await verifyTarget(targetId);
  const r = await api.call('POST', '/decisions', { body: { targetId, action, ...(releaseId ? { releaseId } : {}) } });
  expect(r.status, r.text).toBe(200);
  const body = r.body as DecisionBody;
  expect(body.decision).toBe(body.blockers.length === 0 ? 'allow' : 'deny');
  for (const b of body.blockers) expect(b.message, b.code).toEqual(expect.any(String));

  const after = await verifyTarget(targetId);
  expect(after).toMatchObject({ valid: true, checked: after.head!.seq });
  expect(after.head!.seq).toBe((before.head?.seq ?? 0) + 1);
  const last = (await auditOf(targetId)).at(-1)!;
  expect(last).toMatchObject({
    seq: after.head!.seq,
    action: 'decision.made',
    actor: 'token:bootstrap',
    details: {
      action,
      releaseId: releaseId ?? null,
      decision: body.decision,
      blockers: body.blockers.map((b) => b.code),
      policyVersions: body.policyVersions,
      evaluatedAt: body.evaluatedAt,
    },
  });
  return body;
}

beforeAll(async () => {
  await addKey(signer);
  await addKey(rotA);
  await addKey(rotB);
  await publish(REL, signer);
  await publish(REL_OTHER, signer);
  await publish(REL_TO_REVOKE, signer);
  await publish(REL_MIX, signer);
  await publish(REL_ROT_A, rotA);
  await publish(REL_ROT_B, rotB);
});

describe('the five product blockers, one at a time', () => {
  it('LICENSE_REVOKED: revoking the license denies every action, and nothing un-revokes it', async () => {
    const t = await readyTarget('walk-license');
    expect(await decide(t.id, 'provision', REL)).toMatchObject({ decision: 'allow', blockers: [] });

    const revoked = await api.call('POST', `/licenses/${t.licenseId}/revoke`, { body: { reason: 'contract ended' } });
    expect(revoked.status).toBe(200);

    const provision = await decide(t.id, 'provision', REL);
    expect(provision.decision).toBe('deny');
    expect(codes(provision)).toEqual(['LICENSE_REVOKED']);
    expect(provision.blockers[0]!.message).toContain(t.licenseId);
    expect(provision.blockers[0]!.message).toContain('contract ended');
    expect(codes(await decide(t.id, 'bind', REL))).toEqual(['LICENSE_REVOKED']);
    // Refreshing the target's other facts does not help: the license stays revoked.
    await attest(t);
    expect(codes(await decide(t.id, 'provision', REL))).toEqual(['LICENSE_REVOKED']);
  });

  it('ATTESTATION_FAILED: an attestation with APP_DEBUG on denies; a clean one allows again', async () => {
    const t = await readyTarget('walk-attest');
    expect((await decide(t.id, 'provision', REL)).decision).toBe('allow');

    const failed = await attest(t, { flags: { appDebug: true } });
    expect(failed.result).toBe('failed');
    const denied = await decide(t.id, 'provision', REL);
    expect(denied.decision).toBe('deny');
    expect(codes(denied)).toEqual(['ATTESTATION_FAILED']);
    expect(denied.blockers[0]!.message).toMatch(/appDebug/);

    expect((await attest(t)).result).toBe('passed');
    expect(await decide(t.id, 'provision', REL)).toMatchObject({ decision: 'allow', blockers: [] });
  });

  it('UNSUPPORTED_RUNTIME (self-hosted): the attested runtime is judged, so php 7.4 in a signed attestation denies', async () => {
    const t = await readyTarget('walk-runtime-sh');
    expect((await decide(t.id, 'provision', REL)).decision).toBe('allow');

    expect((await attest(t, { runtime: { ...CUSTOMER_RUNTIME, php: '7.4' } })).result).toBe('passed');
    const denied = await decide(t.id, 'provision', REL);
    expect(codes(denied)).toEqual(['UNSUPPORTED_RUNTIME']);
    expect(denied.blockers[0]!.message).toMatch(/php/);
    expect(denied.blockers[0]!.message).toMatch(/attested/);

    // A heartbeat reporting a good runtime does not outvote what the target signed.
    expect((await api.call('POST', `/targets/${t.id}/heartbeat`, { token: t.token, body: { runtime: CUSTOMER_RUNTIME } })).status).toBe(200);
    expect(codes(await decide(t.id, 'provision', REL))).toEqual(['UNSUPPORTED_RUNTIME']);

    expect((await attest(t)).result).toBe('passed');
    expect((await decide(t.id, 'provision', REL)).decision).toBe('allow');
  });

  it('UNSUPPORTED_RUNTIME (white-label, no attestation): PATCH to php 7.4 denies, a heartbeat with php 8.3 allows', async () => {
    const t = await readyTarget('walk-runtime-wl', 'white-label');
    expect(await decide(t.id, 'provision', REL)).toMatchObject({ decision: 'allow', blockers: [] });

    const patched = await api.call('PATCH', `/targets/${t.id}`, {
      body: { runtime: { ...CUSTOMER_RUNTIME, php: '7.4' } },
      headers: { 'if-match': '"1"' },
    });
    expect(patched.status, patched.text).toBe(200);
    const denied = await decide(t.id, 'provision', REL);
    expect(codes(denied)).toEqual(['UNSUPPORTED_RUNTIME']);
    expect(denied.blockers[0]!.message).toMatch(/reported/);
    // The release's own ranges (php >=8.2) are judged too, not only the policy's.
    expect(denied.blockers[0]!.message).toMatch(new RegExp(`release ${REL.replace(/\./g, '\\.')}`));
    // Without a release only the policy's ranges apply, which php 7.4 fails as well.
    expect(codes(await decide(t.id, 'provision'))).toEqual(['UNSUPPORTED_RUNTIME']);

    const hb = await api.call('POST', `/targets/${t.id}/heartbeat`, { token: t.token, body: { runtime: CUSTOMER_RUNTIME } });
    expect(hb.status).toBe(200);
    expect(await decide(t.id, 'provision', REL)).toMatchObject({ decision: 'allow', blockers: [] });
  });

  it('MISSING_BACKUP_POLICY: a self-hosted target registered without one is denied until PATCH sets it', async () => {
    const t = await readyTarget('walk-backup', 'self-hosted', { backupPolicy: undefined });
    expect((await api.call('GET', `/targets/${t.id}`)).body.backupPolicy).toBeUndefined();

    const denied = await decide(t.id, 'provision', REL);
    expect(denied.decision).toBe('deny');
    expect(codes(denied)).toEqual(['MISSING_BACKUP_POLICY']);
    expect(denied.blockers[0]!.remediation).toContain(`/targets/${t.id}`);

    const patched = await api.call('PATCH', `/targets/${t.id}`, {
      body: { backupPolicy: { schedule: '0 2 * * *', retentionDays: 14, lastBackupAt: new Date().toISOString() } },
      headers: { 'if-match': '"1"' },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(await decide(t.id, 'provision', REL)).toMatchObject({ decision: 'allow', blockers: [] });
  });

  it('RELEASE_REVOKED: a revoked release is denied for provision; another release is fine', async () => {
    const t = await readyTarget('walk-release');
    expect((await decide(t.id, 'provision', REL_TO_REVOKE)).decision).toBe('allow');

    const revoked = await api.call('POST', `/releases/${REL_TO_REVOKE}/revoke`, { body: { reason: 'broken migration' } });
    expect(revoked.status).toBe(200);
    const denied = await decide(t.id, 'provision', REL_TO_REVOKE);
    expect(denied.decision).toBe('deny');
    expect(codes(denied)).toEqual(['RELEASE_REVOKED']);
    expect(denied.blockers[0]!.message).toContain('broken migration');
    expect(codes(await decide(t.id, 'bind', REL_TO_REVOKE))).toEqual(['RELEASE_REVOKED']);

    expect(await decide(t.id, 'provision', REL_OTHER)).toMatchObject({ decision: 'allow', blockers: [] });
  });
});

describe('/decisions and /KIND-policy/evaluate', () => {
  it('each policy reports only the codes it owns; /decisions reports them all with all four policy versions', async () => {
    const t = await readyTarget('mix');
    // Move one policy off its default so the versions are not all the same number.
    const current = await api.call('GET', '/target-policy');
    const put = await api.call('PUT', '/target-policy', {
      body: { document: current.body.document, comment: 'same rules, new version' },
      headers: { 'if-match': current.headers.get('etag')! },
    });
    expect(put.status, put.text).toBe(200);
    const versions: Record<string, number> = {};
    for (const kind of POLICY_KINDS) versions[kind] = (await api.call('GET', `/${kind}-policy`)).body.version;
    expect(versions.target).toBe(put.body.version);
    expect(versions.target).toBeGreaterThan(0);

    // Four blockers owned by three policies.
    expect((await api.call('POST', `/licenses/${t.licenseId}/revoke`, { body: { reason: 'unpaid' } })).status).toBe(200);
    expect((await attest(t, { flags: { appDebug: true }, runtime: { ...CUSTOMER_RUNTIME, php: '7.4' } })).result).toBe('failed');
    // The failed attestation's runtime is not believed; the reported one is judged, so report php 7.4 too.
    const patched = await api.call('PATCH', `/targets/${t.id}`, { body: { runtime: { ...CUSTOMER_RUNTIME, php: '7.4' } }, headers: { 'if-match': '"1"' } });
    expect(patched.status).toBe(200);
    expect((await api.call('POST', `/releases/${REL_MIX}/revoke`, { body: { reason: 'pulled' } })).status).toBe(200);

    const all = await decide(t.id, 'provision', REL_MIX);
    expect(all.decision).toBe('deny');
    expect(codes(all)).toEqual(['ATTESTATION_FAILED', 'LICENSE_REVOKED', 'RELEASE_REVOKED', 'UNSUPPORTED_RUNTIME']);
    expect(Object.keys(all.policyVersions).sort()).toEqual([...POLICY_KINDS].sort());
    expect(all.policyVersions).toEqual(versions);

    const expected: Record<string, string[]> = {
      target: ['LICENSE_REVOKED', 'UNSUPPORTED_RUNTIME'],
      attestation: ['ATTESTATION_FAILED'],
      provisioning: ['RELEASE_REVOKED'],
      secrets: [],
    };
    const union: string[] = [];
    for (const kind of POLICY_KINDS) {
      const seqBefore = (await verifyTarget(t.id)).head!.seq;
      const r = await api.call('POST', `/${kind}-policy/evaluate`, { body: { targetId: t.id, releaseId: REL_MIX, action: 'provision' } });
      expect(r.status, r.text).toBe(200);
      expect(codes(r.body), kind).toEqual(expected[kind]);
      for (const code of codes(r.body)) expect(codesOwnedBy(kind)).toContain(code);
      expect(r.body).toMatchObject({ decision: expected[kind]!.length ? 'deny' : 'allow', policyVersion: versions[kind], action: 'provision' });
      expect(r.body.policyVersions).toBeUndefined();
      union.push(...codes(r.body));
      // The evaluation is audited too, as what it is.
      const last = (await auditOf(t.id)).at(-1)!;
      expect(last).toMatchObject({ seq: seqBefore + 1, action: 'policy.evaluated', details: { policy: kind, policyVersion: versions[kind], blockers: expected[kind] } });
    }
    expect(union.sort()).toEqual(codes(all));
    expect((await verifyTarget(t.id)).valid).toBe(true);
  });

  it('an evaluate without an action judges provisioning for a target with no bound release', async () => {
    const t = await readyTarget('eval-default');
    const r = await api.call('POST', '/target-policy/evaluate', { body: { targetId: t.id } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: 'allow', blockers: [], action: 'provision' });
  });
});

describe('key rotation reaching decisions', () => {
  it('revoking a key invalidates the releases only it signed, for bind and provision, and no others', async () => {
    const t = await readyTarget('rotation');
    expect(DEFAULT_POLICIES.provisioning.signatureThreshold).toBe(1);
    expect((await api.call('GET', '/provisioning-policy')).body.document.signatureThreshold).toBe(1);
    expect(await decide(t.id, 'bind', REL_ROT_A)).toMatchObject({ decision: 'allow', blockers: [] });
    expect(await decide(t.id, 'bind', REL_ROT_B)).toMatchObject({ decision: 'allow', blockers: [] });

    const revoked = await api.call('POST', `/signing-keys/${rotA.keyId}/revoke`, { body: { reason: 'rotated out' } });
    expect(revoked.status, revoked.text).toBe(200);

    const bindA = await decide(t.id, 'bind', REL_ROT_A);
    expect(bindA.decision).toBe('deny');
    expect(codes(bindA)).toEqual(['RELEASE_SIGNATURE_INVALID']);
    expect(bindA.blockers[0]!.message).toContain(rotA.keyId);
    expect(bindA.blockers[0]!.message).toMatch(/0 of 1/);
    // Provision re-judges the recorded signers against the trust set and reaches the same answer.
    expect(codes(await decide(t.id, 'provision', REL_ROT_A))).toEqual(['RELEASE_SIGNATURE_INVALID']);

    expect(await decide(t.id, 'bind', REL_ROT_B)).toMatchObject({ decision: 'allow', blockers: [] });
    expect(await decide(t.id, 'provision', REL_ROT_B)).toMatchObject({ decision: 'allow', blockers: [] });
    // Releases signed by the walk's key are untouched.
    expect((await decide(t.id, 'bind', REL)).decision).toBe('allow');
  });
});

describe('DynamoDB commands of one decision', () => {
  interface Sent {
    command: string;
    tables: string[];
    keys: number;
  }

  /** Logical table ids an input names (the prefix of this file's tables removed), sorted. */
  function tablesOf(input: Record<string, any>): string[] {
    const names = new Set<string>();
    if (typeof input.TableName === 'string') names.add(input.TableName);
    for (const name of Object.keys(input.RequestItems ?? {})) names.add(name);
    for (const item of input.TransactItems ?? []) {
      for (const op of Object.values(item as Record<string, { TableName?: string }>)) if (op?.TableName) names.add(op.TableName);
    }
    return [...names].map((n) => (n.startsWith(api.tables.prefix) ? n.slice(api.tables.prefix.length) : `?${n}`)).sort();
  }

  function keysOf(input: Record<string, any>): number {
    if (input.Key) return 1;
    return Object.values(input.RequestItems ?? {}).reduce((n: number, r: any) => n + (r.Keys?.length ?? 0), 0);
  }

  it('reads the target with one GetItem and its facts with one BatchGetItem, then appends the audit record; no Query or Scan', async () => {
    const t = await readyTarget('commands');
    const sent: (Sent & { caller: string })[] = [];
    // Every DynamoDB call reaches the local endpoint signed by its function's role: record them there.
    const stop = api.runtime.aws.observeDynamoDb((op, input, caller) => sent.push({ command: `${op}Command`, tables: tablesOf(input), keys: keysOf(input), caller }));
    let r;
    try {
      r = await api.call('POST', '/decisions', { body: { targetId: t.id, action: 'provision', releaseId: REL } });
    } finally {
      stop();
    }
    expect(r.status, r.text).toBe(200);
    expect(r.body.decision).toBe('allow');

    // The authorizer's token lookup is not part of the decision path.
    const { apiFunctions } = api.runtime.deployment;
    const strip = ({ caller: _c, ...rest }: Sent & { caller: string }) => rest;
    const authorizer = sent.filter((s) => s.caller === apiFunctions.authorizer!.role.logicalId).map(strip);
    expect(authorizer).toEqual([{ command: 'GetItemCommand', tables: ['tokens'], keys: 1 }]);
    // Only the two functions API Gateway calls for this route touched DynamoDB.
    expect(new Set(sent.map((s) => s.caller))).toEqual(new Set([apiFunctions.authorizer!.role.logicalId, apiFunctions.decisions!.role.logicalId]));
    const decisionPath = sent.filter((s) => s.caller === apiFunctions.decisions!.role.logicalId).map(strip);
    expect(decisionPath).toEqual([
      // The audit write (not counted by SPEC §4) reads its stream head alongside the target.
      { command: 'GetItemCommand', tables: ['audit'], keys: 1 },
      { command: 'GetItemCommand', tables: ['targets'], keys: 1 },
      // license, latest attestation, the release, the trust set and the four policy heads.
      { command: 'BatchGetItemCommand', tables: ['attestations', 'guards', 'licenses', 'policies', 'releases'], keys: 8 },
      // ...then appends in one transaction.
      { command: 'TransactWriteItemsCommand', tables: ['audit'], keys: 0 },
    ]);
    expect(sent.map((s) => s.command)).not.toContain('QueryCommand');
    expect(sent.map((s) => s.command)).not.toContain('ScanCommand');

    // The recorder is gone: later calls are not recorded.
    const count = sent.length;
    await api.call('POST', '/decisions', { body: { targetId: t.id, action: 'provision' } });
    expect(sent).toHaveLength(count);
  });
});
