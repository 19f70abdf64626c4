// Response shapes of every route (SPEC §3, §5), for the OpenAPI document only: openapi.ts (the `system`
// group) is the one runtime importer, so no other Lambda bundle carries these schemas. Handler modules
// import their route files, which is why the shapes are kept here, by operationId, and not on RouteSpec.
//
// Objects are `z.object` (open: a response may gain fields; the document does not forbid extra ones).
// The compile-time checks at the end tie each schema to the record or view type the handlers answer, and
// test/integration/openapi-responses.test.ts parses real responses with these schemas.
import * as z from 'zod';
import type { ZodType } from 'zod';
import { DEPLOYMENT_MODES, POLICY_KINDS, POLICY_SCHEMAS, provisioningPolicyDocument, type PolicyKind } from '../policies.js';
import { DECISION_ACTIONS } from './decisions.js';
import { API_GROUPS } from '../routes/types.js';
import {
  backupPolicySchema, channelSchema, ed25519PublicKey, enterpriseSchema, maintenanceWindowSchema, runtimeSchema,
  TARGET_STATUSES, whiteLabelSchema, x25519PublicKey,
} from './targets.js';
import { base64Bytes, commandId, cursor, hexDigest, identifier, isoTimestamp, keyId, MAX_PAGE_SIZE, multilineText, runId, text } from './common.js';
import { featureName } from './licenses.js';
import { scopeString } from './tokens.js';
import { auditStream } from '../routes/audit.js';
import { ARTIFACT_KINDS, artifactSchema, MAX_SIGNATURES, migrationSchema, signedReleaseSchema } from '../manifest.js';
import { BLOCKER_CODES } from '../blockers.js';
import { MAX_WAVES } from '../rollouts.js';
import { CONFIG_LIMITS, MAX_CONFIG_VIOLATIONS } from './releases.js';
import { COMMAND_TYPES, STEPS } from '../workflows.js';
import type { AuditRecord, VerifyResult } from '../audit.js';
import type { AttestationRecord, Blocker, LicenseRecord, ReleaseRecord, SigningKeyRecord } from '../records.js';
import type { PublicToken } from '../tokens.js';
import type { CommandRecord, ExecutionStatus, ExecutionStep, StepStatus, WorkflowKind } from '../workflows.js';
import type { RolloutItem, RolloutStatus, RolloutTargetItem, SkipCode, TargetOutcome, WaveItem, WaveKind, WaveStatus } from '../rollouts.js';
import type { ConfigValidationResult, ConfigViolationCode } from '../config-validation.js';
import type { StoredPolicy } from '../../adapters/policies.js';
import type { HistoryItem } from '../../adapters/engine.js';
import type { executionView } from '../../api/executions.js';
import type { targetView } from '../../api/targets.js';

// ---------------------------------------------------------------------------------------------------------
// Building blocks

/** ISO 8601 timestamp (handlers write UTC `toISOString()`; client-supplied ones may carry an offset). */
const timestamp = isoTimestamp;
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const deploymentMode = z.enum(DEPLOYMENT_MODES);
const modes = z.array(deploymentMode).max(DEPLOYMENT_MODES.length);
/** Open JSON objects (audit details, command payloads and outputs, the signed manifest): names bounded. */
const jsonObject = z.record(text(128, 1), z.unknown());
/** Who acted: `token:<id>`, `rollout:<id>`, or a component such as `reconciler` or `local-runtime`. */
const actor = z.string().min(1).max(96).regex(/^[a-z][a-z-]*(?::[A-Za-z0-9][A-Za-z0-9._-]*)?$/);
const auditActor = actor;
const rolloutActor = actor;
/** Step Functions keeps at most 25,000 events of an execution (a service quota). */
const MAX_HISTORY_EVENTS = 25_000;
/** Steps of a run: one per state, retries counted in `attempts`. */
const MAX_STEPS = STEPS.length + 8;
/** Messages the server writes (blockers, skips, adjustments, attestation reasons, step summaries). */
const message = text(2000);
/** An attestation fails for at most these many reasons (signature, age, future, each flag, release). */
const attestationReasons = z.array(message).max(8);
const problemCode = z.string().min(1).max(64).regex(/^[A-Z][A-Z0-9_]*$/);
/** A version the server stores (release ids are versions). */
const version = identifier;
const sha256 = hexDigest(32);
/** `dcp_<id>.<secret>`, shown once. */
const tokenSecret = z.string().length(68).regex(/^dcp_[a-z0-9]{20}\.[A-Za-z0-9_-]{43}$/);
/** Step Functions execution ARNs. */
const executionArn = z.string().min(20).max(2048).regex(/^arn:[\w-]+:states:[\w-]*:\d*:execution:[\w.:-]+$/);
/** Step keys as records use them, e.g. runHealthChecks. */
const stepKey = z.string().min(1).max(64).regex(/^[a-z][A-Za-z0-9]*$/);

/** A list page: `cursor` is null on the last page, otherwise passed back as `?cursor=`. */
function page<T extends ZodType>(item: T) {
  return z.object({ items: z.array(item).max(MAX_PAGE_SIZE), cursor: cursor.nullable() });
}

export const blocker = z.object({ code: problemCode, message, remediation: message.optional() });
const blockers = z.array(blocker).max(BLOCKER_CODES.length);

// Enums kept as types only in the core modules (checked for equality below).
const rolloutStatus = z.enum(['PLANNING', 'RUNNING', 'SUCCEEDED', 'HALTED', 'FAILED']);
const waveStatus = z.enum(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'HALTED']);
const waveKind = z.enum(['canary', 'batch']);
const targetOutcome = z.enum(['planned', 'waiting-window', 'skipped-blocked', 'skipped', 'updating', 'succeeded', 'failed', 'halted']);
const skipCode = z.enum(['TARGET_NOT_ACTIVE', 'ALREADY_ON_RELEASE', 'MAINTENANCE_WINDOW_INVALID']);
const workflowKind = z.enum(['provisioning', 'update']);
const executionStatus = z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);
const stepStatus = z.enum(['RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'SKIPPED']);
const configViolationCode = z.enum([
  'APP_DEBUG_NOT_FALSE', 'APP_ENV_NOT_PRODUCTION', 'REQUIRED_KEY_MISSING', 'SECRET_LITERAL',
  'SECRET_SOURCE_NOT_ALLOWED', 'DUPLICATE_KEY', 'INVALID_KEY_NAME', 'SYNTAX_ERROR',
]);
const errorInfo = z.object({ name: text(256, 1), message: text(2000) });
const maintenanceWindow = z.object(maintenanceWindowSchema.shape);

// ---------------------------------------------------------------------------------------------------------
// Resources (components.schemas)

export const target = z.object({
  id: identifier,
  name: text(200, 1),
  mode: deploymentMode,
  tenantId: identifier,
  licenseId: identifier,
  channel: channelSchema.describe('Release channel the target follows'),
  publicKey: ed25519PublicKey.describe('Ed25519 public key (base64); signs attestations'),
  agentPublicKey: ed25519PublicKey.optional().describe("Ed25519 key of the target's agent; signs command results (default publicKey)"),
  encryptionKey: x25519PublicKey.optional().describe('X25519 public key (base64); secrets travel encrypted to it'),
  agent: z.literal('simulated').optional().describe('Local runtime only'),
  tokenId: identifier.describe("Id of the target's own target:<id> token"),
  runtime: runtimeSchema.describe('Component → version, as last reported'),
  runtimeReportedAt: timestamp,
  backupPolicy: z.object(backupPolicySchema.shape).optional(),
  strategy: z.enum(['blue-green', 'rolling', 'in-place']).optional(),
  maintenanceWindow: maintenanceWindow.optional(),
  whiteLabel: z.object(whiteLabelSchema.shape).partial().optional(),
  enterprise: z.object({ ...enterpriseSchema.shape, sso: z.unknown() }).partial().optional(),
  status: z.enum(TARGET_STATUSES),
  blockers,
  currentRelease: version.optional(),
  rollbackRelease: version.optional(),
  licenseSeat: z.boolean().optional().describe("Whether the target holds one of its license's seats"),
  installerLocked: z.boolean(),
  maintenanceMode: z.boolean(),
  lastHeartbeatAt: timestamp.optional(),
  attestation: z
    .object({ result: z.enum(['passed', 'failed']), issuedAt: timestamp, receivedAt: timestamp, reasons: attestationReasons })
    .optional()
    .describe('Summary of the latest attestation'),
  createdAt: timestamp,
  updatedAt: timestamp,
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).describe('Optimistic concurrency; also the ETag'),
});

export const license = z.object({
  id: identifier,
  customerId: identifier,
  entitlements: z.object({ modes, maxTargets: z.number().int().min(1).max(1_000_000), features: z.array(featureName).max(32) }),
  expiresAt: timestamp,
  status: z.enum(['active', 'revoked']),
  revokedAt: timestamp.optional(),
  revokedReason: text(1000).optional(),
  targetCount: count.describe('Targets registered against this license'),
  createdAt: timestamp,
});

export const release = z.object({
  id: version.describe('The manifest version, unique across channels'),
  name: signedReleaseSchema.shape.name,
  version,
  channel: channelSchema,
  versionKey: z.string().min(1).max(256).regex(/^[0-9A-Za-z.~!-]+$/).describe('Sortable encoding of the version (index key)'),
  status: z.enum(['published', 'revoked']),
  publishedAt: timestamp,
  expiresAt: timestamp,
  modes,
  artifacts: z.array(z.object({ ...artifactSchema.shape, kind: z.string().min(1).max(16).regex(/^[a-z]+$/).describe(ARTIFACT_KINDS.join(', ')) })).max(100),
  migrations: z.array(z.object(migrationSchema.shape)).max(10_000),
  runtime: signedReleaseSchema.shape.runtime.describe('Component → semver range the release needs'),
  required: z.boolean(),
  minUpgradeFrom: version.optional(),
  config: signedReleaseSchema.shape.config,
  manifest: z
    .object({ signed: jsonObject, signatures: z.array(z.object({ keyId, sig: multilineText(200).min(1) })).max(MAX_SIGNATURES) })
    .describe('The manifest exactly as received'),
  validSignerKeyIds: z.array(keyId).max(MAX_SIGNATURES),
  requiredVersionsBefore: z.array(version).describe('Every required release below this one on its channel (grows with the channel)'),
  receivedAt: timestamp,
  revokedAt: timestamp.optional(),
  revokedReason: text(1000).optional(),
});

export const signingKey = z.object({
  keyId: keyId.describe('Lowercase hex SHA-256 of the raw public key'),
  publicKey: base64Bytes(32),
  status: z.enum(['active', 'revoked']),
  notBefore: timestamp,
  notAfter: timestamp.optional(),
  revokedAt: timestamp.optional(),
  createdAt: timestamp,
});

export const token = z.object({
  id: identifier,
  scopes: z.array(scopeString).max(8),
  description: text(200).optional(),
  createdAt: timestamp,
  createdBy: actor,
  expiresAt: timestamp.optional(),
  revokedAt: timestamp.optional(),
  revokedBy: actor.optional(),
  status: z.enum(['active', 'revoked', 'expired']),
});

export const createdToken = z.object({
  id: identifier,
  token: tokenSecret.describe('dcp_<id>.<secret>; shown only in this answer'),
  scopes: z.array(scopeString).max(8),
  expiresAt: timestamp.nullable(),
  description: text(200).nullable(),
});

function policy<K extends PolicyKind>(kind: K) {
  return z.object({
    kind: z.literal(kind),
    version: count.describe('0 for the documented default; the ETag'),
    document: POLICY_SCHEMAS[kind] as (typeof POLICY_SCHEMAS)[K],
    updatedAt: timestamp.nullable(),
    updatedBy: actor.nullable(),
    comment: text(500).optional(),
  });
}
export const policies = {
  target: policy('target'),
  provisioning: policy('provisioning'),
  secrets: policy('secrets'),
  attestation: policy('attestation'),
} as const;

const decisionCommon = {
  decision: z.enum(['allow', 'deny']),
  blockers: blockers.describe('Empty when allowed, in registry order'),
  action: z.enum(DECISION_ACTIONS),
  evaluatedAt: timestamp,
};
export const decision = z.object({
  ...decisionCommon,
  policyVersions: z.object(Object.fromEntries(POLICY_KINDS.map((k) => [k, count])) as Record<PolicyKind, typeof count>),
});
export const policyEvaluation = z.object({ ...decisionCommon, policyVersion: count });

export const auditRecord = z.object({
  stream: auditStream.describe('control or target:<id>'),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  at: timestamp,
  actor: auditActor,
  action: z.string().min(1).max(64).regex(/^[a-z][A-Za-z0-9._-]*$/),
  targetId: identifier.optional(),
  details: jsonObject,
  prevHash: sha256.describe('hash of the record before (64 zeros for the first)'),
  hash: sha256.describe('SHA-256 over the RFC 8785 form of the record without hash'),
});

export const auditVerification = z.object({
  stream: auditStream,
  valid: z.boolean(),
  checked: count,
  head: z.object({ seq: count, hash: sha256 }).nullable(),
  firstBrokenSeq: count.optional(),
  reason: message.optional(),
});

export const executionStep = z.object({
  name: text(80, 1).describe('The state name, e.g. "Run health checks"'),
  key: stepKey.describe('The step key records use, e.g. runHealthChecks'),
  status: stepStatus,
  attempts: count,
  startedAt: timestamp,
  stoppedAt: timestamp.optional(),
  error: errorInfo.optional(),
  summary: message.optional(),
});

export const execution = z.object({
  id: runId,
  kind: workflowKind,
  targetId: identifier,
  releaseId: version,
  status: executionStatus,
  startedAt: timestamp,
  stoppedAt: timestamp.nullable(),
  steps: z.array(executionStep).max(MAX_STEPS),
  blockers: blockers.optional(),
  compensatedAt: timestamp.optional(),
});

export const command = z.object({
  id: commandId,
  targetId: identifier,
  executionId: runId,
  step: stepKey,
  type: z.enum(COMMAND_TYPES),
  status: z.enum(['pending', 'delivered', 'succeeded', 'failed', 'timed-out']),
  payload: jsonObject.describe('References, encrypted secrets, release id; never plain secret values'),
  attempt: z.number().int().min(1).max(1000),
  createdAt: timestamp,
  deliveredAt: timestamp.optional(),
  completedAt: timestamp.optional(),
  result: z
    .object({ status: z.enum(['succeeded', 'failed']), output: z.unknown().optional(), error: errorInfo.optional(), issuedAt: timestamp })
    .optional(),
});

const rolloutSettings = z.object(provisioningPolicyDocument.shape.rollout.shape);
const adjustments = z.array(message).max(8);

export const rollout = z.object({
  id: runId,
  releaseId: version,
  channel: channelSchema,
  modes,
  status: rolloutStatus.describe('PLANNING only while the plan is being written'),
  settings: rolloutSettings,
  adjustments,
  waveCount: count,
  counts: z.object({
    targets: count,
    planned: count,
    waitingWindow: count,
    blocked: count,
    skipped: count,
    succeeded: count,
    failed: count,
  }),
  policyVersion: count,
  createdAt: timestamp,
  createdBy: rolloutActor,
  updatedAt: timestamp,
  executionArn: executionArn.optional(),
  haltedAt: timestamp.optional(),
  haltedBy: actor.optional(),
  haltReason: text(1000).optional(),
  failedAt: timestamp.optional(),
  failureReason: message.optional(),
  finishedAt: timestamp.optional(),
});

export const rolloutWave = z.object({
  index: count,
  kind: waveKind,
  size: count,
  status: waveStatus,
  failures: count,
  succeeded: count,
  startedAt: timestamp.optional(),
  stoppedAt: timestamp.optional(),
  executionArn: executionArn.optional(),
});

export const rolloutTarget = z.object({
  targetId: identifier,
  mode: deploymentMode,
  wave: count.nullable().describe('Wave index, or null for targets in no wave'),
  outcome: targetOutcome,
  blockers: blockers.optional(),
  skip: z.object({ code: skipCode, message }).optional(),
  windowOpensAt: timestamp.optional(),
  maintenanceWindow: maintenanceWindow.optional(),
  executionId: runId.optional(),
  updatedAt: timestamp,
});

/** Named schemas of `components.schemas`; routes refer to them with $ref. */
export const RESPONSE_COMPONENTS: Readonly<Record<string, ZodType>> = {
  Blocker: blocker,
  Target: target,
  License: license,
  Release: release,
  SigningKey: signingKey,
  Token: token,
  CreatedToken: createdToken,
  TargetPolicy: policies.target,
  ProvisioningPolicy: policies.provisioning,
  SecretsPolicy: policies.secrets,
  AttestationPolicy: policies.attestation,
  Decision: decision,
  PolicyEvaluation: policyEvaluation,
  AuditRecord: auditRecord,
  AuditVerification: auditVerification,
  ExecutionStep: executionStep,
  Execution: execution,
  Command: command,
  Rollout: rollout,
  RolloutWave: rolloutWave,
  RolloutTarget: rolloutTarget,
};

// ---------------------------------------------------------------------------------------------------------
// Route answers, by operationId

const rolloutStart = z.object({
  id: runId,
  status: rolloutStatus,
  waves: count,
  planned: count,
  skipped: count.describe('blocked + not updatable'),
  blocked: count,
  waitingWindow: count,
  settings: rolloutSettings,
  adjustments,
});
const stopResult = z.enum(['stopped', 'not-running', 'failed']);
const configValidation = z.object({
  valid: z.boolean(),
  violations: z
    .array(z.object({ key: text(256), code: configViolationCode, message, line: z.number().int().min(1).max(CONFIG_LIMITS.textLength).optional() }))
    .max(MAX_CONFIG_VIOLATIONS)
    .describe(`The first ${MAX_CONFIG_VIOLATIONS} violations`),
  omitted: z.number().int().min(1).max(CONFIG_LIMITS.textLength).optional().describe('Violations found beyond the ones listed'),
});
const historyItem = z.object({
  id: z.number().int().min(1).max(MAX_HISTORY_EVENTS),
  timestamp,
  type: z.string().min(1).max(64).regex(/^[A-Za-z]+$/),
  state: text(80, 1).optional(),
  details: jsonObject.optional(),
});

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
const policyResponses: Record<string, ZodType> = Object.fromEntries(
  POLICY_KINDS.flatMap((kind) => [
    [`get${cap(kind)}Policy`, policies[kind]],
    [`put${cap(kind)}Policy`, policies[kind]],
    [`list${cap(kind)}PolicyVersions`, page(policies[kind])],
    [`evaluate${cap(kind)}Policy`, policyEvaluation],
  ]),
);

/** The success body of every route, by operationId (test/unit/openapi.test.ts checks none is missing). */
export const RESPONSE_SCHEMAS: Readonly<Record<string, ZodType>> = {
  // system
  getHealth: z.object({ status: z.literal('ok'), time: timestamp }),
  getOpenApi: z.object({
    openapi: z.literal('3.1.0'),
    info: jsonObject,
    servers: z.array(jsonObject).max(4),
    tags: z.array(z.object({ name: z.enum(API_GROUPS), description: text(200) })).max(API_GROUPS.length),
    paths: jsonObject,
    components: jsonObject,
  }),
  // tokens
  createToken: createdToken,
  listTokens: page(token),
  revokeToken: token,
  // policies and evaluations
  ...policyResponses,
  // decisions
  decide: decision,
  // licenses
  createLicense: license,
  getLicense: license,
  revokeLicense: license,
  // targets
  registerTarget: z.object({ target, token: tokenSecret.describe("The target's token, shown only here"), tokenId: identifier }),
  listTargets: page(target),
  getTarget: target,
  patchTarget: target,
  heartbeat: z.object({
    license: z.object({ status: z.enum(['active', 'revoked', 'expired', 'not-found']), expiresAt: timestamp.nullable() }),
    receivedAt: timestamp,
  }),
  postAttestation: z.object({ result: z.enum(['passed', 'failed']), reasons: attestationReasons, policyVersion: count }),
  unblockTarget: target,
  decommissionTarget: target,
  // runs
  provisionTarget: z.object({ executionId: runId, replayed: z.boolean().describe('The Idempotency-Key was seen before') }),
  updateTarget: z.object({ executionId: runId, replayed: z.boolean().describe('The Idempotency-Key was seen before') }),
  // releases and signing keys
  publishRelease: release,
  listReleases: page(release),
  getRelease: release,
  revokeRelease: release,
  addSigningKey: signingKey,
  listSigningKeys: page(signingKey),
  revokeSigningKey: signingKey,
  validateConfig: configValidation,
  // audit
  listAudit: z.object({ stream: auditStream, items: z.array(auditRecord).max(MAX_PAGE_SIZE), cursor: cursor.nullable() }),
  verifyAudit: auditVerification,
  // executions
  getExecution: execution,
  getExecutionHistory: z.object({ executionId: runId, events: z.array(historyItem).max(MAX_HISTORY_EVENTS), cursor: cursor.nullable() }),
  listTargetExecutions: page(execution),
  // commands
  listTargetCommands: page(command),
  postCommandResult: z.object({ command, awaited: z.boolean().describe('A run was still waiting for this result') }),
  postCommandHeartbeat: z.object({ commandId, receivedAt: timestamp }),
  createArtifactUpload: z.object({
    release: identifier,
    artifact: text(128, 1),
    alreadyStored: z.boolean(),
    url: z.url().max(8192),
    method: z.literal('PUT'),
    headers: z.record(text(128, 1), text(1024)),
    expiresAt: isoTimestamp,
    key: text(1024, 1),
  }),
  getReleaseDownload: z.object({
    releaseId: identifier,
    manifest: z.object({ signed: jsonObject, signatures: z.array(z.object({ keyId, sig: multilineText(200).min(1) })).max(MAX_SIGNATURES) }),
    artifacts: z
      .array(z.object({ name: text(128, 1), kind: text(32, 1), sha256: hexDigest(32), size: count, url: z.url().max(8192), expiresAt: isoTimestamp }))
      .max(100),
  }),
  // rollouts
  startRollout: rolloutStart,
  listRollouts: page(rollout),
  getRollout: rollout.extend({ waves: z.array(rolloutWave).max(MAX_WAVES), targets: page(rolloutTarget) }),
  haltRollout: rollout.extend({
    stopped: z.object({ rollout: stopResult, waves: z.array(z.object({ index: count, result: stopResult })).max(MAX_WAVES) }),
  }),
};

// ---------------------------------------------------------------------------------------------------------
// Compile-time ties to the types the handlers answer: a field renamed, retyped or made optional in a
// record fails `tsc` here.

type Fits<Actual, S extends ZodType> = [Actual] extends [z.output<S>] ? true : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type ResponseSchemaChecks = [
  Assert<Fits<ReturnType<typeof targetView>, typeof target>>,
  Assert<Same<keyof ReturnType<typeof targetView>, keyof z.output<typeof target>>>,
  Assert<Fits<LicenseRecord, typeof license>>,
  Assert<Same<keyof LicenseRecord, keyof z.output<typeof license>>>,
  Assert<Fits<ReleaseRecord, typeof release>>,
  Assert<Same<keyof ReleaseRecord, keyof z.output<typeof release>>>,
  Assert<Fits<SigningKeyRecord, typeof signingKey>>,
  Assert<Same<keyof SigningKeyRecord, keyof z.output<typeof signingKey>>>,
  Assert<Fits<PublicToken, typeof token>>,
  Assert<Same<keyof PublicToken, keyof z.output<typeof token>>>,
  Assert<Fits<StoredPolicy<'target'>, typeof policies.target>>,
  Assert<Fits<StoredPolicy<'provisioning'>, typeof policies.provisioning>>,
  Assert<Fits<StoredPolicy<'secrets'>, typeof policies.secrets>>,
  Assert<Fits<StoredPolicy<'attestation'>, typeof policies.attestation>>,
  Assert<Fits<Blocker, typeof blocker>>,
  Assert<Same<AttestationRecord['result'], NonNullable<z.output<typeof target>['attestation']>['result']>>,
  Assert<Fits<AuditRecord, typeof auditRecord>>,
  Assert<Same<keyof AuditRecord, keyof z.output<typeof auditRecord>>>,
  Assert<Fits<VerifyResult & { stream: string }, typeof auditVerification>>,
  Assert<Fits<ReturnType<typeof executionView>, typeof execution>>,
  Assert<Same<keyof ReturnType<typeof executionView>, keyof z.output<typeof execution>>>,
  Assert<Same<keyof ExecutionStep | 'key', keyof z.output<typeof executionStep>>>,
  Assert<Fits<Omit<CommandRecord, 'taskToken'>, typeof command>>,
  Assert<Same<Exclude<keyof CommandRecord, 'taskToken'>, keyof z.output<typeof command>>>,
  Assert<Fits<Omit<RolloutItem, 'sk'>, typeof rollout>>,
  Assert<Same<Exclude<keyof RolloutItem, 'sk'>, keyof z.output<typeof rollout>>>,
  Assert<Fits<Omit<WaveItem, 'sk' | 'id' | 'targetIds'>, typeof rolloutWave>>,
  Assert<Fits<Omit<RolloutTargetItem, 'sk' | 'id'>, typeof rolloutTarget>>,
  Assert<Same<Exclude<keyof RolloutTargetItem, 'sk' | 'id'>, keyof z.output<typeof rolloutTarget>>>,
  Assert<Fits<ConfigValidationResult, typeof configValidation>>,
  Assert<Fits<HistoryItem, typeof historyItem>>,
  Assert<Same<RolloutStatus, z.output<typeof rolloutStatus>>>,
  Assert<Same<WaveStatus, z.output<typeof waveStatus>>>,
  Assert<Same<WaveKind, z.output<typeof waveKind>>>,
  Assert<Same<TargetOutcome, z.output<typeof targetOutcome>>>,
  Assert<Same<SkipCode, z.output<typeof skipCode>>>,
  Assert<Same<WorkflowKind, z.output<typeof workflowKind>>>,
  Assert<Same<ExecutionStatus, z.output<typeof executionStatus>>>,
  Assert<Same<StepStatus, z.output<typeof stepStatus>>>,
  Assert<Same<ConfigViolationCode, z.output<typeof configViolationCode>>>,
  Assert<Same<z.output<typeof provisioningPolicyDocument>['rollout'], z.output<typeof rolloutSettings>>>,
];
