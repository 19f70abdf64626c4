// Shared reads and writes of the rollout steps: the plan, its waves and per-target outcomes in the
// `rollouts` table (item shapes in core/rollouts.ts). Counters are ADDed so concurrent targets of a wave
// never lose each other's counts.
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb, isConditionFailure, tableName } from '../../adapters/dynamo.js';
import { PLAN_SK, targetSk, waveSk, type RolloutItem, type TargetOutcome, type WaveItem } from '../../core/rollouts.js';
import type { Blocker } from '../../core/records.js';

/** Error names the rollout state machines match on. */
export const ROLLOUT_HALTED = 'Rollout.Halted';
export const ROLLOUT_NOT_STARTED = 'Rollout.NotStarted';

export function rolloutError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** The plan item (read here rather than through adapters/rollouts.ts, which carries the planner). */
export async function getRollout(id: string): Promise<RolloutItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('rollouts'), Key: { id, sk: PLAN_SK }, ConsistentRead: true }));
  return out.Item as RolloutItem | undefined;
}

export async function requireRollout(id: string): Promise<RolloutItem> {
  const r = await getRollout(id);
  if (!r) throw rolloutError(ROLLOUT_NOT_STARTED, `No rollout ${id}.`);
  return r;
}

/** The rollout must still be running; a halt (API or judge) ends the run at the next step. */
export async function requireRunning(id: string): Promise<RolloutItem> {
  const r = await requireRollout(id);
  if (r.status !== 'RUNNING') {
    throw rolloutError(ROLLOUT_HALTED, JSON.stringify({ rolloutId: id, status: r.status, reason: r.haltReason ?? r.failureReason ?? null }));
  }
  return r;
}

export async function getWave(id: string, index: number): Promise<WaveItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('rollouts'), Key: { id, sk: waveSk(index) }, ConsistentRead: true }));
  return out.Item as WaveItem | undefined;
}

/**
 * Set fields of an item; `onlyIf` guards the current value of `guardAttr` (a halted wave stays halted, an
 * outcome already recorded is not overwritten). Answers false when the guard refused.
 */
export async function setFields(
  id: string,
  sk: string,
  fields: Record<string, unknown>,
  onlyIfStatus?: readonly string[],
  guardAttr = 'status',
): Promise<boolean> {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  entries.forEach(([k, v], i) => {
    names[`#f${i}`] = k;
    values[`:f${i}`] = v;
  });
  if (onlyIfStatus) {
    names['#status'] = guardAttr;
    onlyIfStatus.forEach((s, i) => (values[`:s${i}`] = s));
  }
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tableName('rollouts'),
        Key: { id, sk },
        UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :f${i}`).join(', ')}`,
        ...(onlyIfStatus ? { ConditionExpression: `#status IN (${onlyIfStatus.map((_, i) => `:s${i}`).join(', ')})` } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (e) {
    if (onlyIfStatus && isConditionFailure(e)) return false;
    throw e;
  }
}

/**
 * Record one target's outcome once: the target item moves from planned/updating to its outcome, and only
 * then are the wave's and the plan's counters incremented (so a retried step never counts twice).
 */
export async function recordOutcome(
  id: string,
  wave: number,
  targetId: string,
  outcome: Extract<TargetOutcome, 'succeeded' | 'failed' | 'halted' | 'skipped'>,
  extra: { executionId?: string; blockers?: Blocker[]; reason?: string },
  now: Date,
): Promise<boolean> {
  const moved = await ddb()
    .send(
      new UpdateCommand({
        TableName: tableName('rollouts'),
        Key: { id, sk: targetSk(targetId) },
        UpdateExpression: `SET outcome = :o, updatedAt = :at${extra.executionId ? ', executionId = :e' : ''}${extra.blockers ? ', blockers = :b' : ''}${extra.reason ? ', reason = :r' : ''}`,
        ConditionExpression: 'outcome IN (:planned, :waiting, :updating)',
        ExpressionAttributeValues: {
          ':o': outcome,
          ':at': now.toISOString(),
          ':planned': 'planned',
          ':waiting': 'waiting-window',
          ':updating': 'updating',
          ...(extra.executionId ? { ':e': extra.executionId } : {}),
          ...(extra.blockers ? { ':b': extra.blockers } : {}),
          ...(extra.reason ? { ':r': extra.reason } : {}),
        },
      }),
    )
    .then(() => true)
    .catch((e: unknown) => {
      if (isConditionFailure(e)) return false;
      throw e;
    });
  if (!moved) return false;
  // Failures count against the wave's budget; a target skipped at run time (busy, or blocked since the plan)
  // and one stopped by a halt do not.
  const waveCounter = outcome === 'succeeded' ? 'succeeded' : outcome === 'failed' ? 'failures' : undefined;
  const planCounter = outcome === 'succeeded' ? 'succeeded' : outcome === 'failed' ? 'failed' : outcome === 'skipped' ? 'skipped' : undefined;
  if (waveCounter) {
    await ddb().send(
      new UpdateCommand({
        TableName: tableName('rollouts'),
        Key: { id, sk: waveSk(wave) },
        UpdateExpression: 'ADD #c :one',
        ExpressionAttributeNames: { '#c': waveCounter },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }
  if (planCounter) {
    await ddb().send(
      new UpdateCommand({
        TableName: tableName('rollouts'),
        Key: { id, sk: PLAN_SK },
        UpdateExpression: 'ADD counts.#c :one SET updatedAt = :at',
        ExpressionAttributeNames: { '#c': planCounter },
        ExpressionAttributeValues: { ':one': 1, ':at': now.toISOString() },
      }),
    );
  }
  return true;
}
