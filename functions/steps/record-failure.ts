// Record failure (block branch, last): the execution ends FAILED and compensated, and the target's flags
// reflect the undo steps that ran before (installer unlocked, maintenance mode off). The audit record
// `workflow.failed` carries the blockers.
import { blockersFromFailure } from '../core/compensation.js';
import type { TargetRecord } from '../core/records.js';
import { blockedErrorNameFor } from '../core/workflows.js';
import { defineStep, succeeded } from './lib/step.js';
import { commit } from './lib/store.js';
import { notifyParent } from './lib/notify.js';

export const handler = defineStep('record-failure', async ({ payload, now }) => {
  const { execution, target } = await commit(
    payload.execution.id,
    ({ execution: current, target: t }) => {
      if (current.compensatedAt) return undefined;
      const blockers = current.blockers && current.blockers.length > 0 ? current.blockers : blockersFromFailure(payload.failure, current).blockers;
      const flags: Partial<TargetRecord> = {
        ...(t?.maintenanceMode ? { maintenanceMode: false } : {}),
        ...(current.effects?.installerLocked && t?.installerLocked ? { installerLocked: false } : {}),
      };
      const audit = { action: 'workflow.failed', details: { executionId: current.id, blockers } };
      return {
        execution: { ...current, status: 'FAILED', blockers, stoppedAt: now.toISOString(), compensatedAt: now.toISOString() },
        ...(t && t.status !== 'decommissioned' && Object.keys(flags).length > 0 ? { target: flags } : {}),
        audit: [audit],
      };
    },
    now,
  );
  await notifyParent(execution, 'failed');
  const codes = (execution.blockers ?? []).map((b) => b.code);
  return succeeded({
    summary: `Run failed and was compensated; target ${target?.id} is ${target?.status}${codes.length ? ` (${codes.join(', ')})` : ''}`,
    blockers: codes,
    ...(codes.length ? { error: blockedErrorNameFor(codes[0]!), cause: JSON.stringify({ blockers: execution.blockers }) } : {}),
  });
});
