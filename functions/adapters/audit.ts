// Audit adapter: appends records to their streams in the same DynamoDB transaction as the state change
// they describe. Each stream's head item (seq 0) is updated under a condition on its last seq, and each
// record is put under attribute_not_exists, so two writers can never fork a stream; a writer that loses
// the race re-reads the head and tries again, with jittered backoff, for a bounded time.
//
// Appends without a state change (decisions, evaluations) are combined per stream, at two levels:
// - within a process: while one transaction for a stream is in flight, further appends to that stream queue
//   up and go out together in the next one (group commit);
// - across processes (Lambda runs one request per execution environment, so 20 decisions in flight on one
//   target are up to 20 processes): a writer that loses the race for the head once stops racing record by
//   record. It parks its records as a pending item of the stream (`pending:<stream>`, an uncontended put)
//   and then chains *every* parked record of the stream in one transaction, or finds that another writer's
//   transaction already chained its own. One winning transaction thus settles up to 49 writers instead of
//   one, and the loser of each round is usually done without another try.
// A writer that gives up withdraws its pending item first, and answers 503 with Retry-After only when the
// withdrawal shows that nothing was written; never a 500. Records parked by a writer that died before its
// item was chained are chained by the next writer that parks on that stream (it chains all waiting items).
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ChainVerifier, nextRecord, type AuditHead, type AuditInput, type AuditRecord, type VerifyResult } from '../core/audit.js';
import { ddb, tableName } from './dynamo.js';
import { ProblemError } from '../core/problems.js';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A state-change item with the error to raise when its own condition fails. */
export interface StateWrite {
  readonly item: TransactItem;
  readonly onConditionFailed?: () => Error;
}

const HEAD_SEQ = 0;
/**
 * How long one append keeps trying a contended head before answering 503: well inside the API functions'
 * 20 s timeout (infra/api.ts), so the caller gets the 503 rather than a gateway timeout.
 */
const RETRY_BUDGET_MS = 8000;
/** Records per combined transaction (each record is one item, plus one head write; DynamoDB allows 100). */
const MAX_BATCH_RECORDS = 50;

/** The head stayed contended for the whole retry budget. */
export function auditContended(cause: unknown): ProblemError {
  return new ProblemError(
    503,
    'AUDIT_CONTENDED',
    'The audit stream is being written by many requests at once; nothing was changed. Retry shortly.',
    undefined,
    { retryAfter: 1 },
    { cause },
  );
}

function isContention(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') return false;
  const reasons = (err as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((r) => r?.Code === 'ConditionalCheckFailed' || r?.Code === 'TransactionConflict');
}

/** Full-jitter backoff, capped. */
function backoff(attempt: number): Promise<void> {
  return sleep(Math.random() * Math.min(200, 5 * 2 ** attempt));
}

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
  const deadline = Date.now() + RETRY_BUDGET_MS;
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
      if (!isContention(err)) throw err;
      if (Date.now() >= deadline) throw auditContended(err);
      await backoff(attempt);
    }
  }
}

/** Append audit records with no accompanying state change (combined per stream, see the top of the file). */
export function appendAudit(
  audit: readonly AuditInput[],
  now: Date,
  prefetched?: ReadonlyMap<string, Promise<AuditHead | undefined>>,
): Promise<AuditRecord[]> {
  const streams = new Set(audit.map((a) => a.stream));
  if (streams.size !== 1 || audit.length > MAX_BATCH_RECORDS) return transactWithAudit([], audit, now, prefetched);
  const [stream] = streams as Set<string>;
  return new Promise((resolve, reject) => {
    let queue = queues.get(stream!);
    if (!queue) {
      queue = { pending: [], running: false };
      queues.set(stream!, queue);
    }
    queue.pending.push({ inputs: audit, now, prefetched: prefetched?.get(stream!), resolve, reject });
    if (!queue.running) void drain(stream!, queue);
  });
}

interface PendingAppend {
  inputs: readonly AuditInput[];
  now: Date;
  prefetched?: Promise<AuditHead | undefined>;
  resolve(records: AuditRecord[]): void;
  reject(error: unknown): void;
}

interface StreamQueue {
  pending: PendingAppend[];
  running: boolean;
  /** The head as this process last wrote it (a guess: a stale one costs one failed attempt). */
  head?: AuditHead;
}

const queues = new Map<string, StreamQueue>();

async function drain(stream: string, queue: StreamQueue): Promise<void> {
  queue.running = true;
  try {
    while (queue.pending.length > 0) {
      const batch: PendingAppend[] = [];
      let count = 0;
      while (queue.pending.length > 0 && count + queue.pending[0]!.inputs.length <= MAX_BATCH_RECORDS) {
        const next = queue.pending.shift()!;
        batch.push(next);
        count += next.inputs.length;
      }
      try {
        const records = await commitBatch(stream, batch, queue);
        let at = 0;
        for (const p of batch) {
          p.resolve(records.slice(at, at + p.inputs.length));
          at += p.inputs.length;
        }
      } catch (e) {
        queue.head = undefined;
        for (const p of batch) p.reject(e);
      }
    }
  } finally {
    queue.running = false;
    queues.delete(stream);
  }
}

/**
 * One transaction for the records of a batch, in order. When the head was contended (another process wrote
 * the stream), the batch is combined with the other writers' through pending items, within the budget.
 */
async function commitBatch(stream: string, batch: readonly PendingAppend[], queue: StreamQueue): Promise<AuditRecord[]> {
  const deadline = Date.now() + RETRY_BUDGET_MS;
  const table = tableName('audit');
  const head = queue.head ?? (await (batch[0]!.prefetched ?? readHead(stream)));
  const records: AuditRecord[] = [];
  let latest = head;
  for (const p of batch) {
    for (const input of p.inputs) {
      const record = nextRecord(latest, input, p.now);
      records.push(record);
      latest = { stream, lastSeq: record.seq, lastHash: record.hash };
    }
  }
  const items: TransactItem[] = records.slice(0, -1).map((r) => ({ Put: { TableName: table, Item: r, ConditionExpression: 'attribute_not_exists(seq)' } }));
  items.push(...auditItems(head, records[records.length - 1]!));
  try {
    await ddb().send(new TransactWriteCommand({ TransactItems: items }));
    queue.head = latest;
    return records;
  } catch (err) {
    if (!isContention(err)) throw err;
    queue.head = undefined;
    // Other processes write this stream too: combine with them through the table.
    return appendThroughPending(
      stream,
      batch.flatMap((p) => p.inputs.map((input) => ({ input, at: p.now.toISOString() }))),
      deadline,
    );
  }
}

// ---- Combining across processes: pending items -------------------------------------------------------

/** One parked input with its own clock reading. */
interface ParkedInput {
  readonly input: AuditInput;
  readonly at: string;
}

interface PendingItem {
  stream: string;
  seq: number;
  inputs: ParkedInput[];
  /** Set by the transaction that chained the inputs: the seq of the first of them. */
  chainedSeq?: number;
}

/** The partition a stream's parked records wait in (apart from the stream, so readers never see them). */
export function pendingPartition(stream: string): string {
  return `pending:${stream}`;
}

/** Records and pending items one combining transaction may carry: 2 items per record, + 1 head write ≤ 100. */
const MAX_CHAINED_RECORDS = 49;

function pendingSeq(): number {
  // Milliseconds × 1000 + a random part: unique with the put's condition, ordered by arrival (≤ 2^53).
  return Date.now() * 1000 + Math.floor(Math.random() * 1000);
}

async function parkInputs(stream: string, inputs: readonly ParkedInput[]): Promise<PendingItem> {
  for (;;) {
    const item: PendingItem = { stream: pendingPartition(stream), seq: pendingSeq(), inputs: [...inputs] };
    try {
      await ddb().send(new PutCommand({ TableName: tableName('audit'), Item: item, ConditionExpression: 'attribute_not_exists(seq)' }));
      return item;
    } catch (err) {
      if (err instanceof Error && err.name === 'ConditionalCheckFailedException') continue; // same key drawn twice
      throw err;
    }
  }
}

async function readPending(stream: string): Promise<PendingItem[]> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName('audit'),
      KeyConditionExpression: '#stream = :p',
      FilterExpression: 'attribute_not_exists(chainedSeq)',
      ExpressionAttributeNames: { '#stream': 'stream' },
      ExpressionAttributeValues: { ':p': pendingPartition(stream) },
      ConsistentRead: true,
      Limit: 100,
    }),
  );
  return (out.Items ?? []) as PendingItem[];
}

/** The records a chained pending item became. */
async function chainedRecords(stream: string, first: number, count: number): Promise<AuditRecord[]> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName('audit'),
      KeyConditionExpression: '#stream = :s AND seq BETWEEN :a AND :b',
      ExpressionAttributeNames: { '#stream': 'stream' },
      ExpressionAttributeValues: { ':s': stream, ':a': first, ':b': first + count - 1 },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []) as AuditRecord[];
}

/** Remove one's own pending item; false when it was chained meanwhile (the condition fails). */
async function withdraw(item: PendingItem, onlyIfUnchained: boolean): Promise<boolean> {
  try {
    await ddb().send(
      new DeleteCommand({
        TableName: tableName('audit'),
        Key: { stream: item.stream, seq: item.seq },
        ...(onlyIfUnchained ? { ConditionExpression: 'attribute_exists(seq) AND attribute_not_exists(chainedSeq)' } : {}),
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof Error && err.name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}

/** Chain `pending` (in order) after `head` in one transaction; the records per pending item. */
async function chainPending(stream: string, head: AuditHead | undefined, pending: readonly PendingItem[]): Promise<Map<number, AuditRecord[]>> {
  const table = tableName('audit');
  const bySeq = new Map<number, AuditRecord[]>();
  const records: AuditRecord[] = [];
  const items: TransactItem[] = [];
  let latest = head;
  for (const p of pending) {
    const mine: AuditRecord[] = [];
    for (const parked of p.inputs) {
      const record = nextRecord(latest, parked.input, new Date(parked.at));
      mine.push(record);
      records.push(record);
      latest = { stream, lastSeq: record.seq, lastHash: record.hash };
    }
    bySeq.set(p.seq, mine);
    items.push({
      Update: {
        TableName: table,
        Key: { stream: p.stream, seq: p.seq },
        UpdateExpression: 'SET chainedSeq = :first',
        ConditionExpression: 'attribute_exists(seq) AND attribute_not_exists(chainedSeq)',
        ExpressionAttributeValues: { ':first': mine[0]!.seq },
      },
    });
  }
  for (const r of records.slice(0, -1)) items.push({ Put: { TableName: table, Item: r, ConditionExpression: 'attribute_not_exists(seq)' } });
  items.push(...auditItems(head, records[records.length - 1]!));
  await ddb().send(new TransactWriteCommand({ TransactItems: items }));
  return bySeq;
}

/** A parked item that stays the oldest this long (its writer is gone or slow) may be chained by any writer. */
const TAKEOVER_MS = 500;

/**
 * Park `inputs` as a pending item of `stream`, then wait until they are chained. The writer whose item is
 * the oldest waiting one chains the stream's waiting items (its own among them) in one transaction; the
 * others only look whether theirs has been chained, so the writers do not all race for the same items. If
 * the oldest item's writer is gone, anyone takes over after TAKEOVER_MS. Gives up at `deadline`.
 */
async function appendThroughPending(stream: string, inputs: readonly ParkedInput[], deadline: number): Promise<AuditRecord[]> {
  const own = await parkInputs(stream, inputs);
  let lastError: unknown;
  let stalled = { seq: own.seq, since: Date.now() };
  for (let attempt = 1; ; attempt++) {
    const [head, waiting, mine] = await Promise.all([
      readHead(stream),
      readPending(stream),
      ddb().send(new GetCommand({ TableName: tableName('audit'), Key: { stream: own.stream, seq: own.seq }, ConsistentRead: true })),
    ]);
    const chainedSeq = (mine.Item as PendingItem | undefined)?.chainedSeq;
    if (typeof chainedSeq === 'number') {
      // Another writer's transaction chained ours.
      const records = await chainedRecords(stream, chainedSeq, own.inputs.length);
      await withdraw(own, false);
      return records;
    }
    const queue = [own, ...waiting.filter((w) => w.seq !== own.seq)].sort((a, b) => a.seq - b.seq);
    const oldest = queue[0]!;
    // Another writer's item is the oldest: take over only when it has stayed the oldest for TAKEOVER_MS as
    // this process measures it (the seq's clock is another machine's).
    if (oldest.seq !== stalled.seq) stalled = { seq: oldest.seq, since: Date.now() };
    const leader = oldest.seq === own.seq || Date.now() - stalled.since > TAKEOVER_MS;
    if (leader) {
      // Oldest first, as many as one transaction carries.
      const batch: PendingItem[] = [];
      let count = 0;
      for (const p of queue) {
        if (count + p.inputs.length > MAX_CHAINED_RECORDS) break;
        batch.push(p);
        count += p.inputs.length;
      }
      try {
        const chained = await chainPending(stream, head, batch);
        const records = chained.get(own.seq);
        if (records) {
          await withdraw(own, false);
          return records;
        }
        continue; // ours did not fit this time; the next round chains it
      } catch (err) {
        if (!isContention(err)) {
          await withdraw(own, true).catch(() => undefined);
          throw err;
        }
        lastError = err;
      }
    }
    if (Date.now() >= deadline) {
      // Withdraw; if ours was chained in the meantime, it is written after all (the next round reads it).
      if (await withdraw(own, true)) throw auditContended(lastError);
      continue;
    }
    await sleep(leader ? Math.random() * Math.min(100, 10 * attempt) : 15 + Math.random() * 25);
  }
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
