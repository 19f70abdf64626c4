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
import { TARGET_STATUSES } from './targets.js';
import { COMMAND_TYPES } from '../workflows.js';
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
const timestamp = z.iso.datetime({ offset: true });
const count = z.number().int().min(0);
const deploymentMode = z.enum(DEPLOYMENT_MODES);
const stringMap = z.record(z.string(), z.string());
const jsonObject = z.record(z.string(), z.unknown());

/** A list page: `cursor` is null on the last page, otherwise passed back as `?cursor=`. */
function page<T extends ZodType>(item: T) {
  return z.object({ items: z.array(item), cursor: z.string().nullable() });
}

export const blocker = z.object({ code: z.string(), message: z.string(), remediation: z.string().optional() });

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
const errorInfo = z.object({ name: z.string(), message: z.string() });
const maintenanceWindow = z.object({ cron: z.string(), durationMinutes: z.number().int() });

// ---------------------------------------------------------------------------------------------------------
// Resources (components.schemas)

export const target = z.object({
  id: z.string(),
  name: z.string(),
  mode: deploymentMode,
  tenantId: z.string(),
  licenseId: z.string(),
  channel: z.string().describe('Release channel the target follows'),
  publicKey: z.string().describe('Ed25519 public key (base64); signs attestations'),
  agentPublicKey: z.string().optional().describe("Ed25519 key of the target's agent; signs command results (default publicKey)"),
  encryptionKey: z.string().optional().describe('X25519 public key (base64); secrets travel encrypted to it'),
  agent: z.literal('simulated').optional().describe('Local runtime only'),
  tokenId: z.string().describe("Id of the target's own target:<id> token"),
  runtime: stringMap.describe('Component → version, as last reported'),
  runtimeReportedAt: timestamp,
  backupPolicy: z.object({ schedule: z.string(), retentionDays: z.number().int(), lastBackupAt: timestamp.optional() }).optional(),
  strategy: z.enum(['blue-green', 'rolling', 'in-place']).optional(),
  maintenanceWindow: maintenanceWindow.optional(),
  whiteLabel: z.object({ customDomain: z.string().optional(), brandingRef: z.string().optional(), billingAccountId: z.string().optional() }).optional(),
  enterprise: z
    .object({ vpcId: z.string().optional(), sso: z.unknown().optional(), privateStorageBucket: z.string().optional(), aiGatewayEndpoint: z.string().optional() })
    .optional(),
  status: z.enum(TARGET_STATUSES),
  blockers: z.array(blocker),
  currentRelease: z.string().optional(),
  licenseSeat: z.boolean().optional().describe("Whether the target holds one of its license's seats"),
  rollbackRelease: z.string().optional(),
  installerLocked: z.boolean(),
  maintenanceMode: z.boolean(),
  lastHeartbeatAt: timestamp.optional(),
  attestation: z
    .object({ result: z.enum(['passed', 'failed']), issuedAt: timestamp, receivedAt: timestamp, reasons: z.array(z.string()) })
    .optional()
    .describe('Summary of the latest attestation'),
  createdAt: timestamp,
  updatedAt: timestamp,
  version: z.number().int().min(1).describe('Optimistic concurrency; also the ETag'),
});

export const license = z.object({
  id: z.string(),
  customerId: z.string(),
  entitlements: z.object({ modes: z.array(deploymentMode), maxTargets: z.number().int(), features: z.array(z.string()) }),
  expiresAt: timestamp,
  status: z.enum(['active', 'revoked']),
  revokedAt: timestamp.optional(),
  revokedReason: z.string().optional(),
  targetCount: count.describe('Targets registered against this license'),
  createdAt: timestamp,
});

export const release = z.object({
  id: z.string().describe('The manifest version, unique across channels'),
  name: z.string(),
  version: z.string(),
  channel: z.string(),
  versionKey: z.string().describe('Sortable encoding of the version (index key)'),
  status: z.enum(['published', 'revoked']),
  publishedAt: timestamp,
  expiresAt: timestamp,
  modes: z.array(deploymentMode),
  artifacts: z.array(z.object({ name: z.string(), kind: z.string(), sha256: z.string(), size: z.number().int() })),
  migrations: z.array(z.object({ id: z.string(), checksum: z.string(), backwardCompatible: z.boolean() })),
  runtime: stringMap.describe('Component → semver range the release needs'),
  required: z.boolean(),
  minUpgradeFrom: z.string().optional(),
  config: stringMap,
  manifest: z
    .object({ signed: jsonObject, signatures: z.array(z.object({ keyId: z.string(), sig: z.string() })) })
    .describe('The manifest exactly as received'),
  validSignerKeyIds: z.array(z.string()),
  requiredVersionsBefore: z.array(z.string()),
  receivedAt: timestamp,
  revokedAt: timestamp.optional(),
  revokedReason: z.string().optional(),
});

export const signingKey = z.object({
  keyId: z.string().describe('Lowercase hex SHA-256 of the raw public key'),
  publicKey: z.string(),
  status: z.enum(['active', 'revoked']),
  notBefore: timestamp,
  notAfter: timestamp.optional(),
  revokedAt: timestamp.optional(),
  createdAt: timestamp,
});

export const token = z.object({
  id: z.string(),
  scopes: z.array(z.string()),
  description: z.string().optional(),
  createdAt: timestamp,
  createdBy: z.string(),
  expiresAt: timestamp.optional(),
  revokedAt: timestamp.optional(),
  revokedBy: z.string().optional(),
  status: z.enum(['active', 'revoked', 'expired']),
});

export const createdToken = z.object({
  id: z.string(),
  token: z.string().describe('dcp_<id>.<secret>; shown only in this answer'),
  scopes: z.array(z.string()),
  expiresAt: timestamp.nullable(),
  description: z.string().nullable(),
});

function policy<K extends PolicyKind>(kind: K) {
  return z.object({
    kind: z.literal(kind),
    version: count.describe('0 for the documented default; the ETag'),
    document: POLICY_SCHEMAS[kind] as (typeof POLICY_SCHEMAS)[K],
    updatedAt: timestamp.nullable(),
    updatedBy: z.string().nullable(),
    comment: z.string().optional(),
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
  blockers: z.array(blocker).describe('Empty when allowed, in registry order'),
  action: z.enum(DECISION_ACTIONS),
  evaluatedAt: timestamp,
};
export const decision = z.object({
  ...decisionCommon,
  policyVersions: z.object(Object.fromEntries(POLICY_KINDS.map((k) => [k, count])) as Record<PolicyKind, typeof count>),
});
export const policyEvaluation = z.object({ ...decisionCommon, policyVersion: count });

export const auditRecord = z.object({
  stream: z.string().describe('control or target:<id>'),
  seq: z.number().int().min(1),
  at: timestamp,
  actor: z.string(),
  action: z.string(),
  targetId: z.string().optional(),
  details: jsonObject,
  prevHash: z.string().describe('hash of the record before (64 zeros for the first)'),
  hash: z.string().describe('SHA-256 over the RFC 8785 form of the record without hash'),
});

export const auditVerification = z.object({
  stream: z.string(),
  valid: z.boolean(),
  checked: count,
  head: z.object({ seq: count, hash: z.string() }).nullable(),
  firstBrokenSeq: z.number().int().optional(),
  reason: z.string().optional(),
});

export const executionStep = z.object({
  name: z.string().describe('The state name, e.g. "Run health checks"'),
  key: z.string().describe('The step key records use, e.g. runHealthChecks'),
  status: stepStatus,
  attempts: count,
  startedAt: timestamp,
  stoppedAt: timestamp.optional(),
  error: errorInfo.optional(),
  summary: z.string().optional(),
});

export const execution = z.object({
  id: z.string(),
  kind: workflowKind,
  targetId: z.string(),
  releaseId: z.string(),
  status: executionStatus,
  startedAt: timestamp,
  stoppedAt: timestamp.nullable(),
  steps: z.array(executionStep),
  blockers: z.array(blocker).optional(),
  compensatedAt: timestamp.optional(),
});

export const command = z.object({
  id: z.string(),
  targetId: z.string(),
  executionId: z.string(),
  step: z.string(),
  type: z.enum(COMMAND_TYPES),
  status: z.enum(['pending', 'delivered', 'succeeded', 'failed', 'timed-out']),
  payload: jsonObject.describe('References, encrypted secrets, release id; never plain secret values'),
  attempt: z.number().int(),
  createdAt: timestamp,
  deliveredAt: timestamp.optional(),
  completedAt: timestamp.optional(),
  result: z
    .object({ status: z.enum(['succeeded', 'failed']), output: z.unknown().optional(), error: errorInfo.optional(), issuedAt: timestamp })
    .optional(),
});

const rolloutSettings = z.object({
  canarySize: z.number().int(),
  waveSize: z.number().int(),
  maxConcurrency: z.number().int(),
  maxFailures: z.number().int(),
});

export const rollout = z.object({
  id: z.string(),
  releaseId: z.string(),
  channel: z.string(),
  modes: z.array(deploymentMode),
  status: rolloutStatus.describe('PLANNING only while the plan is being written'),
  settings: rolloutSettings,
  adjustments: z.array(z.string()),
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
  createdBy: z.string(),
  updatedAt: timestamp,
  executionArn: z.string().optional(),
  haltedAt: timestamp.optional(),
  haltedBy: z.string().optional(),
  haltReason: z.string().optional(),
  failedAt: timestamp.optional(),
  failureReason: z.string().optional(),
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
  executionArn: z.string().optional(),
});

export const rolloutTarget = z.object({
  targetId: z.string(),
  mode: deploymentMode,
  wave: count.nullable().describe('Wave index, or null for targets in no wave'),
  outcome: targetOutcome,
  blockers: z.array(blocker).optional(),
  skip: z.object({ code: skipCode, message: z.string() }).optional(),
  windowOpensAt: timestamp.optional(),
  maintenanceWindow: maintenanceWindow.optional(),
  executionId: z.string().optional(),
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
  id: z.string(),
  status: rolloutStatus,
  waves: count,
  planned: count,
  skipped: count.describe('blocked + not updatable'),
  blocked: count,
  waitingWindow: count,
  settings: rolloutSettings,
  adjustments: z.array(z.string()),
});
const stopResult = z.enum(['stopped', 'not-running', 'failed']);
const configValidation = z.object({
  valid: z.boolean(),
  violations: z.array(z.object({ key: z.string(), code: configViolationCode, message: z.string(), line: z.number().int().min(1).optional() })),
  omitted: z.number().int().min(1).optional(),
});
const historyItem = z.object({ id: z.number().int(), timestamp, type: z.string(), state: z.string().optional(), details: jsonObject.optional() });

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
  getOpenApi: z.object({ openapi: z.literal('3.1.0'), info: jsonObject, paths: jsonObject, components: jsonObject }),
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
  registerTarget: z.object({ target, token: z.string().describe("The target's token, shown only here"), tokenId: z.string() }),
  listTargets: page(target),
  getTarget: target,
  patchTarget: target,
  heartbeat: z.object({
    license: z.object({ status: z.enum(['active', 'revoked', 'expired', 'not-found']), expiresAt: timestamp.nullable() }),
    receivedAt: timestamp,
  }),
  postAttestation: z.object({ result: z.enum(['passed', 'failed']), reasons: z.array(z.string()), policyVersion: count }),
  unblockTarget: target,
  decommissionTarget: target,
  // runs
  provisionTarget: z.object({ executionId: z.string(), replayed: z.boolean().describe('The Idempotency-Key was seen before') }),
  updateTarget: z.object({ executionId: z.string(), replayed: z.boolean().describe('The Idempotency-Key was seen before') }),
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
  listAudit: z.object({ stream: z.string(), items: z.array(auditRecord), cursor: z.string().nullable() }),
  verifyAudit: auditVerification,
  // executions
  getExecution: execution,
  getExecutionHistory: z.object({ executionId: z.string(), events: z.array(historyItem) }),
  listTargetExecutions: page(execution),
  // commands
  listTargetCommands: page(command),
  postCommandResult: z.object({ command, awaited: z.boolean().describe('A run was still waiting for this result') }),
  postCommandHeartbeat: z.object({ commandId: z.string(), receivedAt: timestamp }),
  // rollouts
  startRollout: rolloutStart,
  listRollouts: page(rollout),
  getRollout: rollout.extend({ waves: z.array(rolloutWave), targets: page(rolloutTarget) }),
  haltRollout: rollout.extend({
    stopped: z.object({ rollout: stopResult, waves: z.array(z.object({ index: count, result: stopResult })) }),
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
