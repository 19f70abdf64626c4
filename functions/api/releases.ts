// Releases, signing keys and packaging checks. Publishing verifies the manifest completely (SPEC §6)
// against the trust set and the provisioning policy before anything is written.
import { releaseRoutes } from '../core/routes/releases.js';
import { actorOf, refuseSharedWrite } from '../core/principal.js';
import { problems } from '../core/problems.js';
import { manifestProblem, newSigningKeyRecord, verifyManifest } from '../core/manifest.js';
import { validateConfigCooperatively } from '../core/config-validation.js';
import type { AddSigningKeyBody, ValidateConfigBody } from '../core/schemas/releases.js';
import {
  addSigningKey,
  getChannelHead,
  getRelease,
  getTrustSet,
  listReleases,
  listSigningKeys,
  publishRelease,
  revokeRelease,
  revokeSigningKey,
} from '../adapters/releases.js';
import { getPolicy } from '../adapters/policies.js';
import { createApiHandler, log, type ApiRequest } from './lib/http.js';
import { eventPublisher } from '../adapters/events.js';
import { DETAIL_TYPES, type ReleasePublishedDetail } from '../core/events.js';
import type { ReleaseRecord } from '../core/records.js';
import { pageRequest, pageResponse } from './lib/pagination.js';

/** The version and channel a manifest claims, read only to look up what verification needs. */
function claimed(body: unknown): { version?: string; channel?: string } {
  const signed = (body as { signed?: Record<string, unknown> } | undefined)?.signed;
  if (!signed || typeof signed !== 'object') return {};
  return {
    ...(typeof signed.version === 'string' && signed.version.length <= 128 ? { version: signed.version } : {}),
    ...(typeof signed.channel === 'string' && signed.channel.length <= 64 ? { channel: signed.channel } : {}),
  };
}

/**
 * ReleasePublished on the control plane's bus starts a rollout (SPEC §7.4). The release is already stored,
 * so a bus failure does not undo the publish: it is logged, and the scheduled rollout rule catches up.
 */
async function announce(release: ReleaseRecord): Promise<void> {
  const detail: ReleasePublishedDetail = {
    releaseId: release.id,
    channel: release.channel,
    modes: release.modes,
    required: release.required,
    publishedAt: release.receivedAt,
  };
  try {
    await eventPublisher().publish(DETAIL_TYPES.releasePublished, { ...detail });
  } catch (e) {
    log('error', 'ReleasePublished was not published', { releaseId: release.id, error: String(e) });
  }
}

export const handler = createApiHandler(
  'releases',
  {
    async publishRelease(req) {
      refuseSharedWrite(req.principal, 'Publishing a release');
      const { version, channel } = claimed(req.body);
      const [trust, policy, head, existing] = await Promise.all([
        getTrustSet(),
        getPolicy('provisioning'),
        channel ? getChannelHead(channel) : undefined,
        version ? getRelease(version) : undefined,
      ]);
      const result = verifyManifest(req.body, {
        trustedKeys: trust?.keys ?? [],
        threshold: policy.document.signatureThreshold,
        now: req.now,
        channelVersions: head ? [head.version] : [],
        existingIds: existing ? [existing.id] : [],
      });
      if (!result.ok) throw manifestProblem(result);
      const record = await publishRelease(result.release, head, actorOf(req.principal), req.now);
      await announce(record);
      return { status: 201, body: record, headers: { location: `/api/v1/deployment-server/releases/${encodeURIComponent(record.id)}` } };
    },
    async listReleases(req) {
      const q = req.query as { channel?: string; limit?: number; cursor?: string };
      const page = await pageRequest(q, ['releases', q.channel], q.channel ? ['id', 'channel', 'versionKey'] : ['id'], q.channel ? { channel: q.channel } : undefined);
      const { items, lastKey } = await listReleases(q.channel, page.limit, page.startKey);
      return { status: 200, body: pageResponse(items, lastKey, page) };
    },
    async getRelease(req) {
      const r = await getRelease(req.params.id!);
      if (!r) throw problems.notFound('RELEASE_NOT_FOUND', `No release ${req.params.id}.`);
      return { status: 200, body: r };
    },
    async revokeRelease(req: ApiRequest<{ reason: string }>) {
      refuseSharedWrite(req.principal, 'Revoking a release');
      return { status: 200, body: await revokeRelease(req.params.id!, req.body.reason, actorOf(req.principal), req.now) };
    },
    async addSigningKey(req: ApiRequest<AddSigningKeyBody>) {
      refuseSharedWrite(req.principal, 'Trusting a signing key');
      const key = await addSigningKey(newSigningKeyRecord(req.body, req.now), actorOf(req.principal), req.now);
      return { status: 201, body: key };
    },
    async listSigningKeys(req) {
      const page = await pageRequest(req.query, ['signing-keys'], ['keyId']);
      const { items, lastKey } = await listSigningKeys(page.limit, page.startKey);
      return { status: 200, body: pageResponse(items, lastKey, page) };
    },
    async revokeSigningKey(req: ApiRequest<{ reason?: string }>) {
      refuseSharedWrite(req.principal, 'Revoking a signing key');
      return { status: 200, body: await revokeSigningKey(req.params.keyId!, req.body.reason, actorOf(req.principal), req.now) };
    },
    async validateConfig(req: ApiRequest<ValidateConfigBody>) {
      const result = await validateConfigCooperatively(req.body.mode, req.body.env);
      return { status: 200, body: result };
    },
  },
  releaseRoutes,
);
