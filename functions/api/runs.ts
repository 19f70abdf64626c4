// Starting provisioning and update runs (SPEC §7.1, §7.2): its own function, the only API code that
// talks to the workflow engine's StartExecution.
import { runRoutes } from '../core/routes/runs.js';
import { actorOf } from '../core/principal.js';
import { problems, ProblemError } from '../core/problems.js';
import { idempotencyKey, type StartRunBody } from '../core/schemas/workflows.js';
import type { WorkflowKind } from '../core/workflows.js';
import { getRelease } from '../adapters/release-lookup.js';
import { startRun } from '../adapters/runs.js';
import { createApiHandler, validate, type ApiRequest } from './lib/http.js';
import { visibleTarget } from './lib/targets-visible.js';

/** Start a provisioning or update run (SPEC §7.1): the release must exist and not be revoked. */
async function start(kind: WorkflowKind, req: ApiRequest<StartRunBody>) {
  const header = req.headers['idempotency-key'];
  if (header === undefined) {
    throw new ProblemError(400, 'IDEMPOTENCY_KEY_REQUIRED', 'Starting a run requires an Idempotency-Key header.');
  }
  const key = validate(idempotencyKey, header, '/headers/Idempotency-Key');
  const target = await visibleTarget(req.params.id!, req.principal);
  const release = await getRelease(req.body.releaseId);
  if (!release) throw problems.notFound('RELEASE_NOT_FOUND', `No release ${req.body.releaseId}.`);
  if (release.status === 'revoked') {
    throw problems.conflict('RELEASE_REVOKED', `Release ${release.id} is revoked${release.revokedReason ? `: ${release.revokedReason}` : ''}.`);
  }
  const { executionId, replayed } = await startRun(kind, target, release, key, actorOf(req.principal), req.now);
  return {
    status: 202,
    body: { executionId, replayed },
    headers: { location: `/api/v1/deployment-server/executions/${executionId}` },
  };
}

export const handler = createApiHandler(
  'runs',
  {
    provisionTarget: (req: ApiRequest<StartRunBody>) => start('provisioning', req),
    updateTarget: (req: ApiRequest<StartRunBody>) => start('update', req),
  },
  runRoutes,
);
