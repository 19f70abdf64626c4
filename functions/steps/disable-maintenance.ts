// Disable maintenance mode: at the end of an update, success or not (SPEC §7.2). In the block branch it
// is a no-op answered at once when this run never enabled maintenance mode or already switched it off.
import { compensationPlan } from '../core/compensation.js';
import { sendCommand } from './lib/command.js';
import { completeOwnWait } from './lib/self-complete.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('disable-maintenance', (ctx) =>
  compensationPlan(ctx.execution).disableMaintenance
    ? sendCommand(ctx, { payload: { releaseId: ctx.payload.execution.releaseId } })
    : completeOwnWait(ctx, 'Maintenance mode was not enabled by this run'),
);
