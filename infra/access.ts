// Least privilege in one place: which tables each Lambda function may read or write. The API construct
// grants exactly this (and sets the matching table-name environment variables); the template tests check
// the synthesized IAM policies against it.
import type { ApiGroup } from '../functions/core/routes/index.js';
import type { TableId } from '../functions/core/tables.js';

export type TableAccess = 'read' | 'readWrite';
export type TableGrants = Readonly<Partial<Record<TableId, TableAccess>>>;

/** The API functions, one per route group, plus the authorizer in front of them. */
export type ApiFunctionName = ApiGroup | 'authorizer';

// Every function that changes state also appends to the audit trail (SPEC §8), in the same transaction,
// so each of those needs read-write access to the audit table (conditional seq write + head update).
export const API_TABLE_ACCESS: Readonly<Record<ApiFunctionName, TableGrants>> = {
  authorizer: { tokens: 'read' },
  system: {},
  tokens: { tokens: 'readWrite', audit: 'readWrite' },
  policies: { policies: 'readWrite', audit: 'readWrite' },
  decisions: {
    targets: 'read',
    licenses: 'read',
    releases: 'read',
    signingKeys: 'read',
    policies: 'read',
    attestations: 'read',
    // The trust set and billing-account guards are read by key on the decision path.
    guards: 'read',
    audit: 'readWrite',
  },
  licenses: { licenses: 'readWrite', audit: 'readWrite' },
  targets: {
    targets: 'readWrite',
    guards: 'readWrite',
    licenses: 'readWrite',
    attestations: 'readWrite',
    // Registration answers a `target:<id>` token, so the target's token item is written with it.
    tokens: 'readWrite',
    policies: 'read',
    // Starting provisioning and update runs: release check, idempotency item, execution record.
    releases: 'read',
    idempotency: 'readWrite',
    executions: 'readWrite',
    audit: 'readWrite',
  },
  releases: {
    releases: 'readWrite',
    signingKeys: 'readWrite',
    guards: 'readWrite',
    policies: 'read',
    targets: 'read',
    audit: 'readWrite',
  },
  audit: { audit: 'read', targets: 'read' },
  executions: { executions: 'read', targets: 'read' },
  // Agents' results complete waits: command, replay guard, execution step, audit.
  commands: { commands: 'readWrite', targets: 'read', guards: 'readWrite', executions: 'readWrite', audit: 'readWrite' },
};
