// Release manifests (SPEC §6): the envelope and `signed` schemas, the publish-time verification that turns
// a received manifest into a release record or one stable rejection code, the signature judgement that
// decisions repeat at bind time, and the sortable version key of the byChannel index.
//
// Order of checks at publish: envelope shape, then signatures (nothing inside an unauthenticated document
// is interpreted before its signatures are checked), then the `signed` schema, expiry, config, migrations
// and artifacts, then uniqueness and ordering against what is already published.
import semver from 'semver';
import * as z from 'zod';
import { decodeBase64Strict, encodeBase64 } from './crypto/base64.js';
import { canonicalBytes, CanonicalizationError } from './crypto/canonical.js';
import { isUsablePublicKey, keyIdOf, PUBLIC_KEY_LENGTH, sign, SIGNATURE_LENGTH, verify } from './crypto/ed25519.js';
import { validateReleaseConfig } from './config-validation.js';
import { DEPLOYMENT_MODES, type DeploymentMode } from './policies.js';
import { ProblemError, type FieldError } from './problems.js';
import { channelSchema, componentName } from './schemas/targets.js';
import { isoTimestamp, keyId, multilineText, text } from './schemas/common.js';
import type { ReleaseRecord, SigningKeyRecord } from './records.js';

// ---------------------------------------------------------------------------------------------------------
// Schemas

export const MAX_SIGNATURES = 16;
/** Release ids are versions and travel in URL paths and DynamoDB keys. */
const MAX_VERSION_LENGTH = 64;

export const signatureEntrySchema = z.strictObject({
  keyId,
  /** Standard base64 of the 64-byte signature; decoded strictly during verification (so a non-canonical
   * text is a RELEASE_SIGNATURE_INVALID, not a shape error). */
  sig: multilineText(200).min(1),
});

/** The envelope is strict: exactly `signed` and `signatures`. */
export const manifestEnvelopeSchema = z.strictObject({
  signed: z.record(text(128, 1), z.unknown()),
  signatures: z
    .array(signatureEntrySchema)
    .max(MAX_SIGNATURES)
    .superRefine((entries, ctx) => {
      const seen = new Set<string>();
      entries.forEach((entry, index) => {
        if (seen.has(entry.keyId)) {
          ctx.addIssue({ code: 'custom', path: [index, 'keyId'], message: 'each key signs at most once' });
        }
        seen.add(entry.keyId);
      });
    }),
});
export type ManifestEnvelope = z.infer<typeof manifestEnvelopeSchema>;

const semverVersion = z
  .string()
  .min(5)
  .max(MAX_VERSION_LENGTH)
  .regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'must be a semantic version such as 2.4.0 or 3.0.0-beta.1')
  .refine((v) => semver.valid(v) === v, 'must be a semantic version such as 2.4.0 or 3.0.0-beta.1')
  .refine((v) => !v.includes('+'), 'build metadata is not allowed: versions must differ in precedence');

const semverRange = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[0-9A-Za-z.+<>=^~*| -]+$/, 'must be a semver range such as >=8.2')
  .refine((r) => semver.validRange(r) !== null, 'must be a valid semver range such as >=8.2');

const timestamp = isoTimestamp;
const hexDigest = (min: number, max: number) =>
  z.string().min(min).max(max).regex(new RegExp(`^[0-9a-fA-F]{${min},${max}}$`), min === max ? `must be ${min} hex digits` : `must be ${min} to ${max} hex digits`);

export const ARTIFACT_KINDS = ['zip', 'compose', 'image', 'helm', 'sbom', 'other'] as const;
/** Artifacts a self-hosted target can install from and keep as its rollback package. */
export const SELF_HOSTED_PACKAGE_KINDS: readonly string[] = ['zip', 'compose'];

export const artifactSchema = z.looseObject({
  name: text(256, 1),
  kind: z.enum(ARTIFACT_KINDS),
  sha256: hexDigest(64, 64),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

export const migrationSchema = z.looseObject({
  id: z.string().min(1).max(200).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must use letters, digits, ".", "_" and "-"'),
  checksum: hexDigest(16, 128),
  backwardCompatible: z.boolean(),
});

/**
 * `signed` is open: fields beyond these are kept and covered by the signature. The fields named here are
 * required except `minUpgradeFrom`.
 */
export const signedReleaseSchema = z.looseObject({
  _type: z.literal('release'),
  name: text(128, 1),
  version: semverVersion,
  channel: channelSchema,
  publishedAt: timestamp,
  expiresAt: timestamp,
  modes: z
    .array(z.enum(DEPLOYMENT_MODES))
    .min(1)
    .max(DEPLOYMENT_MODES.length)
    .refine((modes) => new Set(modes).size === modes.length, 'modes must not repeat'),
  artifacts: z.array(artifactSchema).min(1).max(100),
  migrations: z.array(migrationSchema).max(10_000),
  runtime: z.record(componentName, semverRange),
  required: z.boolean(),
  minUpgradeFrom: semverVersion.optional(),
  config: z.record(text(128, 1), multilineText(4096)),
});
export type SignedRelease = z.infer<typeof signedReleaseSchema>;

// ---------------------------------------------------------------------------------------------------------
// Results

export type ManifestRejectionCode =
  | 'RELEASE_SIGNATURE_INVALID'
  | 'RELEASE_EXPIRED'
  | 'RELEASE_CONFIG_INVALID'
  | 'RELEASE_MANIFEST_INVALID'
  | 'RELEASE_EXISTS'
  | 'RELEASE_DOWNGRADE';

export interface ManifestRejection {
  ok: false;
  code: ManifestRejectionCode;
  status: 400 | 409;
  detail: string;
  errors?: FieldError[];
}

/** A verified release, ready to be stored once the adapter adds receipt time, status and required history. */
export type ReleaseDraft = Omit<ReleaseRecord, 'requiredVersionsBefore' | 'receivedAt' | 'status' | 'revokedAt' | 'revokedReason'>;

export type ManifestVerification = { ok: true; release: ReleaseDraft; validSignerKeyIds: string[] } | ManifestRejection;

export interface VerifyManifestOptions {
  /** Every signing key the registry knows (active and revoked); only active keys inside their window count. */
  trustedKeys: readonly SigningKeyRecord[];
  /** The provisioning policy's `signatureThreshold`. */
  threshold: number;
  /** Receipt time: key windows and expiry are judged at it, never at the manifest's own `publishedAt`. */
  now: Date;
  /** Versions already published on the manifest's channel (revoked ones included). */
  channelVersions: readonly string[];
  /** Release ids already taken on any channel. */
  existingIds?: Iterable<string>;
}

function reject(code: ManifestRejectionCode, detail: string, errors?: FieldError[]): ManifestRejection {
  const status = code === 'RELEASE_EXISTS' || code === 'RELEASE_DOWNGRADE' ? 409 : 400;
  return { ok: false, code, status, detail, ...(errors && errors.length > 0 ? { errors } : {}) };
}

/** The problem document for a rejection, for handlers and the CLI. */
export function manifestProblem(rejection: ManifestRejection): ProblemError {
  return new ProblemError(rejection.status, rejection.code, rejection.detail, rejection.errors);
}

function pointer(path: readonly PropertyKey[]): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function issuesToErrors(error: z.ZodError, prefix: string): FieldError[] {
  return error.issues.map((issue) => ({ path: prefix + pointer(issue.path), message: issue.message }));
}

// ---------------------------------------------------------------------------------------------------------
// Signatures

export type SignatureProblemReason =
  | 'unknown-key'
  | 'revoked-key'
  | 'key-not-yet-valid'
  | 'key-expired'
  | 'unusable-key'
  | 'malformed-signature'
  | 'bad-signature';

export interface SignatureJudgement {
  /** At least `threshold` distinct active keys, inside their windows, signed validly. */
  valid: boolean;
  threshold: number;
  /** Distinct keyIds whose signature verified and whose key counts. */
  validSignerKeyIds: string[];
  /** Why each other entry did not count. `bad-signature` and `malformed-signature` mean tampering. */
  problems: { index: number; keyId: string; reason: SignatureProblemReason }[];
}

const REASON_TEXT: Record<SignatureProblemReason, string> = {
  'unknown-key': 'is not a trusted signing key',
  'revoked-key': 'has been revoked',
  'key-not-yet-valid': 'is not yet valid at receipt',
  'key-expired': 'had expired at receipt',
  'unusable-key': 'is registered with an unusable public key',
  'malformed-signature': 'carries a signature that is not strict base64 of 64 bytes',
  'bad-signature': 'carries a signature that does not verify',
};

/**
 * Judge a manifest's signatures against the key registry. Used at publish and again by decisions at bind
 * time, where a key revoked since publication no longer counts. Key validity windows are judged at the
 * release's `receivedAt` when it has one (a stored release), otherwise at `now` (publish).
 */
export function judgeSignatures(
  release: { manifest: { signed: unknown; signatures: readonly { keyId: string; sig: string }[] }; receivedAt?: string },
  keys: readonly SigningKeyRecord[],
  threshold: number,
  now: Date,
): SignatureJudgement {
  const at = release.receivedAt !== undefined ? Date.parse(release.receivedAt) : now.getTime();
  const byId = new Map(keys.map((key) => [key.keyId, key]));
  const problems: SignatureJudgement['problems'] = [];
  const valid = new Set<string>();
  let message: Uint8Array | undefined;
  try {
    message = canonicalBytes(release.manifest.signed);
  } catch (error) {
    if (!(error instanceof CanonicalizationError)) throw error;
  }
  release.manifest.signatures.forEach((entry, index) => {
    const problem = (reason: SignatureProblemReason) => problems.push({ index, keyId: entry.keyId, reason });
    const key = byId.get(entry.keyId);
    if (!key) return problem('unknown-key');
    let publicKey: Uint8Array;
    try {
      publicKey = decodeBase64Strict(key.publicKey, PUBLIC_KEY_LENGTH);
    } catch {
      return problem('unusable-key');
    }
    if (keyIdOf(publicKey) !== key.keyId || !isUsablePublicKey(publicKey)) return problem('unusable-key');
    let signature: Uint8Array;
    try {
      signature = decodeBase64Strict(entry.sig, SIGNATURE_LENGTH);
    } catch {
      return problem('malformed-signature');
    }
    if (message === undefined || !verify(signature, message, publicKey)) return problem('bad-signature');
    if (key.status !== 'active') return problem('revoked-key');
    if (Number.isNaN(at) || at < Date.parse(key.notBefore)) return problem('key-not-yet-valid');
    if (key.notAfter !== undefined && at >= Date.parse(key.notAfter)) return problem('key-expired');
    valid.add(key.keyId);
  });
  const validSignerKeyIds = [...valid].sort();
  return { valid: validSignerKeyIds.length >= threshold, threshold, validSignerKeyIds, problems };
}

function describeJudgement(judgement: SignatureJudgement): { detail: string; errors: FieldError[] } {
  const errors = judgement.problems.map((p) => ({
    path: `/signatures/${p.index}`,
    message: `key ${p.keyId.slice(0, 12)}… ${REASON_TEXT[p.reason]}`,
  }));
  const tampered = judgement.problems.some((p) => p.reason === 'bad-signature' || p.reason === 'malformed-signature');
  const count = `${judgement.validSignerKeyIds.length} of the ${judgement.threshold} required valid signatures from distinct active trusted keys`;
  const detail = tampered
    ? `A signature does not verify over the manifest's signed content; ${count} remain.`
    : `The manifest carries ${count}.`;
  return { detail, errors };
}

// ---------------------------------------------------------------------------------------------------------
// Content checks that need no keys (also run by the CLI before signing)

/** Schema, config, migration and artifact checks of `signed`, with errors rooted at `/signed`. */
export function checkSignedContent(
  signed: unknown,
): { ok: true; value: SignedRelease } | ManifestRejection {
  const parsed = signedReleaseSchema.safeParse(signed);
  if (!parsed.success) {
    return reject('RELEASE_MANIFEST_INVALID', 'The signed manifest does not match the release schema.', issuesToErrors(parsed.error, '/signed'));
  }
  const value = parsed.data;
  const errors: FieldError[] = [];
  if (Date.parse(value.expiresAt) <= Date.parse(value.publishedAt)) {
    errors.push({ path: '/signed/expiresAt', message: 'must be after publishedAt' });
  }
  if (value.minUpgradeFrom !== undefined && !semver.lt(value.minUpgradeFrom, value.version)) {
    errors.push({ path: '/signed/minUpgradeFrom', message: 'must be below the release version' });
  }
  const migrationIds = new Set<string>();
  value.migrations.forEach((migration, index) => {
    if (migrationIds.has(migration.id)) {
      errors.push({ path: `/signed/migrations/${index}/id`, message: `duplicate migration id ${migration.id}` });
    } else if (index > 0 && migration.id < value.migrations[index - 1]!.id) {
      errors.push({ path: `/signed/migrations/${index}/id`, message: 'migrations must be ordered by id (ascending)' });
    }
    migrationIds.add(migration.id);
  });
  const artifactNames = new Set<string>();
  value.artifacts.forEach((artifact, index) => {
    if (artifactNames.has(artifact.name)) {
      errors.push({ path: `/signed/artifacts/${index}/name`, message: `duplicate artifact name ${artifact.name}` });
    }
    artifactNames.add(artifact.name);
  });
  if (value.modes.includes('self-hosted') && !value.artifacts.some((a) => SELF_HOSTED_PACKAGE_KINDS.includes(a.kind))) {
    errors.push({ path: '/signed/artifacts', message: 'a release for self-hosted needs a zip or compose artifact (install and rollback package)' });
  }
  if (errors.length > 0) {
    return reject('RELEASE_MANIFEST_INVALID', 'The signed manifest is not a valid release.', errors);
  }
  const config = validateReleaseConfig(value.config);
  if (!config.valid) {
    return reject(
      'RELEASE_CONFIG_INVALID',
      `The release config is not safe for production: ${config.violations.map((v) => v.code).join(', ')}.`,
      config.violations.map((v) => ({ path: `/signed/config/${v.key.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: v.message })),
    );
  }
  return { ok: true, value };
}

// ---------------------------------------------------------------------------------------------------------
// Publish-time verification

/**
 * Verify a received manifest (already parsed with parseJsonStrict, so duplicate member names are refused
 * upstream) for publication. Pure: keys, published versions and the time are passed in.
 */
export function verifyManifest(input: unknown, options: VerifyManifestOptions): ManifestVerification {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return reject('RELEASE_MANIFEST_INVALID', 'A manifest is an object {signed, signatures}.');
  }
  const record = input as Record<string, unknown>;
  if (record.signatures === undefined || (Array.isArray(record.signatures) && record.signatures.length === 0)) {
    return reject('RELEASE_SIGNATURE_INVALID', 'The manifest carries no signatures.', [{ path: '/signatures', message: 'at least one signature is required' }]);
  }
  const envelope = manifestEnvelopeSchema.safeParse(input);
  if (!envelope.success) {
    return reject('RELEASE_MANIFEST_INVALID', 'The manifest envelope must be exactly {signed, signatures: [{keyId, sig}]}.', issuesToErrors(envelope.error, ''));
  }
  // The signed content is the object received, not the schema's copy of it (which would drop a member
  // such as "__proto__"): the bytes verified and stored are the bytes received.
  const manifest = { ...envelope.data, signed: (record as { signed: Record<string, unknown> }).signed };
  try {
    canonicalBytes(manifest.signed);
  } catch (error) {
    if (!(error instanceof CanonicalizationError)) throw error;
    return reject('RELEASE_MANIFEST_INVALID', `The signed content is not I-JSON: ${error.message}.`);
  }

  const judgement = judgeSignatures({ manifest }, options.trustedKeys, options.threshold, options.now);
  const tampered = judgement.problems.some((p) => p.reason === 'bad-signature' || p.reason === 'malformed-signature');
  if (!judgement.valid || tampered) {
    const { detail, errors } = describeJudgement(judgement);
    return reject('RELEASE_SIGNATURE_INVALID', detail, errors);
  }

  const content = checkSignedContent(manifest.signed);
  if (!content.ok) return content;
  const signed = content.value;

  if (Date.parse(signed.expiresAt) <= options.now.getTime()) {
    return reject('RELEASE_EXPIRED', `The release expired at ${signed.expiresAt}.`, [{ path: '/signed/expiresAt', message: 'is in the past' }]);
  }

  const existing = new Set(options.existingIds ?? []);
  if (existing.has(signed.version) || options.channelVersions.includes(signed.version)) {
    return reject('RELEASE_EXISTS', `Release ${signed.version} is already published.`);
  }
  const notBelow = options.channelVersions.filter((v) => semver.valid(v) !== null && semver.compare(signed.version, v) <= 0);
  if (notBelow.length > 0) {
    const highest = notBelow.sort(semver.rcompare)[0]!;
    return reject(
      'RELEASE_DOWNGRADE',
      `Release ${signed.version} is not above ${highest}, already published on channel ${signed.channel}.`,
      [{ path: '/signed/version', message: `must be above ${highest}` }],
    );
  }

  const release: ReleaseDraft = {
    id: signed.version,
    name: signed.name,
    version: signed.version,
    channel: signed.channel,
    versionKey: versionKey(signed.version),
    publishedAt: signed.publishedAt,
    expiresAt: signed.expiresAt,
    modes: signed.modes as DeploymentMode[],
    artifacts: signed.artifacts.map(({ name, kind, sha256, size }) => ({ name, kind, sha256: sha256.toLowerCase(), size })),
    migrations: signed.migrations.map(({ id, checksum, backwardCompatible }) => ({ id, checksum: checksum.toLowerCase(), backwardCompatible })),
    runtime: { ...signed.runtime },
    required: signed.required,
    ...(signed.minUpgradeFrom !== undefined ? { minUpgradeFrom: signed.minUpgradeFrom } : {}),
    config: { ...signed.config },
    manifest: {
      signed: manifest.signed,
      signatures: manifest.signatures.map(({ keyId, sig }) => ({ keyId, sig })),
    },
    validSignerKeyIds: judgement.validSignerKeyIds,
  };
  return { ok: true, release, validSignerKeyIds: judgement.validSignerKeyIds };
}

// ---------------------------------------------------------------------------------------------------------
// Signing (CLI, tests, local tooling)

/** Add or replace `secretKey`'s signature entry on a manifest; other entries are kept in order. */
export function signManifest(
  manifest: { signed: Record<string, unknown>; signatures?: readonly { keyId: string; sig: string }[] },
  secretKey: Uint8Array,
  publicKey: Uint8Array,
): ManifestEnvelope {
  const keyId = keyIdOf(publicKey);
  const sig = encodeBase64(sign(canonicalBytes(manifest.signed), secretKey));
  const others = (manifest.signatures ?? []).filter((entry) => entry.keyId !== keyId);
  const existingIndex = (manifest.signatures ?? []).findIndex((entry) => entry.keyId === keyId);
  const signatures = [...others];
  signatures.splice(existingIndex < 0 ? signatures.length : existingIndex, 0, { keyId, sig });
  return { signed: manifest.signed, signatures };
}

/** A signing-key record for a key the registry starts trusting (`POST /signing-keys`). */
export function newSigningKeyRecord(
  body: { keyId: string; publicKey: string; notBefore?: string; notAfter?: string },
  now: Date,
): SigningKeyRecord {
  const createdAt = now.toISOString();
  return {
    keyId: body.keyId,
    publicKey: body.publicKey,
    status: 'active',
    notBefore: body.notBefore ?? createdAt,
    ...(body.notAfter !== undefined ? { notAfter: body.notAfter } : {}),
    createdAt,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Version ordering

const CORE_WIDTH = 16; // node-semver caps numeric components at 16 digits

/**
 * A string whose byte order is semver precedence (SemVer 2.0.0 §11), for the byChannel sort key:
 * `MAJOR.MINOR.PATCH` zero-padded, then `~` for a release, or `!` and the pre-release identifiers.
 * Numeric identifiers are `1` + two-digit length + digits (so they compare numerically and below
 * alphanumeric ones, which are `2` + the identifier), joined by `!`, which sorts below every identifier
 * character so a shorter identifier list ranks first. Release `~` sorts above any pre-release `!`.
 */
export function versionKey(version: string): string {
  const parsed = semver.parse(version);
  if (!parsed || parsed.build.length > 0) throw new RangeError(`Not a semantic version without build metadata: ${version}`);
  const pad = (n: number) => {
    const digits = String(n);
    if (digits.length > CORE_WIDTH) throw new RangeError(`Version component too large: ${version}`);
    return digits.padStart(CORE_WIDTH, '0');
  };
  const core = `${pad(parsed.major)}.${pad(parsed.minor)}.${pad(parsed.patch)}`;
  if (parsed.prerelease.length === 0) return `${core}~`;
  const identifiers = parsed.prerelease.map((id) => {
    const text = String(id);
    if (/^\d+$/.test(text)) {
      if (text.length > 99) throw new RangeError(`Pre-release number too long: ${version}`);
      return `1${String(text.length).padStart(2, '0')}${text}`;
    }
    return `2${text}`;
  });
  return `${core}!${identifiers.join('!')}`;
}
