// Complete wave: closes the wave with its counts; its output is what the rollout judges.
import { waveSk } from '../core/rollouts.js';
import { getWave, requireRollout, setFields } from './lib/rollout.js';

export async function handler(payload: { rolloutId: string; index: number }) {
  const now = new Date();
  const rollout = await requireRollout(payload.rolloutId);
  const wave = await getWave(rollout.id, payload.index);
  if (!wave) throw new Error(`Rollout ${rollout.id} has no wave ${payload.index}`);
  const failures = wave.failures ?? 0;
  const succeeded = wave.succeeded ?? 0;
  const status = failures > rollout.settings.maxFailures ? 'FAILED' : 'SUCCEEDED';
  await setFields(rollout.id, waveSk(wave.index), { status, stoppedAt: now.toISOString() }, ['RUNNING', 'PENDING']);
  return {
    summary: `Wave ${wave.index} (${wave.kind}) ended: ${succeeded} updated, ${failures} failed (budget ${rollout.settings.maxFailures})`,
    index: wave.index,
    failures,
    succeeded,
    status,
  };
}
