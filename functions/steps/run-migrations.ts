// Run migrations: the agent applies the release's database migrations (ids and checksums from the
// signed manifest), for a new install and for an update alike.
import { getRelease } from '../adapters/releases.js';
import { sendCommand } from './lib/command.js';
import { blockedError } from './lib/errors.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('run-migrations', async (ctx) => {
  const { execution } = ctx.payload;
  const release = await getRelease(execution.releaseId);
  if (!release) throw blockedError(ctx.spec, `Release ${execution.releaseId} does not exist.`);
  return sendCommand(ctx, {
    payload: {
      releaseId: release.id,
      ...(execution.previousRelease ? { fromRelease: execution.previousRelease } : {}),
      migrations: release.migrations.map((m) => ({ id: m.id, checksum: m.checksum, backwardCompatible: m.backwardCompatible })),
    },
    details: { migrations: release.migrations.length },
  });
});
