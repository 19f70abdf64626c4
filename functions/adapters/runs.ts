// Starting provisioning and update runs (SPEC §7.1): idempotent by Idempotency-Key, one run per target at
// a time. One transaction writes the idempotency item, moves the target into provisioning/updating under
// a condition on its status and version, creates the execution record and audits the start; only then is
// the workflow started. If the start itself fails, the same kind of transaction puts everything back.
import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { canonicalJson } from '../core/crypto/canonical.js';
import { problems, ProblemError } from '../core/problems.js';
import type { ReleaseRecord, TargetRecord } from '../core/records.js';
import { executionName, type ExecutionInput, type ExecutionRecord, type WorkflowKind } from '../core/workflows.js';
import { ddb, tableName } from './dynamo.js';
import { newExecutionItem, updateExecution } from './executions.js';
import { workflowEngine } from './engine.js';
import { getTarget, updateTarget } from './targets.js';

/** Idempotency items are kept a week: long enough for any client retry. */
const IDEMPOTENCY_TTL_SECONDS = 7 * 86400;

export interface IdempotencyItem {
  key: string;
  requestHash: string;
  executionId: string;
  createdAt: string;
  expiresAtEpoch: number;
}

export function idempotencyItemKey(kind: WorkflowKind, targetId: string, key: string): string {
  return `${kind}#${targetId}#${key}`;
}

export function requestHash(kind: WorkflowKind, targetId: string, releaseId: string): string {
  return createHash('sha256').update(canonicalJson({ kind, targetId, releaseId })).digest('hex');
}

export { executionName };

async function getIdempotency(key: string): Promise<IdempotencyItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('idempotency'), Key: { key }, ConsistentRead: true }));
  return out.Item as IdempotencyItem | undefined;
}

function replayOrConflict(item: IdempotencyItem, hash: string): { executionId: string; replayed: true } {
  if (item.requestHash !== hash) {
    throw new ProblemError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request.');
  }
  return { executionId: item.executionId, replayed: true };
}

const EXPECTED_STATUS: Record<WorkflowKind, TargetRecord['status']> = { provisioning: 'registered', update: 'active' };
const RUNNING_STATUS: Record<WorkflowKind, TargetRecord['status']> = { provisioning: 'provisioning', update: 'updating' };

export async function startRun(
  kind: WorkflowKind,
  target: TargetRecord,
  release: ReleaseRecord,
  key: string,
  actor: string,
  now: Date,
  options: { notify?: ExecutionRecord['notify'] } = {},
): Promise<{ executionId: string; replayed: boolean }> {
  const itemKey = idempotencyItemKey(kind, target.id, key);
  const hash = requestHash(kind, target.id, release.id);
  const seen = await getIdempotency(itemKey);
  if (seen) return replayOrConflict(seen, hash);

  const expected = EXPECTED_STATUS[kind];
  if (target.status !== expected) {
    // A concurrent retry with the same key may have started the run since the key was read above: the
    // target is busy with *this* request's run, which is the answer.
    const again = await getIdempotency(itemKey);
    if (again) return replayOrConflict(again, hash);
    const busy = target.status === 'provisioning' || target.status === 'updating';
    throw problems.conflict(
      busy ? 'TARGET_BUSY' : 'TARGET_NOT_READY',
      busy
        ? `Target ${target.id} is already ${target.status}; wait for that run to end.`
        : `Target ${target.id} is ${target.status}; ${kind === 'provisioning' ? 'only a registered target can be provisioned' : 'only an active target can be updated'}.`,
    );
  }

  const id = executionName(kind, target.id, key);
  const at = now.toISOString();
  const input: ExecutionInput = {
    execution: {
      id,
      kind,
      targetId: target.id,
      releaseId: release.id,
      mode: target.mode,
      ...(target.strategy ? { strategy: target.strategy } : {}),
      ...(target.currentRelease ? { previousRelease: target.currentRelease } : {}),
      startedAt: at,
    },
  };
  const record: ExecutionRecord = {
    id,
    kind,
    targetId: target.id,
    releaseId: release.id,
    status: 'RUNNING',
    startedAt: at,
    steps: [],
    effects: {},
    idempotencyKey: key,
    ...(options.notify ? { notify: options.notify } : {}),
    version: 1,
  };
  const idem: IdempotencyItem = { key: itemKey, requestHash: hash, executionId: id, createdAt: at, expiresAtEpoch: Math.floor(now.getTime() / 1000) + IDEMPOTENCY_TTL_SECONDS };
  try {
    await updateTarget(
      target,
      { status: RUNNING_STATUS[kind] },
      { actor, action: 'workflow.started', details: { executionId: id, kind, releaseId: release.id, previousRelease: target.currentRelease ?? null } },
      now,
      [
        {
          item: { Put: { TableName: tableName('idempotency'), Item: idem, ConditionExpression: 'attribute_not_exists(#k)', ExpressionAttributeNames: { '#k': 'key' } } },
          onConditionFailed: () => new ProblemError(409, 'IDEMPOTENT_REPLAY', 'replay'),
        },
        { item: newExecutionItem(record), onConditionFailed: () => new ProblemError(409, 'IDEMPOTENT_REPLAY', 'replay') },
      ],
    );
  } catch (e) {
    // Whichever condition lost the race (the key, the target's status or version, the execution record),
    // a concurrent request with the same key may be the winner: the idempotency item is consulted first.
    const item = await getIdempotency(itemKey);
    if (item) return replayOrConflict(item, hash);
    if (e instanceof ProblemError && e.status === 412) {
      throw problems.conflict('TARGET_BUSY', `Target ${target.id} changed while the run was starting (another run may have started); read it again.`);
    }
    throw e;
  }

  try {
    const { executionArn } = await workflowEngine().start(kind, id, input);
    await updateExecution(id, (r) => ({ ...r, executionArn }));
  } catch (err) {
    await undoStart(kind, target.id, id, itemKey, actor, err);
    throw new ProblemError(503, 'WORKFLOW_START_FAILED', 'The workflow could not be started; nothing was changed. Retry with the same Idempotency-Key.', undefined, undefined, { cause: err });
  }
  return { executionId: id, replayed: false };
}

/** The engine refused the start: put the target back, drop the record, free the key. */
async function undoStart(kind: WorkflowKind, targetId: string, executionId: string, itemKey: string, actor: string, err: unknown) {
  const now = new Date();
  const current = await getTarget(targetId);
  if (current && current.status === RUNNING_STATUS[kind]) {
    await updateTarget(
      current,
      { status: EXPECTED_STATUS[kind] },
      { actor, action: 'workflow.start-failed', details: { executionId, error: err instanceof Error ? err.name : 'Error' } },
      now,
    );
  }
  // The run never started: its record and key go, so a retry with the same key starts it afresh. The audit
  // trail keeps both the start and its failure.
  await ddb().send(new DeleteCommand({ TableName: tableName('executions'), Key: { id: executionId } }));
  await ddb().send(new DeleteCommand({ TableName: tableName('idempotency'), Key: { key: itemKey } }));
}
