// Release allocation (block branch): the run gives the target up. It stays `blocked` (set by Record
// blockers) until someone unblocks it; a target somehow still held by the run is blocked here.
import { workflowBlocker } from '../core/compensation.js';
import { defineStep, succeeded } from './lib/step.js';
import { commit } from './lib/store.js';

export const handler = defineStep('release-allocation', async ({ payload, now }) => {
  const { target } = await commit(
    payload.execution.id,
    ({ execution, target: current }) => {
      const held = current && (current.status === 'provisioning' || current.status === 'updating');
      if (!held && !execution.effects?.allocated) return undefined;
      const blockers = execution.blockers && execution.blockers.length > 0 ? execution.blockers : [workflowBlocker('ALLOCATION_FAILED')];
      return {
        execution: { ...execution, effects: { ...execution.effects, allocated: false } },
        ...(held
          ? { target: { status: 'blocked' as const, blockers }, audit: [{ action: 'target.blocked', details: { executionId: execution.id, blockers } }] }
          : { audit: [] }),
      };
    },
    now,
  );
  return succeeded({ summary: `Allocation released; target ${payload.execution.targetId} is ${target?.status}`, targetStatus: target?.status });
});
