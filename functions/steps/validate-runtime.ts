// Validate runtime: the agent checks the components it actually runs against the target policy's ranges
// and the release's (SPEC §2.1); the decision judged the reported runtime, this judges the real one.
import { getPolicy } from '../adapters/policies.js';
import { getRelease } from '../adapters/releases.js';
import { sendCommand } from './lib/command.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('validate-runtime', async (ctx) => {
  const { execution } = ctx.payload;
  const [release, policy] = await Promise.all([getRelease(execution.releaseId), getPolicy('target')]);
  return sendCommand(ctx, {
    payload: {
      releaseId: execution.releaseId,
      mode: ctx.target.mode,
      requiredComponents: policy.document.requiredComponents[ctx.target.mode],
      supportedVersions: policy.document.supportedVersions,
      releaseRuntime: release?.runtime ?? {},
    },
  });
});
