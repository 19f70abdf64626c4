// Bind release: the agent installs the release's artifacts. Before anything is installed the release is
// judged again as a bind (SPEC §6: verified at publish and again when bound), with every signature of the
// stored manifest re-verified against the current trust set.
import { decideFor } from '../core/decisions.js';
import { workflowBlocker } from '../core/compensation.js';
import { loadFacts } from '../adapters/facts.js';
import { sendCommand } from './lib/command.js';
import { blockedError } from './lib/errors.js';
import { defineStep } from './lib/step.js';

export const handler = defineStep('bind-release', async (ctx) => {
  const { execution } = ctx.payload;
  const { facts, policies } = await loadFacts(ctx.target, execution.releaseId);
  const release = facts.release;
  if (!release) throw blockedError(ctx.spec, `Release ${execution.releaseId} does not exist.`);
  const decision = decideFor('provisioning', { action: 'bind', facts, policies, now: ctx.now });
  if (decision.decision === 'deny') {
    const detail = `Release ${release.id} may not be bound: ${decision.blockers.map((b) => b.code).join(', ')}.`;
    throw blockedError(ctx.spec, detail, [workflowBlocker('RELEASE_BIND_FAILED', detail), ...decision.blockers]);
  }
  return sendCommand(ctx, {
    payload: {
      releaseId: release.id,
      name: release.name,
      version: release.version,
      channel: release.channel,
      artifacts: release.artifacts.map((a) => ({ name: a.name, kind: a.kind, sha256: a.sha256, size: a.size })),
      config: release.config,
      ...(execution.previousRelease ? { fromRelease: execution.previousRelease } : {}),
    },
    details: { releaseId: release.id },
  });
});
