// The decision function (SPEC §4): may this target provision, update or bind this release? A pure,
// deterministic function of the facts, the four policy documents and a clock passed in. Also defines which
// items the adapter reads to gather the facts (one GetItem for the target, one BatchGetItem for the rest)
// and the denormalised items other writers keep up to date so that read stays at one round trip.
import semver, { type SemVer } from 'semver';
import { BoundedMemo } from './memo.js';
import {
  BLOCKERS,
  renderBlocker,
  type BlockerCode,
  type BlockerParams,
  type BlockerSpec,
  type DecisionAction,
} from './blockers.js';
import type { DeploymentMode, PolicyDocuments, PolicyKind } from './policies.js';
import { DEPLOYMENT_MODES, POLICY_KINDS } from './policies.js';
import { DECISION_ACTIONS } from './schemas/decisions.js';
import type {
  AttestationRecord,
  Blocker,
  LicenseRecord,
  ReleaseRecord,
  SigningKeyRecord,
  TargetRecord,
} from './records.js';
import { judgeSignatures, type SignatureProblemReason } from './manifest.js';
import { judgedRuntime, runtimeProblems, type RangeSet } from './runtime.js';
import { parseInstant } from './instant.js';
import type { TableId } from './tables.js';

export type { DecisionAction } from './blockers.js';

/** What judging recorded signers needs to know about a signing key. */
export type TrustedKey = Pick<SigningKeyRecord, 'keyId' | 'status' | 'notBefore' | 'notAfter' | 'revokedAt'>;

export interface DecisionFacts {
  target: TargetRecord;
  /** The target's license (absent: LICENSE_NOT_FOUND). */
  license?: LicenseRecord;
  /** The target's `latest` attestation item. */
  attestation?: AttestationRecord;
  /** The release asked for. */
  release?: ReleaseRecord;
  /** The id asked for; set with `release` absent it means the release does not exist. */
  releaseId?: string;
  /** The release item of `target.currentRelease` (absent when the target has none or it is unknown). */
  boundRelease?: ReleaseRecord;
  /** Trusted release-signing keys: the trust-set item's entries (at least the keys the release names). */
  signingKeys: readonly SigningKeyRecord[];
  /** White-label: the billing account id is held by another tenant. */
  billingAccountConflict?: boolean;
}

/**
 * What is known about where secret values come from, beyond the DynamoDB facts. `customerProvided`: names
 * of customer-provided secrets whose value has been registered. `secretsManager`: when given, the names that
 * exist in Secrets Manager; when omitted they are assumed present (Secrets Manager is not on the decision's
 * read path, and the inject-secrets step fails with a named error if one is missing after all).
 */
export interface SecretSources {
  customerProvided?: readonly string[];
  secretsManager?: readonly string[];
}

export interface DecideInput {
  action: DecisionAction;
  facts: DecisionFacts;
  policies: PolicyDocuments;
  /** The evaluation time; never read from the system clock here. */
  now: Date;
  secretSources?: SecretSources;
}

export interface Decision {
  decision: 'allow' | 'deny';
  /** In registry order (blockers.ts), at most one per code. */
  blockers: Blocker[];
}

/** Every applicable code (POST /decisions). */
export function decide(input: DecideInput): Decision {
  return evaluate(input, undefined);
}

/** Only the codes one policy kind owns (POST /KIND-policy/evaluate). */
export function decideFor(kind: PolicyKind, input: DecideInput): Decision {
  return evaluate(input, kind);
}

/** The action /KIND-policy/evaluate judges when the request names none: provision a new target, else update. */
export function defaultAction(target: Pick<TargetRecord, 'currentRelease'>): DecisionAction {
  return target.currentRelease ? 'update' : 'provision';
}

function evaluate(input: DecideInput, only: PolicyKind | undefined): Decision {
  const nowMs = input.now.getTime();
  if (Number.isNaN(nowMs)) throw new RangeError('decide: now is not a valid date');
  const mode = input.facts.target.mode;
  const blockers: Blocker[] = [];
  const plan = PLANS.get(input.action)?.get(mode);
  if (plan !== undefined) {
    // Built field by field: spreading the input object is a slow generic copy on this hot path.
    const ctx: Ctx = {
      action: input.action,
      facts: input.facts,
      policies: input.policies,
      now: input.now,
      secretSources: input.secretSources,
      nowMs,
      mode,
    };
    // `attestation-required` codes follow the attestation policy in force (blockers.ts modesOf).
    let attestationRequired: boolean | undefined;
    for (const step of plan) {
      if (only !== undefined && step.owner !== only) continue;
      if (step.attestationRequired && !(attestationRequired ??= input.policies.attestation.requiredForModes.includes(mode))) continue;
      const params = step.rule(ctx);
      if (params) blockers.push(renderBlocker(step.code, params));
    }
  }
  return { decision: blockers.length === 0 ? 'allow' : 'deny', blockers };
}

// ---------------------------------------------------------------------------------------------------------
// Rules: one per code. A rule runs only where the registry says its code applies (mode, action) and answers
// the message parameters when its condition holds. Unreadable timestamps count as expired or stale: a control
// plane that cannot tell must not allow.

interface Ctx extends DecideInput {
  nowMs: number;
  mode: DeploymentMode;
}

type Rule = (ctx: Ctx) => BlockerParams | undefined;

const RULES: Record<BlockerCode, Rule> = {
  LICENSE_REVOKED: ({ facts: { license } }) =>
    license?.status === 'revoked'
      ? { licenseId: license.id, revokedAt: license.revokedAt ?? 'an unrecorded time', reason: license.revokedReason ? ` (${license.revokedReason})` : '' }
      : undefined,

  ATTESTATION_FAILED: ({ facts: { attestation, target }, policies }) => {
    if (!attestation) return undefined;
    const reasons = attestationFailures(attestation, target, policies.attestation);
    return reasons.length > 0 ? { issuedAt: attestation.statement.issuedAt, reasons: reasons.join('; ') } : undefined;
  },

  UNSUPPORTED_RUNTIME: ({ facts: { target, attestation, release }, policies, mode }) => {
    const judged = judgedRuntime(target, attestation);
    const rangeSets: RangeSet[] = [{ source: 'target policy', ranges: policies.target.supportedVersions }];
    if (release) rangeSets.push({ source: `release ${release.id}`, ranges: release.runtime });
    const problems = runtimeProblems(judged.runtime, policies.target.requiredComponents[mode], rangeSets);
    if (problems.length === 0) return undefined;
    return {
      runtimeSource: judged.source === 'attestation' ? `runtime attested at ${judged.at}` : `runtime reported at ${judged.at}`,
      problems: problems.map((p) => p.message).join('; '),
    };
  },

  MISSING_BACKUP_POLICY: ({ facts: { target } }) => (target.backupPolicy ? undefined : { targetId: target.id }),

  RELEASE_REVOKED: ({ facts: { release, boundRelease, target } }) => {
    const details: string[] = [];
    if (release?.status === 'revoked') details.push(`release ${release.id} ${revocation(release)}`);
    if (
      target.status === 'active' &&
      boundRelease?.status === 'revoked' &&
      boundRelease.id === target.currentRelease &&
      boundRelease.id !== release?.id
    ) {
      details.push(`bound release ${boundRelease.id} of the active target ${revocation(boundRelease)}`);
    }
    return details.length > 0 ? { details: details.join('; ') } : undefined;
  },

  LICENSE_EXPIRED: ({ facts: { license }, nowMs }) =>
    license && isPast(license.expiresAt, nowMs) ? { licenseId: license.id, expiresAt: license.expiresAt } : undefined,

  LICENSE_NOT_FOUND: ({ facts: { license, target } }) =>
    license ? undefined : { licenseId: target.licenseId, targetId: target.id },

  LICENSE_MODE_NOT_ENTITLED: ({ facts: { license }, mode }) =>
    license && !license.entitlements.modes.includes(mode)
      ? { licenseId: license.id, entitledModes: license.entitlements.modes.join(', '), mode }
      : undefined,

  LICENSE_FEATURE_NOT_ENTITLED: ({ facts: { license, target }, mode }) => {
    if (!license) return undefined;
    let missing: (typeof FEATURE_USES)[number][] | undefined;
    for (const u of FEATURE_USES) {
      if (u.mode === mode && u.used(target) && !license.entitlements.features.includes(u.feature)) (missing ??= []).push(u);
    }
    if (missing === undefined) return undefined;
    return {
      licenseId: license.id,
      usage: missing.map((u) => u.usage).join(' and '),
      feature: missing.map((u) => u.feature).join('", "'),
      setting: missing.map((u) => u.setting).join(' and '),
    };
  },

  HEARTBEAT_STALE: ({ facts: { target }, action, policies, nowMs }) => {
    // SPEC §4: provisioning a new target is not blocked by it; binding its first release is part of that.
    if (action === 'bind' && !target.currentRelease) return undefined;
    const maxAge = policies.target.heartbeatMaxAgeSeconds;
    const age = ageSeconds(target.lastHeartbeatAt, nowMs);
    if (age <= maxAge) return undefined;
    return {
      lastHeartbeat: target.lastHeartbeatAt
        ? `The last license heartbeat was at ${target.lastHeartbeatAt}, ${duration(age)} ago`
        : 'No license heartbeat has been received from the target',
      maxAge: duration(maxAge),
    };
  },

  ATTESTATION_MISSING: ({ facts: { attestation, target }, mode }) =>
    attestation ? undefined : { targetId: target.id, mode },

  ATTESTATION_STALE: ({ facts: { attestation }, policies, nowMs }) => {
    if (!attestation) return undefined;
    const maxAge = policies.attestation.maxAgeSeconds;
    const age = ageSeconds(attestation.statement.issuedAt, nowMs);
    return age > maxAge ? { issuedAt: attestation.statement.issuedAt, age: duration(age), maxAge: duration(maxAge) } : undefined;
  },

  BACKUP_STALE: ({ facts: { target }, policies, nowMs }) => {
    const policy = target.backupPolicy;
    if (!policy) return undefined; // MISSING_BACKUP_POLICY says it
    const maxAge = policies.target.backupMaxAgeSeconds;
    const age = ageSeconds(policy.lastBackupAt, nowMs);
    if (age <= maxAge) return undefined;
    return {
      lastBackup: policy.lastBackupAt
        ? `The last successful backup was at ${policy.lastBackupAt}, ${duration(age)} ago`
        : 'No successful backup has been recorded',
      maxAge: duration(maxAge),
    };
  },

  STRATEGY_NOT_ALLOWED: ({ facts: { target }, policies }) => {
    const allowed = policies.target.saasStrategies;
    if (target.strategy && allowed.includes(target.strategy)) return undefined;
    return { strategy: target.strategy ? `"${target.strategy}"` : 'with no strategy set', allowed: allowed.join(' or '), targetId: target.id };
  },

  MODE_REQUIREMENTS_UNMET: ({ facts: { target, billingAccountConflict }, mode }) => {
    const problems: string[] = [];
    const settings: string[] = [];
    if (mode === 'white-label') {
      const wl = target.whiteLabel;
      if (!filled(wl?.customDomain)) missingSetting(problems, settings, 'whiteLabel.customDomain');
      if (!filled(wl?.brandingRef)) missingSetting(problems, settings, 'whiteLabel.brandingRef');
      if (!filled(wl?.billingAccountId)) missingSetting(problems, settings, 'whiteLabel.billingAccountId');
      else if (billingAccountConflict) {
        problems.push(`billing account ${wl!.billingAccountId} is already used by another tenant`);
        settings.push('whiteLabel.billingAccountId (one no other tenant uses)');
      }
    } else if (mode === 'enterprise-private-cloud') {
      const ent = target.enterprise;
      if (!filled(ent?.vpcId)) missingSetting(problems, settings, 'enterprise.vpcId');
      if (!filled(ent?.sso)) missingSetting(problems, settings, 'enterprise.sso');
      if (!filled(ent?.privateStorageBucket)) missingSetting(problems, settings, 'enterprise.privateStorageBucket');
    }
    return problems.length > 0 ? { mode, problems: problems.join('; '), settings: settings.join(', '), targetId: target.id } : undefined;
  },

  SECRETS_UNAVAILABLE: ({ facts: { target }, policies, mode, secretSources }) => {
    const sources = policies.secrets.required[mode];
    const names = Object.keys(sources);
    if (names.length === 0) return undefined;
    // Customer-run targets receive every secret (whatever its source) encrypted to their X25519 key (SPEC
    // §7.3); without the key no secret has a way to reach them. SaaS services read Secrets Manager via IAM.
    const noKey = mode !== 'saas' && !filled(target.encryptionKey);
    const registered = secretSources?.customerProvided;
    const known = secretSources?.secretsManager;
    let unregistered: string[] | undefined;
    let absent: string[] | undefined;
    for (const name of names) {
      const source = sources[name];
      if (source === 'customer-provided') {
        if (!registered?.includes(name)) (unregistered ??= []).push(name);
      } else if (source === 'secrets-manager' && known && !known.includes(name)) {
        (absent ??= []).push(name);
      }
    }
    if (!noKey && unregistered === undefined && absent === undefined) return undefined;
    // Secrets are listed by name.
    const problems: string[] = [];
    const remedies: string[] = [];
    if (noKey) {
      problems.push(`the target has no encryptionKey, so ${names.sort(byCodeUnits).join(', ')} cannot be delivered to it`);
      remedies.push("Give the target an X25519 encryptionKey (the key its installer generated) so secrets can be encrypted to it.");
    }
    if (unregistered !== undefined) {
      const list = unregistered.sort(byCodeUnits).join(', ');
      problems.push(`${list} ${unregistered.length === 1 ? 'is' : 'are'} customer-provided but no value is registered`);
      remedies.push(`Have the customer register ${list}, or change their source in the secrets policy.`);
    }
    if (absent !== undefined) {
      const list = absent.sort(byCodeUnits).join(', ');
      problems.push(`${list} ${absent.length === 1 ? 'is' : 'are'} not in Secrets Manager`);
      remedies.push(`Create ${list} in Secrets Manager, or change their source in the secrets policy.`);
    }
    return { mode, problems: problems.join('; '), remedy: remedies.join(' ') };
  },

  RELEASE_SIGNATURE_INVALID: ({ facts: { release, signingKeys }, policies, action, now }) => {
    if (!release) return undefined;
    const threshold = policies.provisioning.signatureThreshold;
    // SPEC §6 verifies "at publish and again when bound": a bind decision re-verifies every Ed25519 signature
    // of the stored manifest (about 1 ms each). Provision and update decisions re-judge the signers recorded
    // at publish against the current trust set — that catches revoked or expired keys and a raised threshold
    // at microsecond cost; the workflows' bind step then runs the full check before anything is bound.
    if (action === 'bind') {
      const judged = judgeSignatures(release, signingKeys, threshold, now);
      if (judged.valid) return undefined;
      const detail = judged.problems.map((p) => `key ${p.keyId} ${SIGNATURE_PROBLEM_TEXT[p.reason]}`).join('; ');
      return { releaseId: release.id, counted: judged.validSignerKeyIds.length, threshold, detail: detail ? ` (not counted: ${detail})` : '' };
    }
    const judged = judgeReleaseSigners(release, signingKeys, threshold);
    if (judged.valid) return undefined;
    const detail = judged.rejected.map((r) => `key ${r.keyId} ${r.reason}`).join('; ');
    return { releaseId: release.id, counted: judged.counted.length, threshold, detail: detail ? ` (not counted: ${detail})` : '' };
  },

  RELEASE_EXPIRED: ({ facts: { release }, nowMs }) =>
    release && isPast(release.expiresAt, nowMs) ? { releaseId: release.id, expiresAt: release.expiresAt } : undefined,

  RELEASE_NOT_FOR_MODE: ({ facts: { release }, mode }) =>
    release && !release.modes.includes(mode) ? { releaseId: release.id, modes: release.modes.join(', '), mode } : undefined,

  RELEASE_DOWNGRADE: ({ facts: { release, target } }) => {
    const bound = target.currentRelease;
    if (!release || !bound) return undefined;
    return (compareVersions(release.version, bound) ?? 0) < 0 ? { releaseId: release.id, boundId: bound } : undefined;
  },

  UPGRADE_PATH_UNSUPPORTED: ({ facts: { release, target } }) => {
    const bound = target.currentRelease;
    if (!release?.minUpgradeFrom || !bound) return undefined;
    return (compareVersions(bound, release.minUpgradeFrom) ?? 0) < 0
      ? { releaseId: release.id, minUpgradeFrom: release.minUpgradeFrom, boundId: bound }
      : undefined;
  },

  REQUIRED_RELEASE_SKIPPED: ({ facts: { release, target } }) => {
    const bound = target.currentRelease;
    if (!release || !bound) return undefined;
    const skipped = [...new Set(release.requiredVersionsBefore)]
      .filter((v) => (compareVersions(v, bound) ?? 0) > 0 && (compareVersions(v, release.version) ?? 0) < 0)
      .sort((a, b) => compareVersions(a, b) ?? 0);
    return skipped.length > 0
      ? { releaseId: release.id, boundId: bound, skipped: skipped.join(', '), firstSkipped: skipped[0]! }
      : undefined;
  },

  MIGRATIONS_NOT_BACKWARD_COMPATIBLE: ({ facts: { release, boundRelease, target } }) => {
    if (!release || (target.strategy !== 'rolling' && target.strategy !== 'blue-green')) return undefined;
    // Only migrations the update would run: those the bound release did not already bring (a manifest may
    // list its whole history). With the bound release unknown, every migration counts.
    const applied = new Set(boundRelease?.id === target.currentRelease ? boundRelease?.migrations.map((m) => m.id) : []);
    const breaking = release.migrations.filter((m) => !m.backwardCompatible && !applied.has(m.id));
    return breaking.length > 0
      ? { releaseId: release.id, migrations: breaking.map((m) => m.id).join(', '), strategy: target.strategy }
      : undefined;
  },

  ROLLBACK_PACKAGE_MISSING: ({ facts: { target, boundRelease } }) => {
    const bound = target.currentRelease;
    if (!bound) return { problem: `Target ${target.id} has no bound release` };
    if (!boundRelease || boundRelease.id !== bound) return { problem: `The bound release ${bound} is unknown` };
    if (!boundRelease.artifacts.some((a) => ROLLBACK_ARTIFACT_KINDS.includes(a.kind))) {
      return { problem: `The bound release ${bound} has no zip or compose artifact` };
    }
    return undefined;
  },

  TARGET_BLOCKED: ({ facts: { target } }) => {
    if (target.status === 'blocked') {
      const codes = target.blockers.map((b) => b.code);
      return {
        state: `Target ${target.id} is blocked${codes.length > 0 ? ` (${codes.join(', ')})` : ''}.`,
        remedy: `Clear the cause, then unblock it with POST /targets/${target.id}/unblock.`,
      };
    }
    if (target.status === 'decommissioned') {
      return { state: `Target ${target.id} is decommissioned.`, remedy: 'A decommissioned target stays retired; register a new target.' };
    }
    return undefined;
  },

  RELEASE_NOT_FOUND: ({ facts: { release, releaseId } }) =>
    releaseId !== undefined && !release ? { releaseId } : undefined,
};

/** One registry entry as evaluate runs it: the rule, and whether its modes are the attestation policy's. */
interface PlanStep {
  readonly code: BlockerCode;
  readonly owner: PolicyKind;
  readonly attestationRequired: boolean;
  readonly rule: Rule;
}

/**
 * The registry entries that can apply, per action and mode, in registry order: what appliesTo(...) answers,
 * resolved once. Entries whose modes are `attestation-required` are kept for every mode and checked against
 * the attestation policy of each decision. An unknown action or mode has no plan, so nothing applies.
 */
const PLANS: ReadonlyMap<string, ReadonlyMap<string, readonly PlanStep[]>> = new Map(
  DECISION_ACTIONS.map((action) => [
    action,
    new Map(
      DEPLOYMENT_MODES.map((mode) => [
        mode,
        (BLOCKERS as readonly BlockerSpec[] as readonly (BlockerSpec & { code: BlockerCode })[])
          .filter((spec) => spec.actions.includes(action) && (spec.modes === 'attestation-required' || spec.modes.includes(mode)))
          .map((spec) => ({ code: spec.code, owner: spec.owner, attestationRequired: spec.modes === 'attestation-required', rule: RULES[spec.code] })),
      ]),
    ),
  ]),
);

const SIGNATURE_PROBLEM_TEXT: Record<SignatureProblemReason, string> = {
  'unknown-key': 'is not a trusted key',
  'revoked-key': 'was revoked',
  'key-not-yet-valid': 'was not yet valid when the release was received',
  'key-expired': 'was no longer valid when the release was received',
  'unusable-key': 'is registered with an unusable public key',
  'malformed-signature': 'carries a malformed signature',
  'bad-signature': 'carries a signature that does not verify over the stored manifest',
};

/** Artifact kinds a self-hosted target can roll back to (SPEC §2: signed zip or Docker Compose). */
export const ROLLBACK_ARTIFACT_KINDS: readonly string[] = ['zip', 'compose'];

/** Settings that need a licensed feature. */
const FEATURE_USES: readonly {
  mode: DeploymentMode;
  feature: string;
  setting: string;
  usage: string;
  used: (t: TargetRecord) => boolean;
}[] = [
  {
    mode: 'enterprise-private-cloud',
    feature: 'private-ai-gateway',
    setting: 'enterprise.aiGatewayEndpoint',
    usage: 'a private AI gateway (enterprise.aiGatewayEndpoint)',
    used: (t) => filled(t.enterprise?.aiGatewayEndpoint),
  },
];

/** Why an attestation does not count as passing under the current attestation policy (empty: it does). */
export function attestationFailures(
  attestation: AttestationRecord,
  target: Pick<TargetRecord, 'id' | 'currentRelease'>,
  policy: PolicyDocuments['attestation'],
): string[] {
  const reasons: string[] = [];
  const st = attestation.statement;
  if (!attestation.signatureValid) reasons.push("its signature does not verify with the target's public key");
  if (st.targetId !== target.id) reasons.push(`it is a statement about target ${st.targetId}`);
  if (attestation.result === 'failed') {
    reasons.push(`it was rejected when received${attestation.reasons.length > 0 ? ` (${attestation.reasons.join(', ')})` : ''}`);
  }
  // Flags are judged again because the policy may have changed since the attestation was received.
  for (const flag of Object.keys(policy.requiredFlags).sort() as (keyof typeof policy.requiredFlags)[]) {
    const want = policy.requiredFlags[flag];
    if (want !== undefined && st.flags[flag] !== want) {
      reasons.push(`flag ${flag} is ${String(st.flags[flag])} but the attestation policy requires ${String(want)}`);
    }
  }
  if (policy.requireReleaseMatch && (st.releaseVersion ?? null) !== (target.currentRelease ?? null)) {
    reasons.push(
      st.releaseVersion === undefined
        ? `it names no release but the bound release is ${target.currentRelease}`
        : target.currentRelease === undefined
          ? `it names release ${st.releaseVersion} but the target has no bound release`
          : `it names release ${st.releaseVersion} but the bound release is ${target.currentRelease}`,
    );
  }
  return reasons;
}

export interface SignatureJudgement {
  valid: boolean;
  threshold: number;
  /** Distinct signer keys that count, in the release's order. */
  counted: string[];
  /** Signer keys that do not count, and why. */
  rejected: { keyId: string; reason: string }[];
}

/**
 * Re-judges a release's verified signers against the current trust set (SPEC §6): a key counts when it is
 * known, not revoked (a revoked key never counts, whenever it was revoked), and its validity window held when
 * the manifest was received (not at the manifest's own publishedAt). Signatures themselves were verified at
 * publish and are not re-verified here; `validSignerKeyIds` records which ones did.
 */
export function judgeReleaseSigners(
  release: Pick<ReleaseRecord, 'validSignerKeyIds' | 'receivedAt'>,
  keys: readonly TrustedKey[],
  threshold: number,
): SignatureJudgement {
  const index = keys.length > 16 ? new Map(keys.map((k) => [k.keyId, k])) : undefined;
  const received = parseInstant(release.receivedAt);
  const counted: string[] = [];
  const rejected: { keyId: string; reason: string }[] = [];
  const signers = release.validSignerKeyIds;
  for (let i = 0; i < signers.length; i++) {
    const keyId = signers[i]!;
    if (signers.indexOf(keyId) !== i) continue; // each distinct signer once, in first-seen order
    const key = findTrustedKey(keys, index, keyId);
    if (!key) rejected.push({ keyId, reason: 'is not a trusted key' });
    else if (key.status === 'revoked') rejected.push({ keyId, reason: `was revoked${key.revokedAt ? ` at ${key.revokedAt}` : ''}` });
    else if (!(parseInstant(key.notBefore) <= received)) rejected.push({ keyId, reason: `was not yet valid when the release was received (valid from ${key.notBefore})` });
    else if (key.notAfter !== undefined && !(received < parseInstant(key.notAfter))) rejected.push({ keyId, reason: `was no longer valid when the release was received (valid until ${key.notAfter})` });
    else counted.push(keyId);
  }
  return { valid: counted.length >= threshold, threshold, counted, rejected };
}

/**
 * The trusted key with this id; with duplicate ids the last entry wins (as in a Map built from the list). A
 * trust set is usually a handful of keys, scanned in place; a large one is indexed once per judgement.
 */
function findTrustedKey(keys: readonly TrustedKey[], index: Map<string, TrustedKey> | undefined, keyId: string): TrustedKey | undefined {
  if (index !== undefined) return index.get(keyId);
  for (let i = keys.length - 1; i >= 0; i--) if (keys[i]!.keyId === keyId) return keys[i];
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function filled(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function missingSetting(problems: string[], settings: string[], path: string): void {
  problems.push(`${path} is missing`);
  settings.push(path);
}

function revocation(release: ReleaseRecord): string {
  return `was revoked at ${release.revokedAt ?? 'an unrecorded time'}${release.revokedReason ? ` (${release.revokedReason})` : ''}`;
}

/** Expired when the instant is not after now, or cannot be read. */
function isPast(iso: string, nowMs: number): boolean {
  return !(parseInstant(iso) > nowMs);
}

/** Seconds since the instant; Infinity when it is absent or cannot be read. */
function ageSeconds(iso: string | undefined, nowMs: number): number {
  const at = iso === undefined ? Number.NaN : parseInstant(iso);
  return Number.isNaN(at) ? Number.POSITIVE_INFINITY : (nowMs - at) / 1000;
}

/** `90061` → `1d 1h`; the two largest units, rounded down. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'an unknown time';
  let rest = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (unit === 's' && parts.length === 0)) parts.push(`${n}${unit}`);
  }
  return parts.slice(0, 2).join(' ');
}

/** semver order of two release versions; undefined when either is not a version. */
function compareVersions(a: string, b: string): number | undefined {
  const va = parsedVersion(a);
  const vb = va && parsedVersion(b);
  return va && vb ? va.compare(vb) : undefined;
}

// Release versions repeat across decisions: each text is parsed into a SemVer once (null: not a version).
// The cached objects never leave this module and are only compared, never changed.
const PARSED_VERSIONS = new BoundedMemo<SemVer | null>(4096);

function parsedVersion(text: string): SemVer | null {
  let parsed = PARSED_VERSIONS.get(text);
  if (parsed === undefined) parsed = PARSED_VERSIONS.set(text, semver.valid(text) ? semver.parse(text) : null);
  return parsed;
}

// ---------------------------------------------------------------------------------------------------------
// Fact loading. The adapter does one GetItem for the target, then ONE BatchGetItem for factKeyList(...)
// (at most 10 keys; UnprocessedKeys are retried as part of that same request), then assembleFacts(...).
//
// Signing keys: a release names its signers (validSignerKeyIds), so reading SigningKeyRecords by key would
// need a second round trip after the release is read. Instead the `guards` table holds one small trust-set
// item, TRUST_SET_KEY, with a copy of every SigningKeyRecord (id, public key, status, validity window; a few
// hundred bytes each, so thousands fit in one 400 KB item). Whoever adds or revokes a key (POST
// /signing-keys, /signing-keys/{keyId}/revoke) must rewrite it in the same transaction as the signingKeys
// item, with withTrustedKey(...) and a condition on the `version` it read.
//
// Billing accounts: white-label registration/PATCH writes a guard `billing-account#<id>` → {tenantId,
// targetId} in the same transaction as the target (SPEC §2). A guard held by another tenant is a conflict.

export { TRUST_SET_KEY, billingAccountGuardKey } from './guards.js';
import { TRUST_SET_KEY, billingAccountGuardKey } from './guards.js';

/** guards item `{key: 'trust#signing-keys', keys: SigningKeyRecord[], version, updatedAt}`. */
export interface TrustSetItem {
  key: typeof TRUST_SET_KEY;
  /** Every signing key, revoked ones included, sorted by keyId. */
  keys: SigningKeyRecord[];
  /** Incremented on every change; writers condition on the value they read. */
  version: number;
  updatedAt: string;
}


/** guards item `{key: 'billing-account#<id>', tenantId, targetId}`. */
export interface BillingAccountGuardItem {
  key: string;
  tenantId: string;
  targetId: string;
}

export interface ItemRef {
  table: TableId;
  key: Record<string, string>;
}

export interface FactKeys {
  license: ItemRef;
  attestation: ItemRef;
  /** The release asked for. */
  release?: ItemRef;
  /** target.currentRelease. */
  boundRelease?: ItemRef;
  trustSet: ItemRef;
  /** White-label targets with a billing account id. */
  billingGuard?: ItemRef;
  /** Policy heads (rev "head"); a kind with no head item uses DEFAULT_POLICIES. */
  policies: Record<PolicyKind, ItemRef>;
}

/** The items one decision about this target needs, by table and key. */
export function factKeys(target: TargetRecord, releaseId?: string): FactKeys {
  const billing = target.mode === 'white-label' ? target.whiteLabel?.billingAccountId : undefined;
  return {
    license: { table: 'licenses', key: { id: target.licenseId } },
    attestation: { table: 'attestations', key: { targetId: target.id, sk: 'latest' } },
    ...(releaseId !== undefined ? { release: { table: 'releases', key: { id: releaseId } } } : {}),
    ...(target.currentRelease ? { boundRelease: { table: 'releases', key: { id: target.currentRelease } } } : {}),
    trustSet: { table: 'guards', key: { key: TRUST_SET_KEY } },
    ...(billing ? { billingGuard: { table: 'guards', key: { key: billingAccountGuardKey(billing) } } } : {}),
    policies: {
      target: policyHead('target'),
      provisioning: policyHead('provisioning'),
      secrets: policyHead('secrets'),
      attestation: policyHead('attestation'),
    },
  };
}

function policyHead(kind: PolicyKind): ItemRef {
  return { table: 'policies', key: { kind, rev: 'head' } };
}

/** The distinct keys of a FactKeys (BatchGetItem refuses duplicates, e.g. release = bound release). */
export function factKeyList(keys: FactKeys): ItemRef[] {
  const all = [
    keys.license,
    keys.attestation,
    keys.release,
    keys.boundRelease,
    keys.trustSet,
    keys.billingGuard,
    ...POLICY_KINDS.map((k) => keys.policies[k]),
  ].filter((r): r is ItemRef => r !== undefined);
  const seen = new Set<string>();
  return all.filter((r) => {
    const id = `${r.table}\u0000${JSON.stringify(Object.entries(r.key).sort())}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** The items the BatchGetItem found, by role (absent: not found). */
export interface FactItems {
  license?: LicenseRecord;
  attestation?: AttestationRecord;
  release?: ReleaseRecord;
  boundRelease?: ReleaseRecord;
  trustSet?: TrustSetItem;
  billingGuard?: BillingAccountGuardItem;
}

export function assembleFacts(target: TargetRecord, releaseId: string | undefined, items: FactItems): DecisionFacts {
  const boundRelease =
    items.boundRelease ?? (releaseId !== undefined && releaseId === target.currentRelease ? items.release : undefined);
  return {
    target,
    ...(items.license ? { license: items.license } : {}),
    ...(items.attestation ? { attestation: items.attestation } : {}),
    ...(items.release ? { release: items.release } : {}),
    ...(releaseId !== undefined ? { releaseId } : {}),
    ...(boundRelease ? { boundRelease } : {}),
    signingKeys: items.trustSet?.keys ?? [],
    billingAccountConflict: items.billingGuard !== undefined && items.billingGuard.tenantId !== target.tenantId,
  };
}

/** The trust set after adding or replacing one key (for the signing-key writers). */
export function withTrustedKey(item: TrustSetItem | undefined, key: SigningKeyRecord, updatedAt: string): TrustSetItem {
  const keys = [...(item?.keys ?? []).filter((k) => k.keyId !== key.keyId), { ...key }].sort((a, b) =>
    a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0,
  );
  return { key: TRUST_SET_KEY, keys, version: (item?.version ?? 0) + 1, updatedAt };
}
