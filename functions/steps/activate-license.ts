// Activate license: the agent installs the license and starts the heartbeat client. The license token
// itself travels only inside install-secrets (LICENSE_TOKEN); this command carries ids.
import { getLicense } from '../adapters/licenses.js';
import { sendCommand } from './lib/command.js';
import { blockedError } from './lib/errors.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('activate-license', async (ctx) => {
  const license = await getLicense(ctx.target.licenseId);
  if (!license) throw blockedError(ctx.spec, `License ${ctx.target.licenseId} does not exist.`);
  return sendCommand(ctx, {
    payload: {
      licenseId: license.id,
      customerId: license.customerId,
      expiresAt: license.expiresAt,
      features: license.entitlements.features,
    },
    details: { licenseId: license.id },
  });
});
