// Decision fixtures: one baseline per mode that is allowed for every action, and a table of faults — one
// mutation per way each blocker code can arise, with the fix that clears it. The code tests, the property
// tests and the benchmark (sampleFactSets) all build their inputs here. Everything is relative to an
// injected `now`, so moving the clock moves the whole world with it.
import { blockerSpec, modesOf, type BlockerCode, type DecisionAction } from '../../../functions/core/blockers.js';
import { keyIdOf, publicKeyFromSecret } from '../../../functions/core/crypto/ed25519.js';
import { encodeBase64 } from '../../../functions/core/crypto/base64.js';
import type { DecideInput } from '../../../functions/core/decisions.js';
import { signManifest } from '../../../functions/core/manifest.js';
import {
  DEFAULT_POLICIES,
  DEPLOYMENT_MODES,
  type DeploymentMode,
} from '../../../functions/core/policies.js';
import type {
  AttestationRecord,
  LicenseRecord,
  ReleaseRecord,
  Runtime,
  SigningKeyRecord,
  TargetRecord,
} from '../../../functions/core/records.js';
import { DECISION_ACTIONS } from '../../../functions/core/schemas/decisions.js';

export const MODES = DEPLOYMENT_MODES;
export const ACTIONS = DECISION_ACTIONS;
export const NOW = new Date('2026-12-01T12:00:00.000Z');

// Real Ed25519 keys from fixed seeds: bind decisions verify the stored manifests' signatures.
interface TestKey {
  keyId: string;
  publicKey: string;
  secretKey: Uint8Array;
  publicKeyBytes: Uint8Array;
}
function testKey(seedByte: number): TestKey {
  const secretKey = new Uint8Array(32).fill(seedByte);
  const publicKeyBytes = publicKeyFromSecret(secretKey);
  return { keyId: keyIdOf(publicKeyBytes), publicKey: encodeBase64(publicKeyBytes), secretKey, publicKeyBytes };
}
export const K1 = testKey(1);
export const K2 = testKey(2);
export const K3 = testKey(3);

export function trustedKey(key: TestKey, now: Date, overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  return { keyId: key.keyId, publicKey: key.publicKey, status: 'active', notBefore: at(now, -400 * DAY), createdAt: at(now, -400 * DAY), ...overrides };
}

// Signing costs about a millisecond; fixtures sign the same few manifests over and over.
const signedCache = new Map<string, ReleaseRecord['manifest']>();
function signedManifest(version: string, signers: readonly TestKey[]): ReleaseRecord['manifest'] {
  const cacheKey = `${version}|${signers.map((k) => k.keyId).join(',')}`;
  let manifest = signedCache.get(cacheKey);
  if (!manifest) {
    let envelope: { signed: Record<string, unknown>; signatures: { keyId: string; sig: string }[] } = {
      signed: { _type: 'release', name: 'app', version, channel: 'stable' },
      signatures: [],
    };
    for (const key of signers) envelope = signManifest(envelope, key.secretKey, key.publicKeyBytes);
    manifest = envelope;
    signedCache.set(cacheKey, manifest);
  }
  return structuredClone(manifest);
}
const BOUND = '2.3.0';
const NEXT = '2.4.0';

const DAY = 86_400;
/** ISO instant `seconds` after (negative: before) now. */
export function at(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

export const CUSTOMER_RUN_RUNTIME: Runtime = {
  nginx: '1.25.3',
  php: '8.3',
  'laravel-api': '2.3.0',
  'nextjs-frontend': '2.3.0',
  node: '20.11.1',
  'queue-worker': '2.3.0',
  scheduler: '2.3.0',
  redis: '7.2.4-alpine',
  postgresql: '16.1',
  'object-storage': 'minio 2024.1.1',
  'license-heartbeat-client': '1.4.0',
  'update-client': '1.4.0',
};

export const SAAS_RUNTIME: Runtime = {
  'cdn-waf': '2024.1',
  'load-balancer': '1.0.0',
  'frontend-service': '2.3.0',
  'backend-api-service': '2.3.0',
  'queue-worker-service': '2.3.0',
  'scheduler-service': '2.3.0',
  'websocket-service': '2.3.0',
  'managed-database': '16.1',
  'redis-cluster': '7.2',
  'object-storage': 's3',
  'observability-stack': '1.2.0',
  'secrets-manager': 'aws',
};

export function makeRelease(
  now: Date,
  version: string,
  overrides: Partial<ReleaseRecord> = {},
  signers: readonly TestKey[] = [K1],
): ReleaseRecord {
  return {
    id: version,
    name: 'app',
    version,
    channel: 'stable',
    versionKey: version,
    status: 'published',
    publishedAt: at(now, -10 * DAY),
    expiresAt: at(now, 300 * DAY),
    modes: [...MODES],
    artifacts: [
      { name: `app-${version}.zip`, kind: 'zip', sha256: 'a'.repeat(64), size: 1234 },
      { name: `app-${version}.compose.yaml`, kind: 'compose', sha256: 'b'.repeat(64), size: 321 },
      { name: `app-${version}.oci`, kind: 'oci-image', sha256: 'c'.repeat(64), size: 9999 },
    ],
    migrations: [
      { id: '2026_01_01_000001_create_tenants', checksum: 'd'.repeat(64), backwardCompatible: true },
      { id: `2026_11_01_000001_for_${version}`, checksum: 'e'.repeat(64), backwardCompatible: true },
    ],
    runtime: { php: '>=8.2', postgresql: '>=14' },
    required: false,
    minUpgradeFrom: '2.0.0',
    config: { APP_DEBUG: 'false', APP_ENV: 'production' },
    manifest: signedManifest(version, signers),
    validSignerKeyIds: signers.map((k) => k.keyId),
    requiredVersionsBefore: ['2.1.0'],
    receivedAt: at(now, -10 * DAY),
    ...overrides,
  };
}

export function makeAttestation(target: TargetRecord, now: Date, overrides: Partial<AttestationRecord['statement']> = {}): AttestationRecord {
  return {
    targetId: target.id,
    sk: 'latest',
    statement: {
      _type: 'attestation',
      targetId: target.id,
      issuedAt: at(now, -3600),
      runtime: { ...target.runtime },
      ...(target.currentRelease ? { releaseVersion: target.currentRelease } : {}),
      flags: { appDebug: false },
      ...overrides,
    },
    signature: 'c2lnbmF0dXJl',
    signatureValid: true,
    result: 'passed',
    reasons: [],
    receivedAt: at(now, -3590),
  };
}

function makeLicense(now: Date): LicenseRecord {
  return {
    id: 'lic-1',
    customerId: 'cust-1',
    entitlements: { modes: [...MODES], maxTargets: 10, features: ['private-ai-gateway'] },
    expiresAt: at(now, 365 * DAY),
    status: 'active',
    targetCount: 1,
    createdAt: at(now, -100 * DAY),
  };
}

function makeTarget(mode: DeploymentMode, now: Date): TargetRecord {
  return {
    id: `t-${mode}`,
    name: `Target ${mode}`,
    mode,
    tenantId: 'tenant-1',
    licenseId: 'lic-1',
    channel: 'stable',
    channelMode: `stable#${mode}`,
    publicKey: 'cHVibGljLWtleQ==',
    encryptionKey: 'ZW5jcnlwdGlvbi1rZXk=',
    tokenId: `tok-${mode}`,
    runtime: { ...(mode === 'saas' ? SAAS_RUNTIME : CUSTOMER_RUN_RUNTIME) },
    runtimeReportedAt: at(now, -600),
    ...(mode === 'self-hosted'
      ? { backupPolicy: { schedule: '0 3 * * *', retentionDays: 14, lastBackupAt: at(now, -2 * 3600) } }
      : {}),
    ...(mode === 'saas' ? { strategy: 'blue-green' as const } : {}),
    ...(mode === 'white-label'
      ? { whiteLabel: { customDomain: 'app.example.com', brandingRef: 'brand-1', billingAccountId: 'ba-1' } }
      : {}),
    ...(mode === 'enterprise-private-cloud'
      ? {
          enterprise: {
            vpcId: 'vpc-0abc',
            sso: { issuer: 'https://sso.example.com', clientId: 'dcp' },
            privateStorageBucket: 'acme-private',
            aiGatewayEndpoint: 'https://ai.internal.example.com',
          },
        }
      : {}),
    status: 'active',
    blockers: [],
    currentRelease: BOUND,
    installerLocked: true,
    maintenanceMode: false,
    lastHeartbeatAt: at(now, -60),
    createdAt: at(now, -100 * DAY),
    updatedAt: at(now, -600),
    version: 3,
  };
}

function trustSet(now: Date): SigningKeyRecord[] {
  return [trustedKey(K1, now), trustedKey(K2, now, { status: 'revoked', revokedAt: at(now, -50 * DAY) })];
}

/** The allowed world of one mode: every fact present and healthy. */
export function baseline(mode: DeploymentMode, action: DecisionAction, now: Date = NOW): DecideInput {
  const target = makeTarget(mode, now);
  const requiresAttestation = DEFAULT_POLICIES.attestation.requiredForModes.includes(mode);
  return {
    action,
    now,
    policies: structuredClone(DEFAULT_POLICIES),
    facts: {
      target,
      license: makeLicense(now),
      ...(requiresAttestation ? { attestation: makeAttestation(target, now) } : {}),
      release: makeRelease(now, NEXT),
      releaseId: NEXT,
      boundRelease: makeRelease(now, BOUND, { receivedAt: at(now, -40 * DAY), migrations: [makeRelease(now, NEXT).migrations[0]!] }),
      signingKeys: trustSet(now),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Faults

export interface FaultCase {
  code: BlockerCode;
  /** What is wrong, for test names. */
  name: string;
  /** Modes where this mutation raises the code (default: the registry's modes under default policies). */
  modes?: readonly DeploymentMode[];
  /** Actions where it raises the code (default: the registry's actions). */
  actions?: readonly DecisionAction[];
  /** Makes the condition hold (mutates a private copy). */
  apply: (input: DecideInput) => void;
  /** Clears it the way an operator would (mutates); absent when only a new target would do. */
  fix?: (input: DecideInput) => void;
}

/** Sets a component in the judged runtime wherever it may come from (reported and attested). */
function setComponent(i: DecideInput, component: string, version: string | undefined): void {
  for (const runtime of [i.facts.target.runtime, i.facts.attestation?.statement.runtime]) {
    if (!runtime) continue;
    if (version === undefined) delete runtime[component];
    else runtime[component] = version;
  }
}

/** The latest attestation, created passing when the target has none (so out-of-scope modes get one too). */
function attestationOf(i: DecideInput): AttestationRecord {
  i.facts.attestation ??= makeAttestation(i.facts.target, i.now);
  return i.facts.attestation;
}

function freshAttestation(i: DecideInput): void {
  i.facts.attestation = makeAttestation(i.facts.target, i.now);
}

/** Point the target at another bound release (after an update), keeping its attestation in step. */
function rebind(i: DecideInput, version: string): void {
  i.facts.target.currentRelease = version;
  i.facts.boundRelease = makeRelease(i.now, version, { migrations: [makeRelease(i.now, NEXT).migrations[0]!] });
  if (i.facts.attestation) i.facts.attestation.statement.releaseVersion = version;
}

function chooseRelease(i: DecideInput, version: string, signers: readonly TestKey[] = [K1]): void {
  i.facts.release = makeRelease(i.now, version, {}, signers);
  i.facts.releaseId = version;
}

/** Trust K3 too and have the release asked for re-signed (same version) by the given keys. */
function resignWith(i: DecideInput, signers: readonly TestKey[]): void {
  i.facts.signingKeys = [...i.facts.signingKeys.filter((k) => k.keyId !== K3.keyId), trustedKey(K3, i.now)];
  if (i.facts.release) {
    i.facts.release.manifest = signedManifest(i.facts.release.version, signers);
    i.facts.release.validSignerKeyIds = signers.map((k) => k.keyId);
  }
}

const CUSTOMER_RUN: readonly DeploymentMode[] = ['self-hosted', 'white-label', 'enterprise-private-cloud'];

export const FAULTS: readonly FaultCase[] = [
  {
    code: 'LICENSE_REVOKED',
    name: 'license revoked',
    apply: (i) => i.facts.license && Object.assign(i.facts.license, { status: 'revoked', revokedAt: at(i.now, -DAY), revokedReason: 'non-payment' }),
    fix: (i) => i.facts.license && Object.assign(i.facts.license, { status: 'active', revokedAt: undefined, revokedReason: undefined }),
  },
  {
    code: 'ATTESTATION_FAILED',
    name: 'attestation signature invalid',
    apply: (i) => Object.assign(attestationOf(i), { signatureValid: false, result: 'failed', reasons: ['signature does not verify'] }),
    fix: freshAttestation,
  },
  {
    code: 'ATTESTATION_FAILED',
    name: 'attestation rejected when received',
    apply: (i) => Object.assign(attestationOf(i), { result: 'failed', reasons: ['issuedAt in the future'] }),
    fix: freshAttestation,
  },
  {
    code: 'ATTESTATION_FAILED',
    name: 'attestation reports APP_DEBUG on',
    apply: (i) => {
      attestationOf(i).statement.flags.appDebug = true;
    },
    fix: (i) => {
      attestationOf(i).statement.flags.appDebug = false;
    },
  },
  {
    code: 'ATTESTATION_FAILED',
    name: 'attestation names another release',
    apply: (i) => {
      attestationOf(i).statement.releaseVersion = '2.2.0';
    },
    fix: freshAttestation,
  },
  {
    code: 'UNSUPPORTED_RUNTIME',
    name: 'php below the policy range',
    apply: (i) => setComponent(i, 'php', '8.1.27'),
    fix: (i) => setComponent(i, 'php', '8.3.4'),
  },
  {
    code: 'UNSUPPORTED_RUNTIME',
    name: 'no database (postgresql|mysql)',
    modes: CUSTOMER_RUN,
    apply: (i) => {
      setComponent(i, 'postgresql', undefined);
      setComponent(i, 'mysql', undefined);
    },
    fix: (i) => setComponent(i, 'mysql', '8.0.36'),
  },
  {
    code: 'UNSUPPORTED_RUNTIME',
    name: 'php below the release range',
    modes: CUSTOMER_RUN,
    apply: (i) => {
      if (i.facts.release) i.facts.release.runtime.php = '>=8.4';
    },
    fix: (i) => setComponent(i, 'php', '8.4.1'),
  },
  {
    code: 'UNSUPPORTED_RUNTIME',
    name: 'redis version unreadable',
    apply: (i) => setComponent(i, 'redis', 'latest'),
    fix: (i) => setComponent(i, 'redis', '7.2.4'),
  },
  {
    code: 'UNSUPPORTED_RUNTIME',
    name: 'SaaS runtime without cdn-waf',
    modes: ['saas'],
    apply: (i) => setComponent(i, 'cdn-waf', undefined),
    fix: (i) => setComponent(i, 'cdn-waf', '2024.2'),
  },
  {
    code: 'MISSING_BACKUP_POLICY',
    name: 'no backup policy',
    apply: (i) => {
      delete i.facts.target.backupPolicy;
    },
    fix: (i) => {
      i.facts.target.backupPolicy = { schedule: '0 2 * * *', retentionDays: 30, lastBackupAt: at(i.now, -600) };
    },
  },
  {
    code: 'RELEASE_REVOKED',
    name: 'release asked for is revoked',
    apply: (i) => i.facts.release && Object.assign(i.facts.release, { status: 'revoked', revokedAt: at(i.now, -DAY), revokedReason: 'CVE-2026-1' }),
    fix: (i) => chooseRelease(i, '2.4.1'),
  },
  {
    code: 'RELEASE_REVOKED',
    name: 'bound release of the active target is revoked',
    apply: (i) => i.facts.boundRelease && Object.assign(i.facts.boundRelease, { status: 'revoked', revokedAt: at(i.now, -DAY) }),
    fix: (i) => rebind(i, '2.3.1'),
  },
  {
    code: 'LICENSE_EXPIRED',
    name: 'license expired a second ago',
    apply: (i) => i.facts.license && (i.facts.license.expiresAt = at(i.now, -1)),
    fix: (i) => i.facts.license && (i.facts.license.expiresAt = at(i.now, 30 * DAY)),
  },
  {
    code: 'LICENSE_EXPIRED',
    name: 'license expires exactly now',
    apply: (i) => i.facts.license && (i.facts.license.expiresAt = at(i.now, 0)),
    fix: (i) => i.facts.license && (i.facts.license.expiresAt = at(i.now, 1)),
  },
  {
    code: 'LICENSE_NOT_FOUND',
    name: 'license does not exist',
    apply: (i) => {
      delete i.facts.license;
    },
    fix: (i) => {
      i.facts.license = makeLicense(i.now);
    },
  },
  {
    code: 'LICENSE_MODE_NOT_ENTITLED',
    name: "license lacks the target's mode",
    apply: (i) => i.facts.license && (i.facts.license.entitlements.modes = MODES.filter((m) => m !== i.facts.target.mode)),
    fix: (i) => i.facts.license?.entitlements.modes.push(i.facts.target.mode),
  },
  {
    code: 'LICENSE_FEATURE_NOT_ENTITLED',
    name: 'AI gateway without private-ai-gateway',
    modes: ['enterprise-private-cloud'],
    apply: (i) => i.facts.license && (i.facts.license.entitlements.features = []),
    fix: (i) => {
      if (i.facts.target.enterprise) delete i.facts.target.enterprise.aiGatewayEndpoint;
    },
  },
  {
    code: 'HEARTBEAT_STALE',
    name: 'heartbeat older than the window',
    apply: (i) => {
      i.facts.target.lastHeartbeatAt = at(i.now, -(DEFAULT_POLICIES.target.heartbeatMaxAgeSeconds + 1));
    },
    fix: (i) => {
      i.facts.target.lastHeartbeatAt = at(i.now, -5);
    },
  },
  {
    code: 'HEARTBEAT_STALE',
    name: 'no heartbeat ever',
    apply: (i) => {
      delete i.facts.target.lastHeartbeatAt;
    },
    fix: (i) => {
      i.facts.target.lastHeartbeatAt = at(i.now, -5);
    },
  },
  {
    code: 'ATTESTATION_MISSING',
    name: 'no attestation',
    apply: (i) => {
      delete i.facts.attestation;
    },
    fix: freshAttestation,
  },
  {
    code: 'ATTESTATION_STALE',
    name: 'attestation older than maxAgeSeconds',
    apply: (i) => {
      attestationOf(i).statement.issuedAt = at(i.now, -(DEFAULT_POLICIES.attestation.maxAgeSeconds + 1));
    },
    fix: freshAttestation,
  },
  {
    code: 'BACKUP_STALE',
    name: 'last backup too old',
    apply: (i) => {
      i.facts.target.backupPolicy = { schedule: '0 3 * * *', retentionDays: 14, lastBackupAt: at(i.now, -(DEFAULT_POLICIES.target.backupMaxAgeSeconds + 1)) };
    },
    fix: (i) => {
      i.facts.target.backupPolicy!.lastBackupAt = at(i.now, -60);
    },
  },
  {
    code: 'BACKUP_STALE',
    name: 'no backup yet',
    apply: (i) => {
      i.facts.target.backupPolicy = { schedule: '0 3 * * *', retentionDays: 14 };
    },
    fix: (i) => {
      i.facts.target.backupPolicy!.lastBackupAt = at(i.now, -60);
    },
  },
  {
    code: 'STRATEGY_NOT_ALLOWED',
    name: 'in-place strategy',
    apply: (i) => {
      i.facts.target.strategy = 'in-place';
    },
    fix: (i) => {
      i.facts.target.strategy = 'rolling';
    },
  },
  {
    code: 'STRATEGY_NOT_ALLOWED',
    name: 'no strategy',
    apply: (i) => {
      delete i.facts.target.strategy;
    },
    fix: (i) => {
      i.facts.target.strategy = 'blue-green';
    },
  },
  ...(['customDomain', 'brandingRef', 'billingAccountId'] as const).map(
    (field): FaultCase => ({
      code: 'MODE_REQUIREMENTS_UNMET',
      name: `white-label without ${field}`,
      modes: ['white-label'],
      apply: (i) => {
        i.facts.target.whiteLabel = { ...i.facts.target.whiteLabel, [field]: undefined };
      },
      fix: (i) => {
        i.facts.target.whiteLabel = { ...i.facts.target.whiteLabel, [field]: `${field}-value` };
      },
    }),
  ),
  {
    code: 'MODE_REQUIREMENTS_UNMET',
    name: 'white-label billing account used by another tenant',
    modes: ['white-label'],
    apply: (i) => {
      i.facts.billingAccountConflict = true;
    },
    fix: (i) => {
      i.facts.billingAccountConflict = false;
      i.facts.target.whiteLabel = { ...i.facts.target.whiteLabel, billingAccountId: 'ba-own' };
    },
  },
  ...(['vpcId', 'sso', 'privateStorageBucket'] as const).map(
    (field): FaultCase => ({
      code: 'MODE_REQUIREMENTS_UNMET',
      name: `enterprise without ${field}`,
      modes: ['enterprise-private-cloud'],
      apply: (i) => {
        i.facts.target.enterprise = { ...i.facts.target.enterprise, [field]: undefined };
      },
      fix: (i) => {
        i.facts.target.enterprise = { ...i.facts.target.enterprise, [field]: field === 'sso' ? { issuer: 'https://idp' } : `${field}-value` };
      },
    }),
  ),
  {
    code: 'MODE_REQUIREMENTS_UNMET',
    name: 'enterprise with an empty sso configuration',
    modes: ['enterprise-private-cloud'],
    apply: (i) => {
      i.facts.target.enterprise = { ...i.facts.target.enterprise, sso: {} };
    },
    fix: (i) => {
      i.facts.target.enterprise = { ...i.facts.target.enterprise, sso: { issuer: 'https://idp' } };
    },
  },
  {
    code: 'SECRETS_UNAVAILABLE',
    name: 'customer-run target without encryptionKey',
    modes: CUSTOMER_RUN,
    apply: (i) => {
      delete i.facts.target.encryptionKey;
    },
    fix: (i) => {
      i.facts.target.encryptionKey = 'bmV3LWtleQ==';
    },
  },
  {
    code: 'SECRETS_UNAVAILABLE',
    name: 'customer-provided secret with no value',
    apply: (i) => {
      i.policies.secrets.required[i.facts.target.mode].SMTP_PASSWORD = 'customer-provided';
    },
    fix: (i) => {
      i.secretSources = { ...i.secretSources, customerProvided: ['SMTP_PASSWORD'] };
    },
  },
  {
    code: 'SECRETS_UNAVAILABLE',
    name: 'secret missing from Secrets Manager',
    modes: ['saas'],
    apply: (i) => {
      i.secretSources = { ...i.secretSources, secretsManager: ['APP_KEY', 'REDIS_PASSWORD'] };
    },
    fix: (i) => {
      i.secretSources = { ...i.secretSources, secretsManager: ['APP_KEY', 'DB_PASSWORD', 'REDIS_PASSWORD'] };
    },
  },
  {
    code: 'RELEASE_SIGNATURE_INVALID',
    name: 'only signer key revoked',
    apply: (i) => {
      i.facts.signingKeys = i.facts.signingKeys.map((k) => (k.keyId === K1.keyId ? { ...k, status: 'revoked' as const, revokedAt: at(i.now, -60) } : k));
    },
    fix: (i) => resignWith(i, [K3]),
  },
  {
    code: 'RELEASE_SIGNATURE_INVALID',
    name: 'signer not in the trust set',
    apply: (i) => {
      i.facts.signingKeys = i.facts.signingKeys.filter((k) => k.keyId !== K1.keyId);
    },
    fix: (i) => {
      i.facts.signingKeys = [...i.facts.signingKeys, trustedKey(K1, i.now)];
    },
  },
  {
    code: 'RELEASE_SIGNATURE_INVALID',
    name: "signer key's window ended before the release was received",
    apply: (i) => {
      i.facts.signingKeys = i.facts.signingKeys.map((k) => (k.keyId === K1.keyId ? { ...k, notAfter: at(i.now, -20 * DAY) } : k));
    },
    fix: (i) => resignWith(i, [K3]),
  },
  {
    code: 'RELEASE_SIGNATURE_INVALID',
    name: "signer key's window started after the release was received",
    apply: (i) => {
      i.facts.signingKeys = i.facts.signingKeys.map((k) => (k.keyId === K1.keyId ? { ...k, notBefore: at(i.now, -DAY) } : k));
    },
    fix: (i) => {
      i.facts.signingKeys = i.facts.signingKeys.map((k) => (k.keyId === K1.keyId ? { ...k, notBefore: at(i.now, -400 * DAY) } : k));
    },
  },
  {
    code: 'RELEASE_SIGNATURE_INVALID',
    name: 'threshold raised above the signers',
    apply: (i) => {
      i.policies.provisioning.signatureThreshold = 2;
    },
    fix: (i) => resignWith(i, [K1, K3]),
  },
  {
    code: 'RELEASE_SIGNATURE_INVALID',
    name: 'stored manifest altered after publish (bind re-verifies)',
    actions: ['bind'],
    apply: (i) => {
      if (i.facts.release) i.facts.release.manifest.signed.modes = ['saas'];
    },
    fix: (i) => chooseRelease(i, '2.4.1'),
  },
  {
    code: 'RELEASE_EXPIRED',
    name: 'release expired',
    apply: (i) => i.facts.release && (i.facts.release.expiresAt = at(i.now, -3600)),
    fix: (i) => chooseRelease(i, '2.4.1'),
  },
  {
    code: 'RELEASE_NOT_FOR_MODE',
    name: "release does not list the target's mode",
    apply: (i) => i.facts.release && (i.facts.release.modes = MODES.filter((m) => m !== i.facts.target.mode)),
    fix: (i) => chooseRelease(i, '2.4.1'),
  },
  {
    code: 'RELEASE_DOWNGRADE',
    name: 'older release',
    apply: (i) => chooseRelease(i, '2.2.0'),
    fix: (i) => chooseRelease(i, '2.5.0'),
  },
  {
    code: 'RELEASE_DOWNGRADE',
    name: 'pre-release of the bound version',
    apply: (i) => chooseRelease(i, '2.3.0-rc.1'),
    fix: (i) => chooseRelease(i, '2.4.0-rc.1'),
  },
  {
    code: 'UPGRADE_PATH_UNSUPPORTED',
    name: 'bound version below minUpgradeFrom',
    apply: (i) => i.facts.release && (i.facts.release.minUpgradeFrom = '2.3.5'),
    fix: (i) => rebind(i, '2.3.5'),
  },
  {
    code: 'REQUIRED_RELEASE_SKIPPED',
    name: 'a required release between bound and new',
    apply: (i) => i.facts.release && (i.facts.release.requiredVersionsBefore = ['2.1.0', '2.3.2']),
    fix: (i) => rebind(i, '2.3.2'),
  },
  {
    code: 'MIGRATIONS_NOT_BACKWARD_COMPATIBLE',
    name: 'breaking migration with blue-green',
    apply: (i) =>
      i.facts.release?.migrations.push({ id: '2026_11_02_000001_drop_column', checksum: 'f'.repeat(64), backwardCompatible: false }),
    fix: (i) => chooseRelease(i, '2.4.1'),
  },
  {
    code: 'MIGRATIONS_NOT_BACKWARD_COMPATIBLE',
    name: 'breaking migration with rolling',
    apply: (i) => {
      if (i.facts.target.mode === 'saas') i.facts.target.strategy = 'rolling';
      i.facts.release?.migrations.push({ id: '2026_11_02_000001_drop_column', checksum: 'f'.repeat(64), backwardCompatible: false });
    },
    fix: (i) => chooseRelease(i, '2.4.1'),
  },
  {
    code: 'ROLLBACK_PACKAGE_MISSING',
    name: 'bound release unknown',
    apply: (i) => {
      delete i.facts.boundRelease;
    },
    fix: (i) => rebind(i, '2.3.0'),
  },
  {
    code: 'ROLLBACK_PACKAGE_MISSING',
    name: 'bound release has no zip or compose artifact',
    apply: (i) => {
      if (i.facts.boundRelease) i.facts.boundRelease.artifacts = i.facts.boundRelease.artifacts.filter((a) => a.kind === 'oci-image');
    },
    fix: (i) => rebind(i, '2.3.0'),
  },
  {
    code: 'TARGET_BLOCKED',
    name: 'target blocked',
    apply: (i) => {
      i.facts.target.status = 'blocked';
      i.facts.target.blockers = [{ code: 'UNSUPPORTED_RUNTIME', message: 'php 8.1' }];
    },
    fix: (i) => {
      i.facts.target.status = 'active';
      i.facts.target.blockers = [];
    },
  },
  {
    code: 'TARGET_BLOCKED',
    name: 'target decommissioned',
    apply: (i) => {
      i.facts.target.status = 'decommissioned';
    },
  },
  {
    code: 'RELEASE_NOT_FOUND',
    name: 'release id unknown',
    apply: (i) => {
      delete i.facts.release;
    },
    fix: (i) => chooseRelease(i, i.facts.releaseId ?? '2.4.0'),
  },
];

/** Modes where a fault raises its code. */
export function faultModes(fault: FaultCase): readonly DeploymentMode[] {
  return fault.modes ?? modesOf(blockerSpec(fault.code), DEFAULT_POLICIES);
}

export function faultActions(fault: FaultCase): readonly DecisionAction[] {
  return fault.actions ?? blockerSpec(fault.code).actions;
}

export function faultApplies(fault: FaultCase, mode: DeploymentMode, action: DecisionAction): boolean {
  return faultModes(fault).includes(mode) && faultActions(fault).includes(action);
}

/** The baseline with faults applied in order. */
export function build(mode: DeploymentMode, action: DecisionAction, faults: readonly FaultCase[], now: Date = NOW): DecideInput {
  const input = baseline(mode, action, now);
  for (const fault of faults) fault.apply(input);
  return input;
}

// mulberry32: a tiny seeded generator, so the same seed gives the same fact sets everywhere.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` decision inputs, reproducible from `seed`: random mode, action and clock (2026–2036), each applicable
 * fault with probability 1/8 (so most inputs deny for a few reasons, some allow). For benchmarks.
 */
export function sampleFactSets(n: number, seed: number): DecideInput[] {
  const next = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const out: DecideInput[] = [];
  for (let k = 0; k < n; k++) {
    const mode = pick(MODES);
    const action = pick(ACTIONS);
    const now = new Date(Date.UTC(2026, 0, 1) + Math.floor(next() * 10 * 365 * DAY) * 1000);
    const faults = FAULTS.filter((f) => faultApplies(f, mode, action) && next() < 1 / 8);
    out.push(build(mode, action, faults, now));
  }
  return out;
}
