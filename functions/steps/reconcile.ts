// The reconciler (SPEC §7.1): Step Functions "Execution Status Change" events from EventBridge. A run that
// was stopped, timed out, or failed without finishing its block branch is compensated here the same way
// the block branch would have; runs that went through the block branch (compensatedAt) are left alone.
import type { EventBridgeEvent } from 'aws-lambda';
import { log } from '../api/lib/log.js';
import { compensate, type CompensationOutcome, type CompensationReason } from './lib/compensate.js';

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
}

export type ExecutionStatusChangeEvent = EventBridgeEvent<'Step Functions Execution Status Change', ExecutionStatusChange>;

const REASONS: Partial<Record<ExecutionStatusChange['status'], CompensationReason>> = {
  ABORTED: 'ABORTED',
  TIMED_OUT: 'TIMED_OUT',
  FAILED: 'FAILED',
};

export async function handler(event: ExecutionStatusChangeEvent): Promise<CompensationOutcome> {
  const { name, status, error, cause } = event.detail;
  const reason = REASONS[status];
  if (!reason) return { executionId: name, skipped: `status ${status} needs no compensation` };
  const failure = error ? { Error: error, ...(cause ? { Cause: cause } : {}) } : undefined;
  const outcome = await compensate(name, reason, new Date(), failure);
  log('info', 'reconciled execution', { executionId: name, status, ...(outcome.skipped ? { skipped: outcome.skipped } : { blockers: outcome.blockers?.map((b) => b.code) }) });
  return outcome;
}
