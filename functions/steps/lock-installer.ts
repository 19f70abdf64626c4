// Lock installer: after a successful install the installer must not run again (SPEC §2). The lock is
// recorded as an effect of the run when the command goes out, so compensation unlocks it even if the
// agent locked it and its answer was lost.
import { sendCommand } from './lib/command.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('lock-installer', (ctx) =>
  sendCommand(ctx, { payload: { releaseId: ctx.payload.execution.releaseId }, effects: { installerLocked: true } }),
);
