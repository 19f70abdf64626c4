// The reconciler (SPEC §7.1): Step Functions "Execution Status Change" events from EventBridge. A run that
// was stopped, timed out, or failed without finishing its block branch is compensated here the same way
// the block branch would have; runs that went through the block branch (compensatedAt) are left alone.
import type { EventBridgeEvent } from 'aws-lambda';
import { log } from '../api/lib/log.js';
import { compensate, type CompensationOutcome, type CompensationReason } from './lib/compensate.js';
import { setFields } from './lib/rollout.js';
import { getRollout, stopHaltedWaveMembers } from '../adapters/rollouts.js';
import { appendAudit } from '../adapters/audit.js';
import { CONTROL_STREAM } from '../core/audit.js';
import { PLAN_SK, rolloutIdForEvent } from '../core/rollouts.js';

export interface ExecutionStatusChange {
  executionArn: string;
  stateMachineArn?: string;
  /** The execution name, which is the execution record's id. */
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  startDate?: number;
  stopDate?: number | null;
  error?: string | null;
  cause?: string | null;
  /** The execution input (JSON text), as Step Functions puts it on the event. */
  input?: string | null;
}

export type ExecutionStatusChangeEvent = EventBridgeEvent<'Step Functions Execution Status Change', ExecutionStatusChange>;

const REASONS: Partial<Record<ExecutionStatusChange['status'], CompensationReason>> = {
  ABORTED: 'ABORTED',
  TIMED_OUT: 'TIMED_OUT',
  FAILED: 'FAILED',
};

/** Rollout state machines: `...:stateMachine:<prefix>-rollout` (not the per-wave child). */
const ROLLOUT_MACHINE = /[:-]rollout$/;

export async function handler(event: ExecutionStatusChangeEvent): Promise<CompensationOutcome> {
  const { name, status, error, cause } = event.detail;
  if (ROLLOUT_MACHINE.test(event.detail.stateMachineArn ?? '')) return closeRollout(event.detail);
  const reason = REASONS[status];
  if (!reason) return { executionId: name, skipped: `status ${status} needs no compensation` };
  const failure = error ? { Error: error, ...(cause ? { Cause: cause } : {}) } : undefined;
  const outcome = await compensate(name, reason, new Date(), failure);
  log('info', 'reconciled execution', { executionId: name, status, ...(outcome.skipped ? { skipped: outcome.skipped } : { blockers: outcome.blockers?.map((b) => b.code) }) });
  return outcome;
}

/**
 * A rollout execution that ended without its own closing step (stopped, timed out, or a runtime error):
 * its rollout item must not stay RUNNING. A halted rollout was already marked HALTED by whoever halted it.
 */
async function closeRollout(detail: ExecutionStatusChange): Promise<CompensationOutcome> {
  const { name, status } = detail;
  if (status !== 'FAILED' && status !== 'TIMED_OUT' && status !== 'ABORTED') return { executionId: name, skipped: `status ${status}` };
  let input: { rollout?: { id?: string }; id?: string } = {};
  try {
    input = JSON.parse(detail.input ?? '{}') as typeof input;
  } catch {
    // No readable input: fall back to the ARN-derived id below.
  }
  const id = input.rollout?.id ?? rolloutIdForEvent(input.id ?? detail.executionArn);
  const now = new Date();
  const reason = `${status}${detail.error ? `: ${detail.error}` : ''}${detail.cause ? ` (${detail.cause})` : ''}`.slice(0, 1000);
  const changed = await setFields(id, PLAN_SK, { status: 'FAILED', failedAt: now.toISOString(), failureReason: reason, finishedAt: now.toISOString(), updatedAt: now.toISOString() }, ['RUNNING', 'PLANNING']).catch(() => false);
  if (changed) {
    await appendAudit([{ stream: CONTROL_STREAM, actor: 'reconciler', action: 'rollout.failed', details: { rolloutId: id, executionArn: detail.executionArn, reason } }], now);
  }
  log('info', 'reconciled rollout execution', { rolloutId: id, status, changed });
  // A halted rollout (POST /rollouts/{id}/halt stopped this execution): stop the update runs its running
  // wave started. Throttled stops are retried there; any left make this invocation fail, so Lambda's
  // asynchronous retries (then the dead-letter queue and its alarm) take over with what is left.
  const rollout = status === 'ABORTED' ? await getRollout(id) : undefined;
  if (rollout?.status === 'HALTED') {
    const stops = await stopHaltedWaveMembers(id, rollout.haltReason ?? 'rollout halted');
    log('info', 'stopped the update runs of a halted rollout', { rolloutId: id, ...stops });
    if (stops.throttled > 0 || stops.failed > 0) {
      throw new Error(`Rollout ${id}: ${stops.throttled} throttled and ${stops.failed} failed stop(s) of update runs left; retried`);
    }
  }
  return { executionId: name, ...(changed ? {} : { skipped: 'the rollout was not running' }) };
}
