// Execution records (SPEC §3): one item per run with per-step status, kept as the workflow runs. Step
// updates are read-modify-write under a version condition so concurrent writers (a step and a result
// route) never lose each other's changes.
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { CursorKey } from '../core/cursor.js';
import type { ExecutionRecord, ExecutionStep } from '../core/workflows.js';
import { ddb, isConditionFailure, tableName } from './dynamo.js';

export async function getExecution(id: string): Promise<ExecutionRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('executions'), Key: { id }, ConsistentRead: true }));
  return out.Item as ExecutionRecord | undefined;
}

/** The Put that creates a record; callers put it in the transaction that starts the run. */
export function newExecutionItem(record: ExecutionRecord) {
  return { Put: { TableName: tableName('executions'), Item: record, ConditionExpression: 'attribute_not_exists(id)' } };
}

/**
 * Apply `change` to the record and write it back if nobody wrote in between; retried on contention.
 * `change` may return undefined to leave the record as it is.
 */
export async function updateExecution(
  id: string,
  change: (current: ExecutionRecord) => ExecutionRecord | undefined,
): Promise<ExecutionRecord> {
  for (let attempt = 0; ; attempt++) {
    const current = await getExecution(id);
    if (!current) throw new Error(`No execution record ${id}`);
    const next = change(structuredClone(current));
    if (!next) return current;
    try {
      await ddb().send(
        new PutCommand({
          TableName: tableName('executions'),
          Item: { ...next, version: current.version + 1 },
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': current.version },
        }),
      );
      return { ...next, version: current.version + 1 };
    } catch (e) {
      if (!(isConditionFailure(e)) || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
    }
  }
}

/** Change one step of a record (creating its entry on first use). */
export function withStep(
  record: ExecutionRecord,
  name: string,
  change: (step: ExecutionStep) => ExecutionStep,
  now: Date,
): ExecutionRecord {
  const i = record.steps.findIndex((s) => s.name === name);
  const base: ExecutionStep = i >= 0 ? record.steps[i]! : { name, status: 'RUNNING', attempts: 0, startedAt: now.toISOString() };
  const next = change(base);
  const steps = [...record.steps];
  if (i >= 0) steps[i] = next;
  else steps.push(next);
  return { ...record, steps };
}

export async function listExecutionsOfTarget(targetId: string, limit: number, startKey?: CursorKey) {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName('executions'),
      IndexName: 'byTarget',
      KeyConditionExpression: 'targetId = :t',
      ExpressionAttributeValues: { ':t': targetId },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: startKey,
    }),
  );
  return { items: (out.Items ?? []) as ExecutionRecord[], lastKey: out.LastEvaluatedKey };
}
