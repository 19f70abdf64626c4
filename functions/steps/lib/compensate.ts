// Compensation of runs that ended without their block branch (SPEC §7.1): stopped, timed out at execution
// level, lost to a crash of the local runtime, or failed inside the block branch itself. Used by the
// EventBridge reconciler in AWS and by the local runner's crash recovery. Idempotent: a run is compensated
// once (compensatedAt), and every action is safe to repeat if a previous attempt died half-way.
import { notifyParent } from './notify.js';
import {
  REASON_BLOCKER,
  REASON_STATUS,
  blockersFromFailure,
  compensationPlan,
  workflowBlocker,
  type CompensationReason,
} from '../../core/compensation.js';
import type { Blocker, TargetRecord } from '../../core/records.js';
import type { CommandRecord, ExecutionRecord, ExecutionStep } from '../../core/workflows.js';
import { getExecution } from '../../adapters/executions.js';
import { secretStore } from '../../adapters/secrets.js';
import { log } from '../../api/lib/log.js';
import { closeOpenCommands, fireAndForgetCommand } from './command.js';
import { commit } from './store.js';

export type { CompensationReason } from '../../core/compensation.js';

export interface CompensationOutcome {
  executionId: string;
  /** Why nothing was done (unknown run, already compensated, or it succeeded). */
  skipped?: string;
  status?: ExecutionRecord['status'];
  blockers?: Blocker[];
  deletedSecrets?: string[];
  /** Fire-and-forget commands sent to undo the installer lock or maintenance mode. */
  commands?: string[];
  closedCommands?: string[];
}

const STEP_ERROR_NAME: Record<CompensationReason, string> = {
  ABORTED: 'Execution.Aborted',
  TIMED_OUT: 'Execution.TimedOut',
  LOST: 'Execution.Lost',
  FAILED: 'Execution.Failed',
};

/** Merge blockers by code, keeping the ones already recorded first. */
export function mergeBlockers(existing: readonly Blocker[], added: readonly Blocker[]): Blocker[] {
  const codes = new Set(existing.map((b) => b.code));
  return [...existing, ...added.filter((b) => !codes.has(b.code))];
}

/** Whether a run's target is still held by a run (so ending it leaves the target blocked). */
function heldByRun(target: TargetRecord): boolean {
  return target.status === 'provisioning' || target.status === 'updating' || target.status === 'blocked';
}

/**
 * Undo what `executionId` did and leave its target blocked with the reason: delete the secrets it created,
 * ask the agent to unlock the installer / switch maintenance mode off if the run did that (a command no
 * step waits for) and clear the flags, close its open commands, and mark the execution ended and compensated.
 * `failure` ({Error, Cause} of the execution) names the blockers of a FAILED run that recorded none.
 */
export async function compensate(
  executionId: string,
  reason: CompensationReason,
  now: Date,
  failure?: { Error: string; Cause?: string },
): Promise<CompensationOutcome> {
  const execution = await getExecution(executionId);
  if (!execution) return { executionId, skipped: 'no execution record' };
  if (execution.compensatedAt) return { executionId, skipped: `already compensated at ${execution.compensatedAt}` };
  if (execution.status === 'SUCCEEDED') return { executionId, skipped: 'the run succeeded' };

  const plan = compensationPlan(execution);
  for (const name of plan.secrets) await secretStore().delete(name);
  const closedCommands = await closeOpenCommands(execution, reason === 'TIMED_OUT' ? 'timed-out' : 'failed', now);
  const blockers =
    reason === 'FAILED'
      ? execution.blockers && execution.blockers.length > 0
        ? execution.blockers
        : blockersFromFailure(failure, execution).blockers
      : [workflowBlocker(REASON_BLOCKER[reason])];
  const status = REASON_STATUS[reason];
  let sent: CommandRecord[] = [];

  const written = await commit(
    executionId,
    ({ execution: current, target }) => {
      if (current.compensatedAt || current.status === 'SUCCEEDED') return undefined;
      const stepError = { name: STEP_ERROR_NAME[reason], message: blockers[0]?.message ?? status };
      const steps = current.steps.map((s): ExecutionStep =>
        s.status === 'RUNNING' || s.status === 'WAITING' ? { ...s, status: 'FAILED', stoppedAt: now.toISOString(), error: stepError } : s,
      );
      const nextExecution: ExecutionRecord = {
        ...current,
        status,
        steps,
        stoppedAt: current.stoppedAt ?? now.toISOString(),
        compensatedAt: now.toISOString(),
        blockers: mergeBlockers(current.blockers ?? [], blockers),
      };
      const live = target && target.status !== 'decommissioned';
      const commands = live
        ? [
            ...(plan.unlockInstaller ? [fireAndForgetCommand(current, 'unlock-installer', { reason: `compensation (${reason})` }, now)] : []),
            ...(plan.disableMaintenance ? [fireAndForgetCommand(current, 'disable-maintenance', { reason: `compensation (${reason})` }, now)] : []),
          ]
        : [];
      sent = commands.map((c) => c.command);
      const targetChanges: Partial<TargetRecord> | undefined =
        target && live
          ? {
              ...(heldByRun(target) ? { status: 'blocked' as const, blockers: mergeBlockers(target.status === 'blocked' ? target.blockers : [], blockers) } : {}),
              ...(plan.disableMaintenance || target.maintenanceMode ? { maintenanceMode: false } : {}),
              ...(plan.unlockInstaller ? { installerLocked: false } : {}),
            }
          : undefined;
      return {
        execution: nextExecution,
        writes: commands.map((c) => c.write),
        ...(targetChanges && Object.keys(targetChanges).length > 0 ? { target: targetChanges } : {}),
        audit: [
          {
            action: 'workflow.compensated',
            details: {
              executionId,
              reason,
              status,
              blockers,
              deletedSecrets: plan.secrets,
              commands: sent.map((c) => ({ id: c.id, type: c.type })),
              closedCommands,
            },
          },
        ],
      };
    },
    now,
  );
  if (!written.written) return { executionId, skipped: 'compensated concurrently' };
  // A halted rollout stops its update runs: they report `halted`; anything else ended the run as failed.
  await notifyParent(written.execution, reason === 'ABORTED' ? 'halted' : 'failed');
  log('info', 'run compensated', { executionId, reason, status, blockers: blockers.map((b) => b.code) });
  return {
    executionId,
    status,
    blockers,
    deletedSecrets: plan.secrets,
    commands: sent.map((c) => c.id),
    closedCommands,
  };
}
