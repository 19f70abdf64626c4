// Rollouts in DynamoDB and the workflow engine (SPEC §7.4): planning one (facts in bulk, the pure plan,
// its items written in batches), starting its workflow, halting it, and reading it back. The rollout
// workflow (a parent execution that runs each wave as a child execution) reads the plan from these items,
// so no execution carries the target list in its payload or history.
import { randomBytes } from 'node:crypto';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_STREAM } from '../core/audit.js';
import type { CursorKey } from '../core/cursor.js';
import { DEPLOYMENT_MODES, type DeploymentMode } from '../core/policies.js';
import { problems, ProblemError } from '../core/problems.js';
import {
  newRolloutId,
  PLAN_SK,
  planRollout,
  rolloutItems,
  TARGET_SK_PREFIX,
  WAVE_SK_PREFIX,
  waveExecutionName,
  type RolloutItem,
  type RolloutPlan,
  type RolloutSettings,
  type RolloutTargetItem,
  type WaveItem,
} from '../core/rollouts.js';
import { ddb, isConditionFailure, queryAll, tableName } from './dynamo.js';
import { transactWithAudit } from './audit.js';
import { workflowEngine } from './engine.js';
import { executionName } from '../core/workflows.js';
import { forEachLimited, loadRolloutFacts, loadSharedFacts } from './rollout-facts.js';

const BATCH_WRITE_ITEMS = 25;
const PARALLEL_WRITES = 8;
const MAX_BATCH_ATTEMPTS = 10;
/** A plan still PLANNING after this long was abandoned (its writer crashed) and blocks nothing. */
const PLANNING_STALE_MS = 5 * 60_000;

export interface RolloutOptions extends Partial<RolloutSettings> {
  /** A subset of the release's modes; default: all of them. */
  modes?: DeploymentMode[];
  /**
   * The rollout id, for callers that may deliver the same request twice (an EventBridge rule delivers at
   * least once): a second call with the same id answers the rollout the first one created.
   */
  id?: string;
  /**
   * Set when the caller is the rollout's own execution (started by the ReleasePublished rule or the
   * schedule): the plan records it and no workflow is started.
   */
  executionArn?: string;
}

export interface CreatedRollout {
  rollout: RolloutItem;
  /** True when `options.id` named a rollout that already existed. */
  replayed: boolean;
  plan?: RolloutPlan;
}

/**
 * Plan a rollout of `releaseId` and start its workflow. Refuses an unknown (404) or revoked (409) release,
 * modes the release does not list (400), and a second rollout of a release while one runs (409). When the
 * workflow cannot be started the rollout is marked FAILED and a 503 problem is thrown.
 */
export async function createRolloutPlan(releaseId: string, options: RolloutOptions, actor: string, now: Date): Promise<CreatedRollout> {
  // The id names the rollout's execution and, with a wave suffix, its children (80 characters at most).
  if (options.id !== undefined && !/^[A-Za-z0-9_-]{1,74}$/.test(options.id)) {
    throw new Error(`createRolloutPlan: rollout id ${JSON.stringify(options.id)} must be 1-74 of A-Z, a-z, 0-9, "_" and "-"`);
  }
  if (options.id !== undefined) {
    const existing = await getRollout(options.id);
    if (existing) return { rollout: existing, replayed: true };
  }
  const shared = await loadSharedFacts(releaseId);
  const release = shared.release;
  if (!release) throw problems.notFound('RELEASE_NOT_FOUND', `No release ${releaseId}.`);
  if (release.status === 'revoked') {
    throw problems.conflict('RELEASE_REVOKED', `Release ${release.id} is revoked${release.revokedReason ? `: ${release.revokedReason}` : ''}.`);
  }
  const modes = options.modes ?? DEPLOYMENT_MODES.filter((m) => release.modes.includes(m));
  const foreign = modes.map((mode, i) => ({ mode, i })).filter(({ mode }) => !release.modes.includes(mode));
  if (foreign.length > 0) {
    throw problems.validation(
      foreign.map(({ mode, i }) => ({ path: `/modes/${i}`, message: `release ${release.id} is not for ${mode} (its modes: ${release.modes.join(', ')})` })),
      'The rollout names modes the release does not list.',
    );
  }
  await refuseWhileRunning(release.id, now);

  const policy = shared.policies.provisioning.rollout;
  const settings: RolloutSettings = {
    canarySize: options.canarySize ?? policy.canarySize,
    waveSize: options.waveSize ?? policy.waveSize,
    maxConcurrency: options.maxConcurrency ?? policy.maxConcurrency,
    maxFailures: options.maxFailures ?? policy.maxFailures,
  };
  const facts = await loadRolloutFacts(release, modes, shared, now);
  const plan = planRollout({ release, targets: facts.candidates, settings, now });
  const id = options.id ?? newRolloutId(release.id, now, randomBytes(4).toString('hex'));
  const items = rolloutItems(
    { id, releaseId: release.id, channel: release.channel, modes: [...modes], policyVersion: shared.policyVersions.provisioning, createdBy: actor, now },
    plan,
  );

  // The plan item first: it claims the id, and a crash from here on leaves a PLANNING rollout to see.
  try {
    await ddb().send(
      new PutCommand({ TableName: tableName('rollouts'), Item: items.rollout, ConditionExpression: 'attribute_not_exists(id)' }),
    );
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    const existing = options.id !== undefined ? await getRollout(id) : undefined;
    if (existing) return { rollout: existing, replayed: true };
    throw problems.conflict('ROLLOUT_EXISTS', `A rollout ${id} already exists.`);
  }
  await batchWrite([...items.waves, ...items.targets]);

  const nothingToDo = plan.waves.length === 0;
  const started: Partial<RolloutItem> = {
    status: nothingToDo ? 'SUCCEEDED' : 'RUNNING',
    updatedAt: now.toISOString(),
    ...(nothingToDo ? { finishedAt: now.toISOString() } : {}),
  };
  const next: RolloutItem = { ...items.rollout, ...started };
  await setStatus(id, 'PLANNING', started, {
    actor,
    action: 'rollout.planned',
    // Counts, not target ids: a rollout may cover tens of thousands of targets.
    details: {
      rolloutId: id,
      releaseId: release.id,
      channel: release.channel,
      modes: [...modes],
      status: next.status,
      settings: plan.settings,
      adjustments: plan.adjustments,
      waves: plan.waves.length,
      counts: plan.counts,
      blockerCodes: blockerTally(plan),
      policyVersion: shared.policyVersions.provisioning,
    },
  }, now);
  if (nothingToDo) return { rollout: next, replayed: false, plan };
  if (options.executionArn) {
    await ddb().send(
      new UpdateCommand({
        TableName: tableName('rollouts'),
        Key: { id, sk: PLAN_SK },
        UpdateExpression: 'SET executionArn = :arn',
        ExpressionAttributeValues: { ':arn': options.executionArn },
      }),
    );
    return { rollout: { ...next, executionArn: options.executionArn }, replayed: false, plan };
  }

  try {
    const { executionArn } = await workflowEngine().start('rollout', id, { rollout: { id, releaseId: release.id } });
    await ddb().send(
      new UpdateCommand({
        TableName: tableName('rollouts'),
        Key: { id, sk: PLAN_SK },
        UpdateExpression: 'SET executionArn = :arn',
        ExpressionAttributeValues: { ':arn': executionArn },
      }),
    );
    return { rollout: { ...next, executionArn }, replayed: false, plan };
  } catch (err) {
    const reason = `The rollout workflow could not be started (${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}).`.slice(0, 1000);
    const at = new Date();
    const failed: Partial<RolloutItem> = { status: 'FAILED', failedAt: at.toISOString(), failureReason: reason, updatedAt: at.toISOString() };
    await setStatus(id, 'RUNNING', failed, { actor, action: 'rollout.start-failed', details: { rolloutId: id, releaseId: release.id, reason } }, at);
    throw new ProblemError(
      503,
      'ROLLOUT_START_FAILED',
      `Rollout ${id} was planned but its workflow could not be started, so it is marked FAILED. Retry later with a new POST /rollouts.`,
      undefined,
      { rolloutId: id },
      { cause: err },
    );
  }
}

function blockerTally(plan: RolloutPlan): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const t of plan.targets) for (const b of t.blockers ?? []) tally[b.code] = (tally[b.code] ?? 0) + 1;
  return Object.fromEntries(Object.entries(tally).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * One rollout of a release at a time: two would race to update the same targets. Best effort (two requests
 * in the same instant can both pass); even then no target is updated twice at once, because a run moves its
 * target to `updating` under a condition on its status.
 */
async function refuseWhileRunning(releaseId: string, now: Date): Promise<void> {
  const open = await queryAll<Pick<RolloutItem, 'id' | 'status' | 'createdAt'>>({
    TableName: tableName('rollouts'),
    IndexName: 'byRelease',
    KeyConditionExpression: 'releaseId = :r',
    FilterExpression: '#s IN (:running, :planning)',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':r': releaseId, ':running': 'RUNNING', ':planning': 'PLANNING' },
    ProjectionExpression: 'id, #s, createdAt',
  });
  for (const item of open) {
    if (item.status === 'PLANNING' && now.getTime() - Date.parse(item.createdAt) > PLANNING_STALE_MS) continue;
    throw problems.conflict('ROLLOUT_IN_PROGRESS', `Rollout ${item.id} of release ${releaseId} is ${item.status}; halt it or wait for it to end.`);
  }
}

/**
 * Set fields of the plan item under a condition on its status, with an audit record on the control stream
 * in the same transaction. Other fields (counters the wave runner keeps) are left as they are.
 */
async function setStatus(
  id: string,
  expected: RolloutItem['status'],
  fields: Partial<RolloutItem>,
  audit: { actor: string; action: string; details: Record<string, unknown> },
  now: Date,
): Promise<void> {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  const names: Record<string, string> = { '#s': 'status' };
  const values: Record<string, unknown> = { ':expected': expected };
  entries.forEach(([k, v], i) => {
    names[`#f${i}`] = k;
    values[`:f${i}`] = v;
  });
  await transactWithAudit(
    [
      {
        item: {
          Update: {
            TableName: tableName('rollouts'),
            Key: { id, sk: PLAN_SK },
            UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :f${i}`).join(', ')}`,
            ConditionExpression: '#s = :expected',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        },
        onConditionFailed: () => problems.conflict('ROLLOUT_CHANGED', `Rollout ${id} is no longer ${expected}.`),
      },
    ],
    [{ stream: CONTROL_STREAM, ...audit }],
    now,
  );
}

/** BatchWriteItem puts in chunks of 25, a few in parallel, UnprocessedItems re-sent with backoff. */
async function batchWrite(items: readonly object[]): Promise<void> {
  const table = tableName('rollouts');
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += BATCH_WRITE_ITEMS) chunks.push(items.slice(i, i + BATCH_WRITE_ITEMS) as Record<string, unknown>[]);
  await forEachLimited(chunks, PARALLEL_WRITES, async (chunk) => {
    let pending: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> | undefined = {
      [table]: chunk.map((Item) => ({ PutRequest: { Item } })),
    };
    for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchWriteItem still left items unprocessed after ${MAX_BATCH_ATTEMPTS} attempts`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2)));
      const out = await ddb().send(new BatchWriteCommand({ RequestItems: pending }));
      pending = out.UnprocessedItems as typeof pending;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Halting

export type StopResult = 'stopped' | 'not-running' | 'failed';

export interface HaltedRollout {
  rollout: RolloutItem;
  /** What the engine said to stopping the rollout's execution and each running wave's. */
  stopped: { rollout: StopResult; waves: { index: number; result: StopResult }[] };
}

/**
 * RUNNING → HALTED (audited), then stop the rollout's execution and each running wave's child execution:
 * a handful of StopExecution calls, whatever the wave size, so the answer comes well inside API Gateway's
 * 29 s. The update runs the running waves started are stopped asynchronously: the rollout execution's
 * ABORTED status change reaches the reconciler (functions/steps/reconcile.ts), which stops them with
 * retries of throttled calls (stopHaltedWaveMembers); the reconciler then compensates each of them.
 */
export async function haltRollout(id: string, reason: string, actor: string, now: Date): Promise<HaltedRollout> {
  const current = await getRollout(id);
  if (!current) throw problems.notFound('ROLLOUT_NOT_FOUND', `No rollout ${id}.`);
  const notRunning = (status: string) =>
    problems.conflict('ROLLOUT_NOT_RUNNING', `Rollout ${id} is ${status}; only a running rollout can be halted.`);
  if (current.status !== 'RUNNING') throw notRunning(current.status);
  const at = now.toISOString();
  const change: Partial<RolloutItem> = { status: 'HALTED', haltedAt: at, haltedBy: actor, haltReason: reason, updatedAt: at };
  try {
    await setStatus(id, 'RUNNING', change, { actor, action: 'rollout.halted', details: { rolloutId: id, releaseId: current.releaseId, reason } }, now);
  } catch (e) {
    if (e instanceof ProblemError && e.code === 'ROLLOUT_CHANGED') throw notRunning((await getRollout(id))?.status ?? 'gone');
    throw e;
  }

  const engine = workflowEngine();
  const stop = async (kind: 'rollout' | 'rollout-wave', name: string): Promise<StopResult> => {
    try {
      await engine.stop(kind, name, 'RolloutHalted', reason);
      return 'stopped';
    } catch (e) {
      if (e instanceof Error && NOT_RUNNING_ERRORS.has(e.name)) return 'not-running';
      return 'failed';
    }
  };
  const waves = await listWaves(id);
  // Waves that had not finished will not run on: say so on their items. A wave that was running is marked
  // for the reconciler, which stops the update runs it started (membersToStop).
  await forEachLimited(
    waves.filter((w) => w.status === 'RUNNING' || w.status === 'PENDING'),
    PARALLEL_WRITES,
    async (wave) => {
      try {
        await ddb().send(
          new UpdateCommand({
            TableName: tableName('rollouts'),
            Key: { id, sk: wave.sk },
            UpdateExpression: wave.status === 'RUNNING' ? 'SET #s = :halted, stoppedAt = :at, membersToStop = :yes' : 'SET #s = :halted, stoppedAt = :at',
            ConditionExpression: '#s IN (:running, :pending)',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':halted': 'HALTED', ':at': at, ':running': 'RUNNING', ':pending': 'PENDING', ...(wave.status === 'RUNNING' ? { ':yes': true } : {}) },
          }),
        );
      } catch (e) {
        if (!isConditionFailure(e)) throw e; // it finished meanwhile
      }
    },
  );
  // Executions started by the ReleasePublished rule or the schedule have generated names: stop the one recorded.
  const rolloutStop = await stop('rollout', current.executionArn ? current.executionArn.slice(current.executionArn.lastIndexOf(':') + 1) : id);
  const stopped: { index: number; result: StopResult }[] = [];
  for (const wave of waves) {
    if (wave.status !== 'RUNNING') continue;
    stopped.push({ index: wave.index, result: await stop('rollout-wave', waveExecutionName(id, wave.index)) });
  }
  return { rollout: (await getRollout(id)) ?? { ...current, ...change }, stopped: { rollout: rolloutStop, waves: stopped } };
}

/** StopExecution errors that mean "slow down": retried, never counted as a failed stop. */
const THROTTLING_ERRORS = new Set(['ThrottlingException', 'TooManyRequestsException', 'ServiceUnavailable', 'ServiceUnavailableException']);

export interface MemberStops {
  stopped: number;
  notRunning: number;
  /** Still throttled after the retries: left marked, for the next attempt. */
  throttled: number;
  failed: number;
}

/**
 * Stop the update runs of a halted rollout's waves that were running when it was halted (marked
 * membersToStop by haltRollout). Throttled stops are retried with full-jitter exponential backoff; a wave
 * whose members were all stopped (or had ended) loses its mark, so a repeated call only does what is left.
 */
export async function stopHaltedWaveMembers(
  id: string,
  reason: string,
  opts: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number } = {},
): Promise<MemberStops> {
  const attempts = opts.attempts ?? 8;
  const base = opts.baseDelayMs ?? 100;
  const cap = opts.maxDelayMs ?? 5000;
  const engine = workflowEngine();
  const counts: MemberStops = { stopped: 0, notRunning: 0, throttled: 0, failed: 0 };
  const marked = await queryAll<{ sk: string; targetIds?: string[] }>({
    TableName: tableName('rollouts'),
    KeyConditionExpression: 'id = :id AND begins_with(sk, :prefix)',
    FilterExpression: 'membersToStop = :yes',
    ExpressionAttributeValues: { ':id': id, ':prefix': WAVE_SK_PREFIX, ':yes': true },
    ProjectionExpression: 'sk, targetIds',
    ConsistentRead: true,
  });
  for (const wave of marked) {
    let left = 0;
    await forEachLimited(wave.targetIds ?? [], PARALLEL_WRITES, async (targetId) => {
      const name = executionName('update', targetId, `rollout-${id}`);
      for (let attempt = 0; ; attempt++) {
        try {
          await engine.stop('update', name, 'RolloutHalted', reason);
          counts.stopped++;
          return;
        } catch (e) {
          const errorName = e instanceof Error ? e.name : '';
          if (NOT_RUNNING_ERRORS.has(errorName)) {
            counts.notRunning++;
            return;
          }
          if (!THROTTLING_ERRORS.has(errorName)) {
            counts.failed++;
            left++;
            return;
          }
          if (attempt + 1 >= attempts) {
            counts.throttled++;
            left++;
            return;
          }
          await new Promise((r) => setTimeout(r, Math.random() * Math.min(cap, base * 2 ** attempt)));
        }
      }
    });
    if (left === 0) {
      await ddb().send(new UpdateCommand({ TableName: tableName('rollouts'), Key: { id, sk: wave.sk }, UpdateExpression: 'REMOVE membersToStop' }));
    }
  }
  return counts;
}

/** Engine errors that mean the execution is not running (never started, or already ended). */
const NOT_RUNNING_ERRORS = new Set(['ExecutionDoesNotExist', 'ExecutionNotRunning', 'ExecutionAlreadyStopped']);

// ---------------------------------------------------------------------------------------------------------
// Reading

export async function getRollout(id: string): Promise<RolloutItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('rollouts'), Key: { id, sk: PLAN_SK }, ConsistentRead: true }));
  return out.Item as RolloutItem | undefined;
}

export type WaveSummary = Omit<WaveItem, 'targetIds'>;

/** Every wave of a rollout, in order, without the member lists (a wave item may list 1,000 targets). */
export function listWaves(id: string): Promise<WaveSummary[]> {
  return queryAll<WaveSummary>({
    TableName: tableName('rollouts'),
    KeyConditionExpression: 'id = :id AND begins_with(sk, :prefix)',
    ExpressionAttributeNames: { '#i': 'index', '#s': 'status', '#size': 'size' },
    ExpressionAttributeValues: { ':id': id, ':prefix': WAVE_SK_PREFIX },
    ProjectionExpression: 'id, sk, #i, kind, #size, #s, failures, succeeded, startedAt, stoppedAt, executionArn',
    ConsistentRead: true,
  });
}

export const TARGET_PAGE_KEYS = ['id', 'sk'] as const;

/** One page of a rollout's per-target outcomes, by target id. */
export async function listTargetOutcomes(id: string, limit: number, startKey?: CursorKey): Promise<{ items: RolloutTargetItem[]; lastKey?: Record<string, unknown> }> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName('rollouts'),
      KeyConditionExpression: 'id = :id AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':id': id, ':prefix': TARGET_SK_PREFIX },
      Limit: limit,
      ConsistentRead: true,
      ExclusiveStartKey: startKey,
    }),
  );
  return { items: (out.Items ?? []) as RolloutTargetItem[], lastKey: out.LastEvaluatedKey };
}

export const ROLLOUT_LIST_KEYS = ['id', 'sk', 'releaseId', 'createdAt'] as const;

/** Rollouts of a release, newest first (byRelease holds only plan items). */
export async function listRollouts(releaseId: string, limit: number, startKey?: CursorKey): Promise<{ items: RolloutItem[]; lastKey?: Record<string, unknown> }> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName('rollouts'),
      IndexName: 'byRelease',
      KeyConditionExpression: 'releaseId = :r',
      ExpressionAttributeValues: { ':r': releaseId },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: startKey,
    }),
  );
  return { items: (out.Items ?? []) as RolloutItem[], lastKey: out.LastEvaluatedKey };
}
