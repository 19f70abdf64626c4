// Policy store: rev "head" holds the current version and document; every version is also kept under its
// zero-padded rev. A kind never written answers its default at version 0.
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_STREAM } from '../core/audit.js';
import { DEFAULT_POLICIES, type PolicyDocuments, type PolicyKind } from '../core/policies.js';
import { problems } from '../core/problems.js';
import { ddb, tableName } from './dynamo.js';
import { transactWithAudit } from './audit.js';

export const POLICY_HEAD_REV = 'head';

export interface StoredPolicy<K extends PolicyKind = PolicyKind> {
  kind: K;
  version: number;
  document: PolicyDocuments[K];
  updatedAt: string | null;
  updatedBy: string | null;
  comment?: string;
}

export function revOf(version: number): string {
  return String(version).padStart(10, '0');
}

export function defaultPolicy<K extends PolicyKind>(kind: K): StoredPolicy<K> {
  return { kind, version: 0, document: DEFAULT_POLICIES[kind], updatedAt: null, updatedBy: null };
}

/** Turn a stored head item (or its absence) into the policy it stands for. */
export function policyFromItem<K extends PolicyKind>(kind: K, item: Record<string, unknown> | undefined): StoredPolicy<K> {
  if (!item) return defaultPolicy(kind);
  const { rev: _rev, ...rest } = item;
  void _rev;
  return rest as unknown as StoredPolicy<K>;
}

export function policyHeadKey(kind: PolicyKind) {
  return { kind, rev: POLICY_HEAD_REV };
}

export async function getPolicy<K extends PolicyKind>(kind: K): Promise<StoredPolicy<K>> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('policies'), Key: policyHeadKey(kind), ConsistentRead: true }));
  return policyFromItem(kind, out.Item);
}

export async function putPolicy<K extends PolicyKind>(
  kind: K,
  expectedVersion: number,
  document: PolicyDocuments[K],
  actor: string,
  now: Date,
  comment?: string,
): Promise<StoredPolicy<K>> {
  const table = tableName('policies');
  const next: StoredPolicy<K> = {
    kind,
    version: expectedVersion + 1,
    document,
    updatedAt: now.toISOString(),
    updatedBy: actor,
    ...(comment !== undefined ? { comment } : {}),
  };
  const stale = () =>
    problems.preconditionFailed(`The ${kind} policy is no longer at version ${expectedVersion}; read it again and retry.`);
  await transactWithAudit(
    [
      {
        item: {
          Put: {
            TableName: table,
            Item: { ...next, rev: POLICY_HEAD_REV },
            ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(rev)' : 'version = :expected',
            ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
          },
        },
        onConditionFailed: stale,
      },
      {
        item: { Put: { TableName: table, Item: { ...next, rev: revOf(next.version) }, ConditionExpression: 'attribute_not_exists(rev)' } },
        onConditionFailed: stale,
      },
    ],
    [
      {
        stream: CONTROL_STREAM,
        actor,
        action: 'policy.updated',
        details: { kind, version: next.version, previousVersion: expectedVersion, document, ...(comment ? { comment } : {}) },
      },
    ],
    now,
  );
  return next;
}

/** Versions below `beforeRev`, newest first (the head item sorts after every digit rev and is excluded). */
export async function listPolicyVersions(kind: PolicyKind, limit: number, startKey?: Record<string, unknown>) {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName('policies'),
      KeyConditionExpression: 'kind = :k AND rev < :head',
      ExpressionAttributeValues: { ':k': kind, ':head': POLICY_HEAD_REV },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: startKey,
      ConsistentRead: true,
    }),
  );
  return {
    items: (out.Items ?? []).map((i) => policyFromItem(kind, i)),
    lastKey: out.LastEvaluatedKey,
  };
}
