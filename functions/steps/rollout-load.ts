// Load rollout plan: the waves still to run, in order, each with the name of its child execution.
import { listWaves } from '../adapters/rollouts.js';
import { waveExecutionName } from '../core/rollouts.js';
import { requireRollout, requireRunning, setFields } from './lib/rollout.js';
import { PLAN_SK } from '../core/rollouts.js';

export async function handler(payload: { rolloutId: string; executionArn: string }) {
  const planned = await requireRollout(payload.rolloutId);
  // A plan with nothing to update is SUCCEEDED from the start: no waves to run.
  if (planned.status === 'SUCCEEDED') return { summary: `Rollout ${planned.id} has nothing to update`, waves: [] };
  const rollout = await requireRunning(payload.rolloutId);
  if (!rollout.executionArn) await setFields(rollout.id, PLAN_SK, { executionArn: payload.executionArn });
  const waves = (await listWaves(rollout.id))
    .filter((w) => w.status === 'PENDING')
    .sort((a, b) => a.index - b.index)
    .map((w) => ({ index: w.index, kind: w.kind, size: w.size, executionName: waveExecutionName(rollout.id, w.index) }));
  return {
    summary: `Rollout ${rollout.id} of ${rollout.releaseId}: ${waves.length} wave(s) to run (canary first), halting above ${rollout.settings.maxFailures} failure(s) per wave`,
    waves,
  };
}
