// Release and signing-key store. Publishing writes, in one transaction: the release (unique id), the
// channel head guard (anti-rollback: the new version must sort above the head's), and the audit record.
// The channel head also carries the channel's `required` versions, which each new release copies into
// `requiredVersionsBefore` so update decisions read them by key (SPEC §4).
import { GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_STREAM } from '../core/audit.js';
import { problems } from '../core/problems.js';
import type { ReleaseRecord, SigningKeyRecord } from '../core/records.js';
import { versionKey, type ReleaseDraft } from '../core/manifest.js';
import { TRUST_SET_KEY } from '../core/guards.js';
import { withTrustedKey, type TrustSetItem } from '../core/decisions.js';
import type { CursorKey } from '../core/cursor.js';
import { ddb, tableName } from './dynamo.js';
import { getRelease } from './release-lookup.js';
import { transactWithAudit, type StateWrite } from './audit.js';

export interface ChannelHead {
  key: string;
  channel: string;
  version: string;
  versionKey: string;
  requiredVersions: string[];
}

export function channelHeadKey(channel: string): string {
  return `channel-head#${channel}`;
}

export async function getChannelHead(channel: string): Promise<ChannelHead | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('guards'), Key: { key: channelHeadKey(channel) }, ConsistentRead: true }));
  return out.Item as ChannelHead | undefined;
}

export { getRelease };

/** The trust set: every signing key with its status and window, kept in one item (see core/decisions.ts). */
export async function getTrustSet(): Promise<TrustSetItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('guards'), Key: { key: TRUST_SET_KEY }, ConsistentRead: true }));
  return out.Item as TrustSetItem | undefined;
}

export async function publishRelease(draft: ReleaseDraft, head: ChannelHead | undefined, actor: string, now: Date): Promise<ReleaseRecord> {
  const record: ReleaseRecord = {
    ...draft,
    status: 'published',
    requiredVersionsBefore: head?.requiredVersions ?? [],
    receivedAt: now.toISOString(),
  };
  const nextHead: ChannelHead = {
    key: channelHeadKey(draft.channel),
    channel: draft.channel,
    version: draft.version,
    versionKey: versionKey(draft.version),
    requiredVersions: [...(head?.requiredVersions ?? []), ...(draft.required ? [draft.version] : [])],
  };
  const downgrade = () =>
    problems.conflict('RELEASE_DOWNGRADE', `Version ${draft.version} is not above every version published on channel ${draft.channel}.`);
  await transactWithAudit(
    [
      {
        item: { Put: { TableName: tableName('releases'), Item: record, ConditionExpression: 'attribute_not_exists(id)' } },
        onConditionFailed: () => problems.conflict('RELEASE_EXISTS', `Release ${draft.version} is already published.`),
      },
      {
        item: {
          Put: {
            TableName: tableName('guards'),
            Item: nextHead,
            ConditionExpression: head ? 'versionKey = :seen' : 'attribute_not_exists(#k)',
            ...(head ? { ExpressionAttributeValues: { ':seen': head.versionKey } } : { ExpressionAttributeNames: { '#k': 'key' } }),
          },
        },
        onConditionFailed: downgrade,
      },
    ],
    [
      {
        stream: CONTROL_STREAM,
        actor,
        action: 'release.published',
        details: {
          releaseId: record.id,
          channel: record.channel,
          modes: record.modes,
          required: record.required,
          signers: record.validSignerKeyIds,
          artifacts: record.artifacts.map((a) => ({ name: a.name, sha256: a.sha256 })),
        },
      },
    ],
    now,
  );
  return record;
}

export async function revokeRelease(id: string, reason: string, actor: string, now: Date): Promise<ReleaseRecord> {
  const existing = await getRelease(id);
  if (!existing) throw problems.notFound('RELEASE_NOT_FOUND', `No release ${id}.`);
  if (existing.status === 'revoked') throw problems.conflict('RELEASE_ALREADY_REVOKED', `Release ${id} is already revoked.`);
  const at = now.toISOString();
  await transactWithAudit(
    [
      {
        item: {
          Update: {
            TableName: tableName('releases'),
            Key: { id },
            UpdateExpression: 'SET #s = :revoked, revokedAt = :at, revokedReason = :reason',
            ConditionExpression: '#s = :published',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':revoked': 'revoked', ':published': 'published', ':at': at, ':reason': reason },
          },
        },
        onConditionFailed: () => problems.conflict('RELEASE_ALREADY_REVOKED', `Release ${id} is already revoked.`),
      },
    ],
    [{ stream: CONTROL_STREAM, actor, action: 'release.revoked', details: { releaseId: id, reason } }],
    now,
  );
  return { ...existing, status: 'revoked', revokedAt: at, revokedReason: reason };
}

export async function listReleases(channel: string | undefined, limit: number, startKey?: CursorKey) {
  if (channel) {
    const out = await ddb().send(
      new QueryCommand({
        TableName: tableName('releases'),
        IndexName: 'byChannel',
        KeyConditionExpression: 'channel = :c',
        ExpressionAttributeValues: { ':c': channel },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return { items: (out.Items ?? []) as ReleaseRecord[], lastKey: out.LastEvaluatedKey };
  }
  const out = await ddb().send(new ScanCommand({ TableName: tableName('releases'), Limit: limit, ExclusiveStartKey: startKey }));
  return { items: (out.Items ?? []) as ReleaseRecord[], lastKey: out.LastEvaluatedKey };
}

/** Add or replace a key in the registry and the trust set, in one transaction with its audit record. */
async function writeKey(key: SigningKeyRecord, isNew: boolean, action: string, details: Record<string, unknown>, actor: string, now: Date) {
  const trust = await getTrustSet();
  const next = withTrustedKey(trust, key, now.toISOString());
  const writes: StateWrite[] = [
    {
      item: {
        Put: {
          TableName: tableName('signingKeys'),
          Item: key,
          ConditionExpression: isNew ? 'attribute_not_exists(keyId)' : '#s = :active',
          ...(isNew ? {} : { ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':active': 'active' } }),
        },
      },
      onConditionFailed: () =>
        isNew
          ? problems.conflict('SIGNING_KEY_EXISTS', `Signing key ${key.keyId} is already registered.`)
          : problems.conflict('SIGNING_KEY_ALREADY_REVOKED', `Signing key ${key.keyId} is already revoked.`),
    },
    {
      item: {
        Put: {
          TableName: tableName('guards'),
          Item: next,
          ConditionExpression: trust ? 'version = :v' : 'attribute_not_exists(#k)',
          ...(trust ? { ExpressionAttributeValues: { ':v': trust.version } } : { ExpressionAttributeNames: { '#k': 'key' } }),
        },
      },
      onConditionFailed: () => problems.conflict('SIGNING_KEYS_CHANGED', 'The key registry changed at the same time; retry.'),
    },
  ];
  await transactWithAudit(writes, [{ stream: CONTROL_STREAM, actor, action, details }], now);
}

export async function addSigningKey(key: SigningKeyRecord, actor: string, now: Date): Promise<SigningKeyRecord> {
  await writeKey(key, true, 'signing-key.added', { keyId: key.keyId, publicKey: key.publicKey, notBefore: key.notBefore, notAfter: key.notAfter ?? null }, actor, now);
  return key;
}

export async function getSigningKey(keyId: string): Promise<SigningKeyRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('signingKeys'), Key: { keyId }, ConsistentRead: true }));
  return out.Item as SigningKeyRecord | undefined;
}

export async function revokeSigningKey(keyId: string, reason: string | undefined, actor: string, now: Date): Promise<SigningKeyRecord> {
  const existing = await getSigningKey(keyId);
  if (!existing) throw problems.notFound('SIGNING_KEY_NOT_FOUND', `No signing key ${keyId}.`);
  if (existing.status === 'revoked') throw problems.conflict('SIGNING_KEY_ALREADY_REVOKED', `Signing key ${keyId} is already revoked.`);
  const revoked: SigningKeyRecord = { ...existing, status: 'revoked', revokedAt: now.toISOString() };
  await writeKey(revoked, false, 'signing-key.revoked', { keyId, ...(reason ? { reason } : {}) }, actor, now);
  return revoked;
}

export async function listSigningKeys(limit: number, startKey?: CursorKey) {
  const out = await ddb().send(new ScanCommand({ TableName: tableName('signingKeys'), Limit: limit, ExclusiveStartKey: startKey, ConsistentRead: true }));
  return { items: (out.Items ?? []) as SigningKeyRecord[], lastKey: out.LastEvaluatedKey };
}
