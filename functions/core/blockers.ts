// The one registry of blocker codes (SPEC §4): who owns each code, where it applies, what it says and how
// to clear it. Decisions, /KIND-policy/evaluate, the state machines' `Blocked.*` error names, the OpenAPI
// document and the tests all read this list; its order is the order blockers are reported in.
import { DEPLOYMENT_MODES, type DeploymentMode, type PolicyKind, type PolicyDocuments } from './policies.js';
import { DECISION_ACTIONS } from './schemas/decisions.js';
import type { Blocker } from './records.js';

export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/**
 * Where a code applies. `attestation-required` means the modes listed in the attestation policy's
 * `requiredForModes` at decision time (SPEC §4 "where required"), so it follows policy edits.
 */
export type BlockerModes = readonly DeploymentMode[] | 'attestation-required';

export interface BlockerSpec {
  readonly code: string;
  readonly owner: PolicyKind;
  readonly modes: BlockerModes;
  readonly actions: readonly DecisionAction[];
  /** When the code is raised (documentation; the rule itself lives in decisions.ts). */
  readonly when: string;
  /** Message template: `{name}` placeholders are filled from the rule's parameters. */
  readonly message: string;
  /** Remediation template, same placeholders. */
  readonly remediation: string;
}

const ALL_MODES = DEPLOYMENT_MODES;
const ALL_ACTIONS = DECISION_ACTIONS;
const CUSTOMER_RUN: readonly DeploymentMode[] = ['self-hosted', 'white-label', 'enterprise-private-cloud'];

// `as const satisfies` keeps the literal codes (for BlockerCode) while checking every entry's shape.
export const BLOCKERS = [
  {
    code: 'LICENSE_REVOKED',
    owner: 'target',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: "the target's license is revoked",
    message: 'License {licenseId} was revoked at {revokedAt}{reason}.',
    remediation: 'Issue the customer a new license and register the target against it.',
  },
  {
    code: 'ATTESTATION_FAILED',
    owner: 'attestation',
    modes: 'attestation-required',
    actions: ALL_ACTIONS,
    when:
      'the latest attestation has a bad signature, failed when received, fails a flag the attestation ' +
      'policy requires, or (requireReleaseMatch) names a release other than the bound one',
    message: 'The latest attestation (issued {issuedAt}) fails: {reasons}.',
    remediation:
      'Fix the reported problem on the target and have it post a new attestation signed with its registered key.',
  },
  {
    code: 'UNSUPPORTED_RUNTIME',
    owner: 'target',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when:
      'the judged runtime (SPEC §2.1) misses a required component or has a version outside the target ' +
      "policy's or the release's ranges",
    message: 'The {runtimeSource} is not supported: {problems}.',
    remediation:
      'Install the missing components or upgrade them into the supported ranges, then report the runtime ' +
      '(heartbeat or attestation) again.',
  },
  {
    code: 'MISSING_BACKUP_POLICY',
    owner: 'target',
    modes: ['self-hosted'],
    actions: ALL_ACTIONS,
    when: 'a self-hosted target has no backup policy',
    message: 'Target {targetId} has no backup policy.',
    remediation: 'Set backupPolicy (schedule, retentionDays) on the target with PATCH /targets/{targetId}.',
  },
  {
    code: 'RELEASE_REVOKED',
    owner: 'provisioning',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: 'the release asked for, or for an active target its bound release, is revoked',
    message: 'Revoked: {details}.',
    remediation: 'Choose a release that is not revoked; an active target on a revoked release should be updated.',
  },
  {
    code: 'LICENSE_EXPIRED',
    owner: 'target',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: "the target's license has expired",
    message: 'License {licenseId} expired at {expiresAt}.',
    remediation: 'Renew the license (issue one with a later expiresAt) for the customer.',
  },
  {
    code: 'LICENSE_NOT_FOUND',
    owner: 'target',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: "the target's license does not exist",
    message: 'License {licenseId} of target {targetId} does not exist.',
    remediation: 'Create the license with POST /licenses or register the target against an existing one.',
  },
  {
    code: 'LICENSE_MODE_NOT_ENTITLED',
    owner: 'target',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: "the license's entitlements do not include the target's mode",
    message: 'License {licenseId} entitles the modes [{entitledModes}] but the target is {mode}.',
    remediation: 'Issue a license that entitles the {mode} mode.',
  },
  {
    code: 'LICENSE_FEATURE_NOT_ENTITLED',
    owner: 'target',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: 'the target uses a feature its license does not entitle (an enterprise AI gateway needs private-ai-gateway)',
    message: 'The target uses {usage}, which needs the feature "{feature}" that license {licenseId} does not entitle.',
    remediation: 'Issue a license with the "{feature}" feature, or remove {setting} from the target.',
  },
  {
    code: 'HEARTBEAT_STALE',
    owner: 'target',
    modes: CUSTOMER_RUN,
    actions: ['update', 'bind'],
    when:
      "no license heartbeat within the target policy's heartbeatMaxAgeSeconds (a target with no bound " +
      'release yet, i.e. one being provisioned, is not blocked by it)',
    message: '{lastHeartbeat}; the target policy allows at most {maxAge}.',
    remediation: "Check the license heartbeat client at the customer's site and its connectivity to the control plane.",
  },
  {
    code: 'ATTESTATION_MISSING',
    owner: 'attestation',
    modes: 'attestation-required',
    actions: ALL_ACTIONS,
    when: 'the mode requires an attestation and the target has none',
    message: 'Target {targetId} has no attestation; the attestation policy requires one for {mode} targets.',
    remediation: 'Have the target post a signed attestation (POST /targets/{targetId}/attestations).',
  },
  {
    code: 'ATTESTATION_STALE',
    owner: 'attestation',
    modes: 'attestation-required',
    actions: ALL_ACTIONS,
    when: "the latest attestation is older than the attestation policy's maxAgeSeconds",
    message: 'The latest attestation was issued at {issuedAt}, {age} ago; the attestation policy allows at most {maxAge}.',
    remediation: 'Have the target post a fresh attestation.',
  },
  {
    code: 'BACKUP_STALE',
    owner: 'target',
    modes: ['self-hosted'],
    actions: ['update'],
    when: "the last successful backup is older than the target policy's backupMaxAgeSeconds (or never happened)",
    message: '{lastBackup}; the target policy requires one within {maxAge} before an update.',
    remediation: 'Run a backup on the target and report its time in backupPolicy.lastBackupAt.',
  },
  {
    code: 'STRATEGY_NOT_ALLOWED',
    owner: 'target',
    modes: ['saas'],
    actions: ALL_ACTIONS,
    when: "the SaaS target's deploy strategy is missing or not one of the target policy's saasStrategies",
    message: 'The SaaS target deploys {strategy}, which the target policy does not allow (allowed: {allowed}).',
    remediation: 'Set the target strategy to {allowed} with PATCH /targets/{targetId}.',
  },
  {
    code: 'MODE_REQUIREMENTS_UNMET',
    owner: 'target',
    modes: ['white-label', 'enterprise-private-cloud'],
    actions: ALL_ACTIONS,
    when: 'a setting the mode requires (SPEC §2) is missing, or the billing account is used by another tenant',
    message: 'The {mode} target does not meet its mode requirements: {problems}.',
    remediation: 'Set {settings} with PATCH /targets/{targetId}.',
  },
  {
    code: 'SECRETS_UNAVAILABLE',
    owner: 'secrets',
    modes: ALL_MODES,
    actions: ['provision', 'update'],
    when: "a secret the secrets policy requires for the mode has no usable source",
    message: 'Secrets required for {mode} targets have no usable source: {problems}.',
    remediation: '{remedy}',
  },
  {
    code: 'RELEASE_SIGNATURE_INVALID',
    owner: 'provisioning',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when:
      "the release no longer has the provisioning policy's signatureThreshold of distinct trusted keys " +
      '(active, not revoked, valid when the manifest was received)',
    message: 'Release {releaseId} has {counted} of {threshold} required trusted signatures{detail}.',
    remediation: 'Re-sign the release with enough active trusted keys and publish it as a new version.',
  },
  {
    code: 'RELEASE_EXPIRED',
    owner: 'provisioning',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: 'the release asked for has expired',
    message: 'Release {releaseId} expired at {expiresAt}.',
    remediation: 'Choose a newer release, or publish a new version with a later expiresAt.',
  },
  {
    code: 'RELEASE_NOT_FOR_MODE',
    owner: 'provisioning',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: "the release asked for does not list the target's mode",
    message: 'Release {releaseId} is for [{modes}], not for {mode} targets.',
    remediation: 'Choose a release built for {mode} targets.',
  },
  {
    code: 'RELEASE_DOWNGRADE',
    owner: 'provisioning',
    modes: ALL_MODES,
    actions: ['update', 'bind'],
    when: 'the release asked for is older (semver) than the bound release',
    message: 'Release {releaseId} is older than the bound release {boundId}.',
    remediation: 'Choose a release newer than {boundId}.',
  },
  {
    code: 'UPGRADE_PATH_UNSUPPORTED',
    owner: 'provisioning',
    modes: ALL_MODES,
    actions: ['update'],
    when: "the bound version is below the release's minUpgradeFrom",
    message: 'Release {releaseId} can only be installed over {minUpgradeFrom} or later; the target runs {boundId}.',
    remediation: 'Update to an intermediate release at or above {minUpgradeFrom} first.',
  },
  {
    code: 'REQUIRED_RELEASE_SKIPPED',
    owner: 'provisioning',
    modes: ALL_MODES,
    actions: ['update'],
    when: 'a release marked required lies strictly between the bound version and the new one',
    message: 'Updating from {boundId} to {releaseId} would skip the required release(s) {skipped}.',
    remediation: 'Update to {firstSkipped} first.',
  },
  {
    code: 'MIGRATIONS_NOT_BACKWARD_COMPATIBLE',
    owner: 'provisioning',
    modes: ['saas'],
    actions: ['update'],
    when:
      'a SaaS target deploying with rolling or blue-green would run a migration of the new release that ' +
      'is not backward-compatible, so old and new code cannot share the schema',
    message: 'Release {releaseId} brings migrations that are not backward-compatible ({migrations}) but the target deploys {strategy}.',
    remediation:
      'Split the change into expand/contract migrations that are backward-compatible and publish a new release.',
  },
  {
    code: 'ROLLBACK_PACKAGE_MISSING',
    owner: 'provisioning',
    modes: ['self-hosted'],
    actions: ['update'],
    when: 'the bound release is unknown or has no zip or compose artifact left to roll back to',
    message: '{problem}; a self-hosted update needs it as the rollback package.',
    remediation: 'Re-provision the target on a known release with a zip or compose artifact before updating it.',
  },
  {
    code: 'TARGET_BLOCKED',
    owner: 'target',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: 'the target is blocked and nobody has unblocked it (a decommissioned target is refused the same way)',
    message: '{state}',
    remediation: '{remedy}',
  },
  // Addition to the SPEC §4 table: a releaseId was given but no such release exists.
  {
    code: 'RELEASE_NOT_FOUND',
    owner: 'provisioning',
    modes: ALL_MODES,
    actions: ALL_ACTIONS,
    when: 'a releaseId is given but no release with that id exists',
    message: 'Release {releaseId} does not exist.',
    remediation: 'Publish the release first, or choose one listed by GET /releases.',
  },
] as const satisfies readonly BlockerSpec[];

export type BlockerCode = (typeof BLOCKERS)[number]['code'];
export const BLOCKER_CODES: readonly BlockerCode[] = BLOCKERS.map((b) => b.code);

const BY_CODE = new Map<string, BlockerSpec>(BLOCKERS.map((b) => [b.code, b]));

export function blockerSpec(code: BlockerCode): BlockerSpec {
  return BY_CODE.get(code)!;
}

export function isBlockerCode(code: string): code is BlockerCode {
  return BY_CODE.has(code);
}

/** Codes one policy kind owns, in registry order (what /KIND-policy/evaluate reports). */
export function codesOwnedBy(kind: PolicyKind): BlockerCode[] {
  return BLOCKERS.filter((b) => b.owner === kind).map((b) => b.code);
}

/** The modes a code applies to under the given attestation policy. */
export function modesOf(spec: BlockerSpec, policies: Pick<PolicyDocuments, 'attestation'>): readonly DeploymentMode[] {
  return spec.modes === 'attestation-required' ? policies.attestation.requiredForModes : spec.modes;
}

export function appliesTo(
  spec: BlockerSpec,
  mode: DeploymentMode,
  action: DecisionAction,
  policies: Pick<PolicyDocuments, 'attestation'>,
): boolean {
  return spec.actions.includes(action) && modesOf(spec, policies).includes(mode);
}

/**
 * Step Functions error name for a blocker (SPEC §7.1): `UNSUPPORTED_RUNTIME` → `Blocked.UnsupportedRuntime`,
 * so a state machine's Catch can match one blocker or all of them (`Blocked.*` by prefix in the task code).
 */
export function blockedErrorName(code: BlockerCode): string {
  return `Blocked.${code
    .toLowerCase()
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('')}`;
}

export type BlockerParams = Readonly<Record<string, string | number>>;

/** A message template split at its `{name}` placeholders: literals[i], params[names[i]], literals[i + 1], ... */
interface CompiledTemplate {
  readonly literals: readonly string[];
  readonly names: readonly string[];
}

function compile(template: string): CompiledTemplate {
  const literals: string[] = [];
  const names: string[] = [];
  const placeholder = /\{(\w+)\}/g;
  let from = 0;
  for (let m = placeholder.exec(template); m !== null; m = placeholder.exec(template)) {
    literals.push(template.slice(from, m.index));
    names.push(m[1]!);
    from = m.index + m[0].length;
  }
  literals.push(template.slice(from));
  return { literals, names };
}

function fill(template: CompiledTemplate, params: BlockerParams, code: string): string {
  const { literals, names } = template;
  let out = literals[0]!;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = params[name];
    // A missing parameter is a bug in a rule, not something to paper over with "undefined" in a message.
    if (value === undefined) throw new Error(`Blocker ${code}: no value for {${name}}`);
    out += String(value) + literals[i + 1]!;
  }
  return out;
}

// Templates are split once, not scanned with a regular expression for every blocker rendered.
const COMPILED = new Map<string, { message: CompiledTemplate; remediation: CompiledTemplate }>(
  BLOCKERS.map((b) => [b.code, { message: compile(b.message), remediation: compile(b.remediation) }]),
);

/** A blocker with its message and remediation filled from the registry templates. */
export function renderBlocker(code: BlockerCode, params: BlockerParams): Blocker {
  const templates = COMPILED.get(code)!;
  return { code, message: fill(templates.message, params, code), remediation: fill(templates.remediation, params, code) };
}
