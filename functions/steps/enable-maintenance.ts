// Enable maintenance mode: self-hosted updates run behind it (SPEC §7.2). The target shows it and the run
// records it as an effect as the command goes out, so it is switched off whatever happens next.
import { sendCommand } from './lib/command.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('enable-maintenance', (ctx) =>
  sendCommand(ctx, {
    payload: { releaseId: ctx.payload.execution.releaseId },
    effects: { maintenanceMode: true },
    target: { maintenanceMode: true },
  }),
);
