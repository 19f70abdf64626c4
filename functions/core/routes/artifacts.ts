// Release artifacts (SPEC §6): the release pipeline uploads each artifact a published manifest names
// through a presigned PUT bound to its size and sha256; a target's agent gets short-lived presigned GETs
// only for a release its target is being provisioned or updated to, is bound to, or keeps as rollback.
import { defineRoutes } from './types.js';
import { artifactUploadBody } from '../schemas/artifacts.js';
import { identifier, idSchema } from '../schemas/common.js';

export const artifactRoutes = defineRoutes([
  { operationId: 'createArtifactUpload', method: 'POST', path: '/releases/{id}/artifacts/{name}/upload', params: { id: identifier, name: idSchema(128) }, group: 'artifacts', scopes: ['admin', 'operator'], body: artifactUploadBody, summary: "A presigned PUT for one of a release's artifacts (size and sha256 from the manifest)", responses: { 200: '{url, method, headers, expiresAt, key}' } },
  { operationId: 'getReleaseDownload', method: 'GET', path: '/targets/{id}/releases/{releaseId}/download', params: { id: identifier, releaseId: identifier }, group: 'artifacts', scopes: ['target'], targetFrom: { param: 'id' }, summary: "The signed manifest and short-lived download URLs of a release the target's agent may install", responses: { 200: '{releaseId, manifest, artifacts: [{name, kind, sha256, size, url, expiresAt}]}' } },
]);
