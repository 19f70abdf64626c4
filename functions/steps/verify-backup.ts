// Verify fresh backup: before a self-hosted update the agent confirms a successful backup younger than
// the target policy allows (SPEC §2, BACKUP_STALE).
import { getPolicy } from '../adapters/policies.js';
import { sendCommand } from './lib/command.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('verify-backup', async (ctx) => {
  const policy = await getPolicy('target');
  return sendCommand(ctx, {
    payload: {
      maxAgeSeconds: policy.document.backupMaxAgeSeconds,
      ...(ctx.target.backupPolicy?.lastBackupAt ? { lastBackupAt: ctx.target.backupPolicy.lastBackupAt } : {}),
    },
  });
});
