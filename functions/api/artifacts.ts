// Artifact routes: presigned uploads for the release pipeline, presigned downloads for agents.
import { artifactRoutes } from '../core/routes/artifacts.js';
import { problems, ProblemError } from '../core/problems.js';
import type { ArtifactUploadBody } from '../core/schemas/artifacts.js';
import { presignDownload, presignUpload, storedSize } from '../adapters/artifacts.js';
import { listCommandsOfTarget } from '../adapters/commands.js';
import { getRelease } from '../adapters/releases.js';
import { visibleTarget } from './lib/targets-visible.js';
import { createApiHandler, type ApiRequest } from './lib/http.js';

/** Commands whose run installs a release on the target: the release it names may be downloaded. */
const INSTALLING = new Set(['install-release', 'rollback']);

async function releaseBeingInstalled(targetId: string, releaseId: string): Promise<boolean> {
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < 10; page++) {
    const { items, lastKey } = await listCommandsOfTarget(targetId, true, 100, startKey as never);
    if (items.some((c) => INSTALLING.has(c.type) && (c.payload.releaseId === releaseId || c.payload.toRelease === releaseId))) return true;
    if (!lastKey) return false;
    startKey = lastKey;
  }
  return false;
}

export const handler = createApiHandler(
  'artifacts',
  {
    async createArtifactUpload(req: ApiRequest<ArtifactUploadBody>) {
      const release = await getRelease(req.params.id!);
      if (!release) throw problems.notFound('RELEASE_NOT_FOUND', `No release ${req.params.id}.`);
      const artifact = release.artifacts.find((a) => a.name === req.params.name);
      if (!artifact) throw problems.notFound('ARTIFACT_NOT_FOUND', `Release ${release.id} names no artifact ${req.params.name}.`);
      if (artifact.size !== req.body.size || artifact.sha256 !== req.body.sha256) {
        throw new ProblemError(400, 'ARTIFACT_MISMATCH', `The file is not the ${artifact.name} the signed manifest of ${release.id} names (expected ${artifact.size} bytes, sha256 ${artifact.sha256}).`, [
          ...(artifact.size !== req.body.size ? [{ path: '/size', message: `must be ${artifact.size}` }] : []),
          ...(artifact.sha256 !== req.body.sha256 ? [{ path: '/sha256', message: `must be ${artifact.sha256}` }] : []),
        ]);
      }
      const stored = await storedSize(artifact.sha256);
      const upload = await presignUpload(artifact.sha256, artifact.size, req.now);
      return { status: 200, body: { release: release.id, artifact: artifact.name, alreadyStored: stored === artifact.size, ...upload } };
    },

    async getReleaseDownload(req) {
      const target = await visibleTarget(req.params.id!, req.principal);
      const releaseId = req.params.releaseId!;
      const allowed =
        releaseId === target.currentRelease ||
        releaseId === target.rollbackRelease ||
        ((target.status === 'provisioning' || target.status === 'updating') && (await releaseBeingInstalled(target.id, releaseId)));
      const release = allowed ? await getRelease(releaseId) : undefined;
      if (!allowed || !release) {
        throw new ProblemError(403, 'ARTIFACT_NOT_ALLOWED', `Target ${target.id} is not being provisioned or updated to release ${releaseId}, nor bound to it.`);
      }
      const artifacts = await Promise.all(
        release.artifacts.map(async (a) => ({ name: a.name, kind: a.kind, sha256: a.sha256, size: a.size, ...(await presignDownload(a.sha256, req.now)) })),
      );
      return { status: 200, body: { releaseId: release.id, manifest: release.manifest, artifacts } };
    },
  },
  artifactRoutes,
);
