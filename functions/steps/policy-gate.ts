// Check policy gate: the same decision POST /decisions answers (SPEC §4), taken again as the run starts,
// so a run never acts on a target or release the policies refuse. A deny fails the step with the first
// blocker's error name and every blocker in the cause; the block branch records them.
import { blockedErrorName, type BlockerCode } from '../core/blockers.js';
import { decide, type DecisionAction } from '../core/decisions.js';
import { loadFacts } from '../adapters/facts.js';
import { StepError } from './lib/errors.js';
import { defineStep, succeeded } from './lib/step.js';

export const handler = defineStep('policy-gate', async ({ spec, payload, target, now }) => {
  const { execution } = payload;
  const action: DecisionAction = execution.kind === 'provisioning' ? 'provision' : 'update';
  const { facts, policies, policyVersions } = await loadFacts(target, execution.releaseId);
  const decision = decide({ action, facts, policies, now });
  if (decision.decision === 'deny') {
    const first = decision.blockers[0]!;
    const summary = `Policy denies ${action} of release ${execution.releaseId}: ${decision.blockers.map((b) => b.code).join(', ')}`;
    throw new StepError(
      blockedErrorName(first.code as BlockerCode),
      JSON.stringify({ step: spec.state, stepKey: spec.key, blockers: decision.blockers }),
      summary,
    );
  }
  return succeeded({
    summary: `Policy allows ${action} of release ${execution.releaseId} on target ${target.id}`,
    decision: 'allow',
    action,
    policyVersions,
  });
});
