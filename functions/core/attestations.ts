// Judging a target's signed attestation against the attestation policy (SPEC §5), pure: the clock and the
// signature check come in as arguments.
import type { AttestationPolicy } from './policies.js';
import type { TargetRecord } from './records.js';
import type { AttestationBody } from './schemas/targets.js';

/** Clients' clocks drift; a statement issued this far ahead of ours still counts as "now". */
export const FUTURE_SKEW_SECONDS = 60;

export interface AttestationJudgement {
  result: 'passed' | 'failed';
  reasons: string[];
}

export function judgeAttestation(
  statement: AttestationBody['statement'],
  signatureOk: boolean,
  target: TargetRecord,
  policy: AttestationPolicy,
  now: Date,
): AttestationJudgement {
  const reasons: string[] = [];
  if (!signatureOk) reasons.push('the signature does not verify with the target\'s public key');
  const issued = Date.parse(statement.issuedAt);
  if (issued > now.getTime() + FUTURE_SKEW_SECONDS * 1000) reasons.push(`issuedAt ${statement.issuedAt} is in the future`);
  else if (now.getTime() - issued > policy.maxAgeSeconds * 1000) {
    reasons.push(`issuedAt ${statement.issuedAt} is older than the policy's ${policy.maxAgeSeconds} s`);
  }
  for (const [flag, required] of Object.entries(policy.requiredFlags)) {
    const actual = (statement.flags as Record<string, unknown>)[flag];
    if (required !== undefined && actual !== required) reasons.push(`flag ${flag} is ${String(actual)}, the policy requires ${String(required)}`);
  }
  // While a run installs a release the bound one is about to change: the statement is judged for the release
  // when decisions read it (attestationFailures), not against the one being replaced.
  const installing = target.status === 'provisioning' || target.status === 'updating';
  if (!installing && policy.requireReleaseMatch && target.currentRelease && statement.releaseVersion !== target.currentRelease) {
    reasons.push(`the target runs ${statement.releaseVersion ?? 'no named release'}, but is bound to ${target.currentRelease}`);
  }
  return { result: reasons.length ? 'failed' : 'passed', reasons };
}
