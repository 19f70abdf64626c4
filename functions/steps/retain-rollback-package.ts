// Retain rollback package: before a self-hosted update the bound release becomes the target's rollback
// release, which must be a known release with a zip or compose artifact to go back to (SPEC §4,
// ROLLBACK_PACKAGE_MISSING).
import { ROLLBACK_ARTIFACT_KINDS } from '../core/decisions.js';
import { getRelease } from '../adapters/releases.js';
import { blockedError } from './lib/errors.js';
import { defineStep, succeeded } from './lib/step.js';
import { commit } from './lib/store.js';

export const handler = defineStep('retain-rollback-package', async ({ spec, payload, target, now }) => {
  const bound = target.currentRelease;
  if (!bound) throw blockedError(spec, `Target ${target.id} has no bound release.`);
  const release = await getRelease(bound);
  if (!release) throw blockedError(spec, `The bound release ${bound} is unknown.`);
  const artifact = release.artifacts.find((a) => ROLLBACK_ARTIFACT_KINDS.includes(a.kind));
  if (!artifact) throw blockedError(spec, `The bound release ${bound} has no zip or compose artifact.`);
  await commit(
    payload.execution.id,
    ({ target: current }) => {
      if (!current || current.rollbackRelease === bound) return undefined;
      if (current.currentRelease !== bound) throw blockedError(spec, `Target ${current.id} changed its bound release during the run.`);
      return {
        target: { rollbackRelease: bound },
        audit: [{ action: 'target.rollback-retained', details: { executionId: payload.execution.id, rollbackRelease: bound, artifact: artifact.name } }],
      };
    },
    now,
  );
  return succeeded({ summary: `Release ${bound} retained as rollback package (${artifact.kind} ${artifact.name})`, rollbackRelease: bound });
});
