// Unlock installer (block branch): only if this run locked it; otherwise the step answers its own wait.
import { compensationPlan } from '../core/compensation.js';
import { sendCommand } from './lib/command.js';
import { completeOwnWait } from './lib/self-complete.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('unlock-installer', (ctx) =>
  compensationPlan(ctx.execution).unlockInstaller
    ? sendCommand(ctx, { payload: { reason: 'The run that locked the installer failed.' } })
    : completeOwnWait(ctx, 'Installer was not locked by this run'),
);
