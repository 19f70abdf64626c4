// Seed foundation data: the agent loads the release's reference data into a freshly migrated database.
import { sendCommand } from './lib/command.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('seed-foundation-data', (ctx) =>
  sendCommand(ctx, { payload: { releaseId: ctx.payload.execution.releaseId, tenantId: ctx.target.tenantId } }),
);
