// Record target outcome: what the target's update run reported (or the error that ended the wait) goes on
// the target's rollout item and into the wave's and the rollout's counters.
import type { RunOutcome } from '../core/workflows.js';
import { recordOutcome } from './lib/rollout.js';

interface OutcomePayload {
  rolloutId: string;
  wave: number;
  targetId: string;
  /** The run's report, or {Error, Cause} when the wait itself failed (timed out). */
  outcome: RunOutcome | { Error: string; Cause?: string };
}

export async function handler(payload: OutcomePayload): Promise<{ summary: string; outcome: string }> {
  const now = new Date();
  const o = payload.outcome;
  const report: RunOutcome = 'Error' in o ? { outcome: 'failed', reason: `${o.Error}: ${o.Cause ?? ''}`.slice(0, 500) } : o;
  const recorded = await recordOutcome(
    payload.rolloutId,
    payload.wave,
    payload.targetId,
    report.outcome,
    {
      ...(report.executionId ? { executionId: report.executionId } : {}),
      ...(report.blockers ? { blockers: report.blockers } : {}),
      ...(report.reason ? { reason: report.reason } : {}),
    },
    now,
  );
  const codes = (report.blockers ?? []).map((b) => b.code).join(', ');
  return {
    summary: `${payload.targetId}: ${report.outcome}${codes ? ` (${codes})` : ''}${report.reason ? ` — ${report.reason}` : ''}${recorded ? '' : ' (already recorded)'}`,
    outcome: report.outcome,
  };
}
