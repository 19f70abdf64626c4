// Stored shapes of the domain entities (SPEC §3): what the adapters write to DynamoDB and what the
// decision function reads. Timestamps are ISO 8601 strings in UTC.
import type { DeploymentMode } from './policies.js';

export type Runtime = Record<string, string>;

export type TargetStatus = 'registered' | 'provisioning' | 'active' | 'updating' | 'blocked' | 'decommissioned';
export type DeployStrategy = 'blue-green' | 'rolling' | 'in-place';

export interface Blocker {
  readonly code: string;
  readonly message: string;
  readonly remediation?: string;
}

export interface TargetRecord {
  id: string;
  name: string;
  mode: DeploymentMode;
  tenantId: string;
  licenseId: string;
  channel: string;
  /** `${channel}#${mode}`, maintained for the byChannelMode index. */
  channelMode: string;
  publicKey: string;
  agentPublicKey?: string;
  encryptionKey?: string;
  agent?: 'simulated';
  /** The target's own `target:<id>` token, revoked when the target is decommissioned. */
  tokenId: string;
  /** Latest runtime reported by registration, PATCH or heartbeat. */
  runtime: Runtime;
  runtimeReportedAt: string;
  backupPolicy?: { schedule: string; retentionDays: number; lastBackupAt?: string };
  strategy?: DeployStrategy;
  maintenanceWindow?: { cron: string; durationMinutes: number };
  whiteLabel?: { customDomain?: string; brandingRef?: string; billingAccountId?: string };
  enterprise?: { vpcId?: string; sso?: unknown; privateStorageBucket?: string; aiGatewayEndpoint?: string };
  status: TargetStatus;
  blockers: Blocker[];
  currentRelease?: string;
  /** Whether the target holds one of its license's seats (taken at registration, freed at decommission). */
  licenseSeat?: boolean;
  rollbackRelease?: string;
  installerLocked: boolean;
  maintenanceMode: boolean;
  lastHeartbeatAt?: string;
  /** Summary of the latest attestation (the full statement lives in the attestations table). */
  attestation?: { result: 'passed' | 'failed'; issuedAt: string; receivedAt: string; reasons: string[] };
  createdAt: string;
  updatedAt: string;
  /** Optimistic concurrency; exposed as the ETag. */
  version: number;
}

export interface LicenseRecord {
  id: string;
  customerId: string;
  entitlements: { modes: DeploymentMode[]; maxTargets: number; features: string[] };
  expiresAt: string;
  status: 'active' | 'revoked';
  revokedAt?: string;
  revokedReason?: string;
  /** Targets registered against this license (kept in the same transaction as registration). */
  targetCount: number;
  createdAt: string;
}

export interface SigningKeyRecord {
  keyId: string;
  publicKey: string;
  status: 'active' | 'revoked';
  /** Validity window: the key counts for manifests received inside it. */
  notBefore: string;
  notAfter?: string;
  revokedAt?: string;
  createdAt: string;
}

export interface AttestationRecord {
  targetId: string;
  /** "latest" for the copy of the newest attestation, otherwise `${issuedAt}#${signatureHash}`. */
  sk: string;
  statement: {
    _type: 'attestation';
    targetId: string;
    issuedAt: string;
    runtime: Runtime;
    releaseVersion?: string;
    flags: { appDebug: boolean };
  };
  signature: string;
  signatureValid: boolean;
  result: 'passed' | 'failed';
  reasons: string[];
  receivedAt: string;
}

export interface ReleaseArtifact {
  name: string;
  kind: string;
  sha256: string;
  size: number;
}

export interface ReleaseMigration {
  id: string;
  checksum: string;
  backwardCompatible: boolean;
}

export interface ReleaseRecord {
  /** The manifest version, unique across channels. */
  id: string;
  name: string;
  version: string;
  channel: string;
  /** Sortable encoding of the semver version for the byChannel index. */
  versionKey: string;
  status: 'published' | 'revoked';
  publishedAt: string;
  expiresAt: string;
  modes: DeploymentMode[];
  artifacts: ReleaseArtifact[];
  migrations: ReleaseMigration[];
  /** Component → semver range the release needs. */
  runtime: Runtime;
  required: boolean;
  minUpgradeFrom?: string;
  config: Record<string, string>;
  /** The manifest exactly as received ({signed, signatures}). */
  manifest: { signed: Record<string, unknown>; signatures: { keyId: string; sig: string }[] };
  /** keyIds whose signatures verified at publish (distinct). Decisions re-judge them against key status. */
  validSignerKeyIds: string[];
  /**
   * Versions on the same channel marked `required` that were published before this one, kept here at
   * publish so an update decision can find REQUIRED_RELEASE_SKIPPED by key (SPEC §4).
   */
  requiredVersionsBefore: string[];
  receivedAt: string;
  revokedAt?: string;
  revokedReason?: string;
}
