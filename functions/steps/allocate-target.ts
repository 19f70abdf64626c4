// Allocate target: the run takes the target. The API's start transaction already moved it to
// `provisioning` (or `updating`) under a status condition so concurrent starts run once; this step checks
// the target is held for this run and records the allocation, so the block branch knows to release it.
import type { TargetStatus } from '../core/records.js';
import { blockedError } from './lib/errors.js';
import { defineStep, succeeded } from './lib/step.js';
import { commit } from './lib/store.js';

const HELD: Record<'provisioning' | 'update', TargetStatus> = { provisioning: 'provisioning', update: 'updating' };
/** Where a run may take a target from when the start did not already (direct starts, tests). */
const FREE: Record<'provisioning' | 'update', TargetStatus> = { provisioning: 'registered', update: 'active' };

export const handler = defineStep('allocate-target', async ({ spec, payload, now }) => {
  const kind = payload.execution.kind;
  const { target } = await commit(
    payload.execution.id,
    ({ execution, target: current }) => {
      if (!current) throw blockedError(spec, `Target ${execution.targetId} does not exist.`);
      if (execution.status !== 'RUNNING' || execution.compensatedAt) {
        throw blockedError(spec, `Execution ${execution.id} is ${execution.status}; it cannot take the target.`);
      }
      const take = current.status === FREE[kind];
      if (current.status !== HELD[kind] && !take) {
        throw blockedError(spec, `Target ${current.id} is ${current.status}, not ${HELD[kind]}.`);
      }
      if (execution.effects?.allocated && !take) return undefined;
      return {
        execution: { ...execution, effects: { ...execution.effects, allocated: true } },
        ...(take
          ? { target: { status: HELD[kind] }, audit: [{ action: 'target.allocated', details: { executionId: execution.id, from: current.status, status: HELD[kind] } }] }
          : { audit: [] }),
      };
    },
    now,
  );
  return succeeded({ summary: `Target ${target?.id} is ${target?.status} for this run`, targetStatus: target?.status });
});
