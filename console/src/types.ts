// The response shapes the console reads: a hand-kept subset of functions/core/schemas/responses.ts (the
// OpenAPI document's schemas). Only fields the pages show are listed; responses may carry more.

export interface Problem {
  type?: string;
  title: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { path: string; message: string }[];
}

export interface Page<T> {
  items: T[];
  cursor: string | null;
}

export interface Blocker {
  code: string;
  message: string;
  remediation?: string;
}

export const DEPLOYMENT_MODES = ['saas', 'self-hosted', 'white-label', 'enterprise-private-cloud'] as const;
export const TARGET_STATUSES = ['registered', 'provisioning', 'active', 'updating', 'blocked', 'decommissioned'] as const;
export const DECISION_ACTIONS = ['provision', 'update', 'bind'] as const;
export const POLICY_KINDS = ['target', 'provisioning', 'secrets', 'attestation'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export interface Target {
  id: string;
  name: string;
  mode: string;
  tenantId: string;
  licenseId: string;
  channel: string;
  agent?: string;
  runtime: Record<string, string>;
  runtimeReportedAt: string;
  strategy?: string;
  maintenanceWindow?: { cron: string; durationMinutes: number };
  status: string;
  blockers: Blocker[];
  currentRelease?: string;
  rollbackRelease?: string;
  installerLocked: boolean;
  maintenanceMode: boolean;
  lastHeartbeatAt?: string;
  attestation?: { result: 'passed' | 'failed'; issuedAt: string; receivedAt: string; reasons: string[] };
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface ExecutionStep {
  name: string;
  key: string;
  status: string;
  attempts: number;
  startedAt: string;
  stoppedAt?: string;
  error?: { name: string; message: string };
  summary?: string;
}

export interface Execution {
  id: string;
  kind: string;
  targetId: string;
  releaseId: string;
  status: string;
  startedAt: string;
  stoppedAt: string | null;
  steps: ExecutionStep[];
  blockers?: Blocker[];
  compensatedAt?: string;
}

export interface HistoryEvent {
  id: number;
  timestamp: string;
  type: string;
  state?: string;
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  stream: string;
  seq: number;
  at: string;
  actor: string;
  action: string;
  targetId?: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditVerification {
  stream: string;
  valid: boolean;
  checked: number;
  head: { seq: number; hash: string } | null;
  firstBrokenSeq?: number;
  reason?: string;
}

export interface Release {
  id: string;
  name: string;
  version: string;
  channel: string;
  status: 'published' | 'revoked';
  publishedAt: string;
  expiresAt: string;
  modes: string[];
  required: boolean;
  manifest: { signatures: { keyId: string; sig: string }[] };
  validSignerKeyIds: string[];
  receivedAt: string;
  revokedAt?: string;
  revokedReason?: string;
}

export interface SigningKey {
  keyId: string;
  status: 'active' | 'revoked';
  notBefore: string;
  notAfter?: string;
  revokedAt?: string;
  createdAt: string;
}

export interface Rollout {
  id: string;
  releaseId: string;
  channel: string;
  modes: string[];
  status: string;
  settings: { canarySize: number; waveSize: number; maxConcurrency: number; maxFailures: number };
  adjustments: string[];
  waveCount: number;
  counts: { targets: number; planned: number; waitingWindow: number; blocked: number; skipped: number; succeeded: number; failed: number };
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  haltedAt?: string;
  haltedBy?: string;
  haltReason?: string;
  failureReason?: string;
  finishedAt?: string;
}

export interface RolloutWave {
  index: number;
  kind: 'canary' | 'batch';
  size: number;
  status: string;
  failures: number;
  succeeded: number;
  startedAt?: string;
  stoppedAt?: string;
}

export interface RolloutTarget {
  targetId: string;
  mode: string;
  wave: number | null;
  outcome: string;
  blockers?: Blocker[];
  skip?: { code: string; message: string };
  windowOpensAt?: string;
  executionId?: string;
  updatedAt: string;
}

export interface RolloutDetail extends Rollout {
  waves: RolloutWave[];
  targets: Page<RolloutTarget>;
}

export interface Decision {
  decision: 'allow' | 'deny';
  blockers: Blocker[];
  action: string;
  evaluatedAt: string;
  policyVersions: Record<string, number>;
}

export interface StoredPolicy {
  kind: PolicyKind;
  version: number;
  document: Record<string, unknown>;
  updatedAt: string | null;
  updatedBy: string | null;
  comment?: string;
}
