// Complete rollout: SUCCEEDED when every wave ran, FAILED with the error otherwise (a halt is recorded by
// the judge or the API before the run ends, so it is left as HALTED).
import { CONTROL_STREAM } from '../core/audit.js';
import { PLAN_SK } from '../core/rollouts.js';
import { appendAudit } from '../adapters/audit.js';
import { requireRollout, setFields } from './lib/rollout.js';

export async function handler(payload: { rolloutId: string; failure?: { Error: string; Cause?: string } }) {
  const now = new Date();
  const rollout = await requireRollout(payload.rolloutId);
  const status = payload.failure ? 'FAILED' : 'SUCCEEDED';
  const reason = payload.failure ? `${payload.failure.Error}: ${payload.failure.Cause ?? ''}`.slice(0, 1000) : undefined;
  const changed = await setFields(
    rollout.id,
    PLAN_SK,
    { status, finishedAt: now.toISOString(), updatedAt: now.toISOString(), ...(reason ? { failedAt: now.toISOString(), failureReason: reason } : {}) },
    ['RUNNING'],
  );
  if (changed) {
    await appendAudit([{ stream: CONTROL_STREAM, actor: `rollout:${rollout.id}`, action: payload.failure ? 'rollout.failed' : 'rollout.completed', details: { rolloutId: rollout.id, releaseId: rollout.releaseId, counts: rollout.counts, ...(reason ? { reason } : {}) } }], now);
  }
  return { summary: changed ? `Rollout ${rollout.id} ${status}` : `Rollout ${rollout.id} was already ${rollout.status}`, status: changed ? status : rollout.status };
}
