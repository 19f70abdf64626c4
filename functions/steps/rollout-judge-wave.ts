// Judge wave: after each wave, halt the rollout when its failures pass the provisioning policy's
// rollout.maxFailures (recorded on the rollout and in the audit trail) or when an operator halted it.
import { waveVerdict } from '../core/rollouts.js';
import { CONTROL_STREAM } from '../core/audit.js';
import { PLAN_SK } from '../core/rollouts.js';
import { appendAudit } from '../adapters/audit.js';
import { getWave, requireRollout, rolloutError, setFields, ROLLOUT_HALTED } from './lib/rollout.js';

export async function handler(payload: { rolloutId: string; wave: { index: number } }) {
  const now = new Date();
  const rollout = await requireRollout(payload.rolloutId);
  if (rollout.status !== 'RUNNING') {
    throw rolloutError(ROLLOUT_HALTED, JSON.stringify({ rolloutId: rollout.id, status: rollout.status, reason: rollout.haltReason ?? null }));
  }
  const wave = await getWave(rollout.id, payload.wave.index);
  const failures = wave?.failures ?? 0;
  if (waveVerdict(failures, rollout.settings.maxFailures) === 'halt') {
    const reason = `Wave ${payload.wave.index} (${wave?.kind ?? 'wave'}) had ${failures} failed update(s), more than rollout.maxFailures = ${rollout.settings.maxFailures}.`;
    const halted = await setFields(rollout.id, PLAN_SK, { status: 'HALTED', haltedAt: now.toISOString(), haltedBy: 'rollout', haltReason: reason, updatedAt: now.toISOString() }, ['RUNNING']);
    if (halted) {
      await appendAudit([{ stream: CONTROL_STREAM, actor: `rollout:${rollout.id}`, action: 'rollout.halted', details: { rolloutId: rollout.id, releaseId: rollout.releaseId, wave: payload.wave.index, failures, reason } }], now);
    }
    throw rolloutError(ROLLOUT_HALTED, JSON.stringify({ rolloutId: rollout.id, wave: payload.wave.index, failures, reason }));
  }
  return { summary: `Wave ${payload.wave.index}: ${failures} failure(s), within rollout.maxFailures = ${rollout.settings.maxFailures}; continuing` };
}
