// The one definition of every DynamoDB table: keys, indexes and TTL. The CDK stack (infra/) and the local
// runtime (local/) both create their tables from this list, and adapters resolve names through it.

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexSpec {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableSpec {
  /** Logical id; the physical name is resolved per environment (see tableEnvVar). */
  readonly id: TableId;
  readonly description: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly indexes?: readonly IndexSpec[];
  readonly timeToLiveAttribute?: string;
}

const s = (name: string): KeyAttribute => ({ name, type: 'S' });
const n = (name: string): KeyAttribute => ({ name, type: 'N' });

export const TABLE_IDS = [
  'targets',
  'guards',
  'licenses',
  'releases',
  'signingKeys',
  'tokens',
  'policies',
  'audit',
  'attestations',
  'executions',
  'idempotency',
  'commands',
  'rollouts',
] as const;
export type TableId = (typeof TABLE_IDS)[number];

export const TABLES: Readonly<Record<TableId, TableSpec>> = {
  targets: {
    id: 'targets',
    description: 'One item per target (environment of a tenant); version attribute is the ETag',
    partitionKey: s('id'),
    indexes: [
      { indexName: 'byTenant', partitionKey: s('tenantId'), sortKey: s('id') },
      { indexName: 'byStatus', partitionKey: s('status'), sortKey: s('id') },
      // channelMode = `${channel}#${mode}`: rollouts select targets of one channel and mode by index.
      { indexName: 'byChannelMode', partitionKey: s('channelMode'), sortKey: s('id') },
    ],
  },
  guards: {
    id: 'guards',
    description:
      'Uniqueness and sequence guards written in the same transaction as the item they protect ' +
      '(billing account ids, attestation and command-result replays, channel heads)',
    partitionKey: s('key'),
    timeToLiveAttribute: 'expiresAtEpoch',
  },
  licenses: {
    id: 'licenses',
    description: 'Licenses with entitlements; targetCount is maintained transactionally',
    partitionKey: s('id'),
  },
  releases: {
    id: 'releases',
    description: 'Published release manifests with their verification result',
    partitionKey: s('id'),
    indexes: [{ indexName: 'byChannel', partitionKey: s('channel'), sortKey: s('versionKey') }],
  },
  signingKeys: {
    id: 'signingKeys',
    description: 'Trusted release-signing public keys',
    partitionKey: s('keyId'),
  },
  tokens: {
    id: 'tokens',
    description: 'API tokens: only a SHA-256 hash of the secret is stored',
    partitionKey: s('id'),
  },
  policies: {
    id: 'policies',
    description: 'Policy documents: rev "head" holds the current version, zero-padded revs hold history',
    partitionKey: s('kind'),
    sortKey: s('rev'),
  },
  audit: {
    id: 'audit',
    description: 'Hash-chained audit records; seq 0 of each stream is its head item',
    partitionKey: s('stream'),
    sortKey: n('seq'),
  },
  attestations: {
    id: 'attestations',
    description: 'Attestations per target; sk "latest" holds a copy of the newest one',
    partitionKey: s('targetId'),
    sortKey: s('sk'),
  },
  executions: {
    id: 'executions',
    description: 'Workflow execution records with per-step status (outlive Step Functions history)',
    partitionKey: s('id'),
    indexes: [{ indexName: 'byTarget', partitionKey: s('targetId'), sortKey: s('startedAt') }],
  },
  idempotency: {
    id: 'idempotency',
    description: 'Idempotency keys of workflow starts: request hash and execution id',
    partitionKey: s('key'),
    timeToLiveAttribute: 'expiresAtEpoch',
  },
  commands: {
    id: 'commands',
    description: 'Commands for target agents',
    partitionKey: s('id'),
    indexes: [{ indexName: 'byTarget', partitionKey: s('targetId'), sortKey: s('createdAt') }],
  },
  rollouts: {
    id: 'rollouts',
    description: 'Rollouts: sk "plan" is the rollout, "wave#NNNN" its waves, "target#<id>" the outcome of each target',
    partitionKey: s('id'),
    sortKey: s('sk'),
    // Only plan items carry releaseId and createdAt, so the index lists rollouts, not their waves or targets.
    indexes: [{ indexName: 'byRelease', partitionKey: s('releaseId'), sortKey: s('createdAt') }],
  },
};

/** Environment variable that carries a table's physical name in AWS (set by the CDK stack). */
export function tableEnvVar(id: TableId): string {
  return `DCP_TABLE_${id.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** Local runtime and tests: physical name = prefix + logical id. */
export function localTableName(prefix: string, id: TableId): string {
  return `${prefix}${id}`;
}
