// Update target (a wave's callback task): starts the target's update run with this task's token as the one
// to notify, so the wave waits until that run ends and learns its outcome. A target that cannot start an
// update now (busy, no longer active, rollout halted) is reported at once as skipped or halted.
import { getTarget } from '../adapters/targets.js';
import { getRelease } from '../adapters/release-lookup.js';
import { executionName, startRun } from '../adapters/runs.js';
import { updateExecution } from '../adapters/executions.js';
import { notifyParent } from './lib/notify.js';
import { TaskNotWaitingError, workflowEngine } from '../adapters/engine.js';
import { ProblemError } from '../core/problems.js';
import { targetSk } from '../core/rollouts.js';
import type { RunOutcome } from '../core/workflows.js';
import { requireRollout, setFields } from './lib/rollout.js';

interface UpdatePayload {
  rolloutId: string;
  wave: number;
  targetId: string;
  taskToken: string;
  attempt?: number;
}

async function answer(taskToken: string, outcome: RunOutcome): Promise<void> {
  try {
    await workflowEngine().sendTaskSuccess(taskToken, outcome);
  } catch (e) {
    if (!(e instanceof TaskNotWaitingError)) throw e;
  }
}

export async function handler(payload: UpdatePayload): Promise<{ summary: string }> {
  const now = new Date();
  const rollout = await requireRollout(payload.rolloutId);
  if (rollout.status !== 'RUNNING') {
    await answer(payload.taskToken, { outcome: 'halted', reason: `rollout is ${rollout.status}` });
    return { summary: `Rollout ${rollout.id} is ${rollout.status}; ${payload.targetId} not updated` };
  }
  const [target, release] = await Promise.all([getTarget(payload.targetId), getRelease(rollout.releaseId)]);
  if (!target || !release) {
    await answer(payload.taskToken, { outcome: 'skipped', reason: !target ? 'the target no longer exists' : 'the release no longer exists' });
    return { summary: `${payload.targetId} skipped` };
  }
  // One update per target per rollout: a retried task finds the same run (Idempotency-Key semantics).
  const key = `rollout-${rollout.id}`;
  const expected = executionName('update', target.id, key);
  // Marked before the start: a fast run may report its outcome before startRun returns.
  await setFields(rollout.id, targetSk(target.id), { outcome: 'updating', executionId: expected, updatedAt: now.toISOString() }, ['planned', 'waiting-window', 'updating'], 'outcome');
  try {
    const { executionId, replayed } = await startRun('update', target, release, key, `rollout:${rollout.id}`, now, {
      notify: { taskToken: payload.taskToken, rolloutId: rollout.id },
    });
    if (replayed) {
      // A retried task has a new token: the run reports to it from now on, or at once if it has ended.
      const record = await updateExecution(executionId, (r) => ({ ...r, notify: { taskToken: payload.taskToken, rolloutId: rollout.id } }));
      if (record.status !== 'RUNNING') await notifyParent(record, record.status === 'SUCCEEDED' ? 'succeeded' : record.status === 'ABORTED' ? 'halted' : 'failed');
    }
    return { summary: `${replayed ? 'Rejoined' : 'Started'} update ${executionId} of ${target.id} to ${release.id}` };
  } catch (e) {
    if (e instanceof ProblemError && e.status < 500) {
      await answer(payload.taskToken, { outcome: 'skipped', reason: `${e.code}: ${e.detail}` });
      return { summary: `${target.id} skipped: ${e.code}` };
    }
    throw e;
  }
}
