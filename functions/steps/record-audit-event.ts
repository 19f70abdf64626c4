// Record audit event: the run's last step. In one transaction the target becomes active on the new
// release (provisioning also leaves the installer locked), the execution ends SUCCEEDED, and the audit
// trail records `target.provisioned` or `target.updated`.
import type { TargetRecord } from '../core/records.js';
import { blockedError } from './lib/errors.js';
import { defineStep, succeeded } from './lib/step.js';
import { commit } from './lib/store.js';
import { notifyParent } from './lib/notify.js';

export const handler = defineStep('record-audit-event', async ({ spec, payload, now }) => {
  const { execution: input } = payload;
  const held = input.kind === 'provisioning' ? 'provisioning' : 'updating';
  const action = input.kind === 'provisioning' ? 'target.provisioned' : 'target.updated';
  const { target, execution: finished } = await commit(
    input.id,
    ({ execution, target: current }) => {
      if (!current) throw blockedError(spec, `Target ${input.targetId} does not exist.`);
      // A retry after the write went through: nothing left to do.
      if (execution.status === 'SUCCEEDED' && current.currentRelease === input.releaseId) return undefined;
      if (execution.status !== 'RUNNING' || execution.compensatedAt) throw blockedError(spec, `Execution ${execution.id} is ${execution.status}.`);
      if (current.status !== held) throw blockedError(spec, `Target ${current.id} is ${current.status}, not ${held}.`);
      const changes: Partial<TargetRecord> = {
        status: 'active',
        currentRelease: input.releaseId,
        maintenanceMode: false,
        blockers: [],
        ...(input.kind === 'provisioning' ? { installerLocked: true } : {}),
      };
      return {
        execution: { ...execution, status: 'SUCCEEDED', stoppedAt: now.toISOString() },
        target: changes,
        audit: [
          {
            action,
            details: {
              executionId: execution.id,
              releaseId: input.releaseId,
              ...(current.currentRelease ? { previousRelease: current.currentRelease } : {}),
              ...(current.rollbackRelease ? { rollbackRelease: current.rollbackRelease } : {}),
            },
          },
        ],
      };
    },
    now,
  );
  await notifyParent(finished, 'succeeded');
  return succeeded({ summary: `Target ${target?.id} is active on release ${input.releaseId}`, releaseId: input.releaseId });
});
