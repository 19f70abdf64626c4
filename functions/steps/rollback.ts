// Roll back release: after failed health checks a self-hosted target returns to the retained rollback
// package, a SaaS target shifts traffic back (SPEC §7.2). The run still ends blocked with the reason.
import { sendCommand } from './lib/command.js';
import { blockedError } from './lib/errors.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('rollback', (ctx) => {
  const { execution } = ctx.payload;
  const to = ctx.target.mode === 'saas' ? (execution.previousRelease ?? ctx.target.currentRelease) : (ctx.target.rollbackRelease ?? execution.previousRelease);
  if (!to) throw blockedError(ctx.spec, `Target ${ctx.target.id} has no release to roll back to.`);
  return sendCommand(ctx, {
    payload: {
      fromRelease: execution.releaseId,
      toRelease: to,
      mode: ctx.target.mode,
      ...(ctx.target.mode === 'saas' ? { strategy: execution.strategy ?? ctx.target.strategy } : {}),
    },
    details: { toRelease: to },
  });
});
