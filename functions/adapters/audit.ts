// Audit adapter: appends records to their streams in the same DynamoDB transaction as the state change
// they describe. Each stream's head item (seq 0) is updated under a condition on its last seq, and each
// record is put under attribute_not_exists, so two writers can never fork a stream; a writer that loses
// the race re-reads the head and tries again.
import { GetCommand, QueryCommand, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ChainVerifier, nextRecord, type AuditHead, type AuditInput, type AuditRecord, type VerifyResult } from '../core/audit.js';
import { ddb, tableName } from './dynamo.js';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A state-change item with the error to raise when its own condition fails. */
export interface StateWrite {
  readonly item: TransactItem;
  readonly onConditionFailed?: () => Error;
}

const HEAD_SEQ = 0;
const MAX_ATTEMPTS = 8;

export async function readHead(stream: string): Promise<AuditHead | undefined> {
  const out = await ddb().send(
    new GetCommand({ TableName: tableName('audit'), Key: { stream, seq: HEAD_SEQ }, ConsistentRead: true }),
  );
  const item = out.Item;
  if (!item) return undefined;
  return { stream, lastSeq: item.lastSeq as number, lastHash: item.lastHash as string };
}

function auditItems(head: AuditHead | undefined, record: AuditRecord): TransactItem[] {
  const table = tableName('audit');
  return [
    { Put: { TableName: table, Item: record, ConditionExpression: 'attribute_not_exists(seq)' } },
    head
      ? {
          Update: {
            TableName: table,
            Key: { stream: record.stream, seq: HEAD_SEQ },
            UpdateExpression: 'SET lastSeq = :seq, lastHash = :hash',
            ConditionExpression: 'lastSeq = :prev',
            ExpressionAttributeValues: { ':seq': record.seq, ':hash': record.hash, ':prev': head.lastSeq },
          },
        }
      : {
          Put: {
            TableName: table,
            Item: { stream: record.stream, seq: HEAD_SEQ, head: true, lastSeq: record.seq, lastHash: record.hash },
            ConditionExpression: 'attribute_not_exists(seq)',
          },
        },
  ];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Write `writes` and append `audit` records in one transaction. Several records may go to one stream
 * (they chain in order). Throws the write's own error when a state-change condition fails.
 */
export async function transactWithAudit(
  writes: readonly StateWrite[],
  audit: readonly AuditInput[],
  now: Date,
  /** Heads already being read (callers on a latency-sensitive path start the read early); first attempt only. */
  prefetched?: ReadonlyMap<string, Promise<AuditHead | undefined>>,
): Promise<AuditRecord[]> {
  if (writes.length + audit.length * 2 > 100) throw new Error('transaction too large');
  for (let attempt = 1; ; attempt++) {
    const streams = [...new Set(audit.map((a) => a.stream))];
    const early = attempt === 1 ? prefetched : undefined;
    const heads = new Map(await Promise.all(streams.map(async (s) => [s, await (early?.get(s) ?? readHead(s))] as const)));
    const records: AuditRecord[] = [];
    const items: TransactItem[] = writes.map((w) => w.item);
    const initialHeads = new Map(heads);
    const latest = new Map(heads);
    for (const input of audit) {
      const record = nextRecord(latest.get(input.stream), input, now);
      records.push(record);
      latest.set(input.stream, { stream: input.stream, lastSeq: record.seq, lastHash: record.hash });
    }
    // Per stream: one Put per record, one head write (from the head we read to the last record).
    for (const stream of streams) {
      const mine = records.filter((r) => r.stream === stream);
      const table = tableName('audit');
      for (const r of mine.slice(0, -1)) {
        items.push({ Put: { TableName: table, Item: r, ConditionExpression: 'attribute_not_exists(seq)' } });
      }
      items.push(...auditItems(initialHeads.get(stream), mine[mine.length - 1]!));
    }
    try {
      await ddb().send(new TransactWriteCommand({ TransactItems: items }));
      return records;
    } catch (err) {
      // Matched by name: importing the exception class pulls every error schema into the bundle.
      if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') throw err;
      const reasons = (err as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      for (let i = 0; i < writes.length; i++) {
        if (reasons[i]?.Code === 'ConditionalCheckFailed') {
          const mapped = writes[i]!.onConditionFailed?.();
          if (mapped) throw mapped;
          throw err;
        }
      }
      const contended = reasons.some((r) => r?.Code === 'ConditionalCheckFailed' || r?.Code === 'TransactionConflict');
      if (!contended || attempt >= MAX_ATTEMPTS) throw err;
      await sleep(Math.random() * 10 * 2 ** attempt);
    }
  }
}

/** Append audit records with no accompanying state change. */
export function appendAudit(
  audit: readonly AuditInput[],
  now: Date,
  prefetched?: ReadonlyMap<string, Promise<AuditHead | undefined>>,
): Promise<AuditRecord[]> {
  return transactWithAudit([], audit, now, prefetched);
}

export interface AuditPage {
  items: AuditRecord[];
  lastSeq?: number;
}

export async function listAudit(stream: string, limit: number, afterSeq: number): Promise<AuditPage> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName('audit'),
      KeyConditionExpression: '#stream = :s AND seq > :after',
      ExpressionAttributeNames: { '#stream': 'stream' },
      ExpressionAttributeValues: { ':s': stream, ':after': afterSeq },
      Limit: limit,
      ConsistentRead: true,
    }),
  );
  const items = (out.Items ?? []) as AuditRecord[];
  return { items, lastSeq: out.LastEvaluatedKey ? (out.LastEvaluatedKey.seq as number) : undefined };
}

export async function verifyStream(stream: string): Promise<VerifyResult> {
  const verifier = new ChainVerifier(stream);
  let after = HEAD_SEQ;
  for (;;) {
    const page = await listAudit(stream, 1000, after);
    for (const r of page.items) verifier.add(r);
    if (page.lastSeq === undefined) break;
    after = page.lastSeq;
  }
  return verifier.finish(await readHead(stream));
}
