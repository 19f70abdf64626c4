// Shift traffic: for SaaS updates the deployment pipeline moves traffic to the new release by the
// target's strategy (blue-green or rolling; SPEC §7.2).
import { sendCommand } from './lib/command.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('shift-traffic', (ctx) => {
  const { execution } = ctx.payload;
  return sendCommand(ctx, {
    payload: {
      releaseId: execution.releaseId,
      strategy: execution.strategy ?? ctx.target.strategy,
      ...(execution.previousRelease ? { fromRelease: execution.previousRelease } : {}),
    },
  });
});
