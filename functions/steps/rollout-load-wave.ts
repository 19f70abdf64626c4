// Load wave: marks the wave running and lists its targets; self-hosted targets with a maintenance window
// carry the time their window next opens (now when it is open), which the wave waits for.
import { getTarget } from '../adapters/targets.js';
import { windowOpensAt } from '../core/cron.js';
import { waveSk } from '../core/rollouts.js';
import { forEachLimited } from '../adapters/rollout-facts.js';
import { getWave, requireRunning, rolloutError, setFields, ROLLOUT_HALTED } from './lib/rollout.js';

export async function handler(payload: { rolloutId: string; index: number; executionArn: string }) {
  const now = new Date();
  const rollout = await requireRunning(payload.rolloutId);
  const wave = await getWave(rollout.id, payload.index);
  if (!wave) throw new Error(`Rollout ${rollout.id} has no wave ${payload.index}`);
  const started = await setFields(rollout.id, waveSk(wave.index), { status: 'RUNNING', startedAt: now.toISOString(), executionArn: payload.executionArn }, ['PENDING', 'RUNNING']);
  if (!started) throw rolloutError(ROLLOUT_HALTED, JSON.stringify({ rolloutId: rollout.id, wave: wave.index, status: 'HALTED' }));
  const targets: { targetId: string; windowOpensAt?: string }[] = [];
  await forEachLimited(wave.targetIds, 8, async (targetId) => {
    const target = await getTarget(targetId);
    const window = target?.mode === 'self-hosted' ? target.maintenanceWindow : undefined;
    let opensAt: string | undefined;
    if (window) {
      try {
        const at = windowOpensAt(window, now);
        if (at.getTime() > now.getTime()) opensAt = at.toISOString();
      } catch {
        // An unreadable window was caught at planning; the update decides again at run time.
      }
    }
    targets.push({ targetId, ...(opensAt ? { windowOpensAt: opensAt } : {}) });
  });
  targets.sort((a, b) => (a.targetId < b.targetId ? -1 : 1));
  const waiting = targets.filter((t) => t.windowOpensAt).length;
  return {
    summary: `Wave ${wave.index} (${wave.kind}): ${targets.length} target(s), up to ${rollout.settings.maxConcurrency} at a time${waiting ? `, ${waiting} waiting for their maintenance window` : ''}`,
    targets,
    maxConcurrency: rollout.settings.maxConcurrency,
  };
}
