// Attestation store: every statement is kept; sk "latest" holds the newest by issuedAt of those that may
// speak for the target (valid signature, not future-dated; canBeLatest). A replay guard
// keyed by the signature's hash is written in the same transaction, so a statement counts once.
import { createHash } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { targetStream } from '../core/audit.js';
import { problems } from '../core/problems.js';
import { FUTURE_SKEW_SECONDS } from '../core/attestations.js';
import type { AttestationRecord, TargetRecord } from '../core/records.js';
import { ddb, tableName } from './dynamo.js';
import { transactWithAudit, type StateWrite } from './audit.js';

export async function getLatestAttestation(targetId: string): Promise<AttestationRecord | undefined> {
  const out = await ddb().send(
    new GetCommand({ TableName: tableName('attestations'), Key: { targetId, sk: 'latest' }, ConsistentRead: true }),
  );
  return out.Item as AttestationRecord | undefined;
}

/** Whether a received statement may stand as the target's latest attestation at `now`. */
export function canBeLatest(record: Pick<AttestationRecord, 'signatureValid' | 'statement'>, now: Date): boolean {
  const issued = Date.parse(record.statement.issuedAt);
  return record.signatureValid && Number.isFinite(issued) && issued <= now.getTime() + FUTURE_SKEW_SECONDS * 1000;
}

export async function storeAttestation(target: TargetRecord, record: AttestationRecord, actor: string, now: Date): Promise<void> {
  const sigHash = createHash('sha256').update(record.signature).digest('hex');
  const latest = await getLatestAttestation(target.id);
  // Only a statement that can speak for the target may become "latest": one whose signature verifies and
  // that is not dated ahead of our clock. Anything else is kept and audited but never shadows later
  // statements (a garbage statement dated a year ahead would otherwise pin the target for a year).
  const isNewest = canBeLatest(record, now) && (!latest || !canBeLatest(latest, now) || Date.parse(latest.statement.issuedAt) <= Date.parse(record.statement.issuedAt));
  const writes: StateWrite[] = [
    {
      item: {
        Put: {
          TableName: tableName('guards'),
          Item: { key: `attestation-sig#${sigHash}`, kind: 'attestation-replay', targetId: target.id, at: now.toISOString() },
          ConditionExpression: 'attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#k': 'key' },
        },
      },
      onConditionFailed: () => problems.conflict('ATTESTATION_REPLAYED', 'This attestation (same signature) was already received.'),
    },
    {
      item: { Put: { TableName: tableName('attestations'), Item: { ...record, sk: `${record.statement.issuedAt}#${sigHash.slice(0, 16)}` } } },
    },
  ];
  const summary = { result: record.result, issuedAt: record.statement.issuedAt, receivedAt: record.receivedAt, reasons: record.reasons };
  if (isNewest) {
    writes.push({
      item: {
        Put: {
          TableName: tableName('attestations'),
          Item: { ...record, sk: 'latest' },
          ...(latest
            ? {
                ConditionExpression: '#st.issuedAt = :prev',
                ExpressionAttributeNames: { '#st': 'statement' },
                ExpressionAttributeValues: { ':prev': latest.statement.issuedAt },
              }
            : { ConditionExpression: 'attribute_not_exists(sk)' }),
        },
      },
      onConditionFailed: () => problems.conflict('ATTESTATION_CONFLICT', 'Another attestation arrived at the same time; retry.'),
    });
    writes.push({
      item: {
        Update: {
          TableName: tableName('targets'),
          Key: { id: target.id },
          UpdateExpression: 'SET attestation = :a',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':a': summary },
        },
      },
    });
  }
  await transactWithAudit(
    writes,
    [
      {
        stream: targetStream(target.id),
        actor,
        action: 'attestation.received',
        targetId: target.id,
        details: { ...summary, releaseVersion: record.statement.releaseVersion ?? null, runtime: record.statement.runtime, latest: isNewest },
      },
    ],
    now,
  );
}
