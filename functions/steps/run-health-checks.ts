// Run health checks: the agent probes the installed release (API, frontend, workers, scheduler, storage).
import { sendCommand } from './lib/command.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('run-health-checks', (ctx) =>
  sendCommand(ctx, { payload: { releaseId: ctx.payload.execution.releaseId, mode: ctx.target.mode } }),
);
