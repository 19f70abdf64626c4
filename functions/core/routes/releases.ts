import * as z from 'zod';
import { defineRoutes } from './types.js';
import { identifier, keyId, listQuery, reasonBody, text } from '../schemas/common.js';
import { channelSchema } from '../schemas/targets.js';
import { addSigningKeyBody, publishReleaseBody, validateConfigBody } from '../schemas/releases.js';

export const listReleasesQuery = listQuery.extend({ channel: channelSchema.optional() });
export const revokeKeyBody = z.strictObject({ reason: text(1000).trim().min(1).optional() });

/** 256 Ki characters of `.env` text, each at most 6 bytes once JSON-escaped (\u0001), plus the envelope. */
const VALIDATE_CONFIG_MAX_BODY_BYTES = 6 * 262_144 + 4096;

export const releaseRoutes = defineRoutes([
  { operationId: 'publishRelease', method: 'POST', path: '/releases', group: 'releases', scopes: ['admin', 'operator'], problems: [409], body: publishReleaseBody, bodyCheckedByHandler: true, summary: 'Publish a signed release manifest', responses: { 201: 'The release' } },
  { operationId: 'listReleases', method: 'GET', path: '/releases', group: 'releases', scopes: ['admin', 'operator', 'auditor'], query: listReleasesQuery, summary: 'List releases (newest first within a channel)', responses: { 200: 'Releases' } },
  { operationId: 'getRelease', method: 'GET', path: '/releases/{id}', params: { id: identifier }, group: 'releases', scopes: ['admin', 'operator', 'auditor'], summary: 'Read a release', responses: { 200: 'The release' } },
  { operationId: 'revokeRelease', method: 'POST', path: '/releases/{id}/revoke', params: { id: identifier }, problems: [409], group: 'releases', scopes: ['admin', 'operator'], body: reasonBody, summary: 'Revoke a release', responses: { 200: 'The release' } },
  { operationId: 'addSigningKey', method: 'POST', path: '/signing-keys', group: 'releases', scopes: ['admin'], problems: [409], body: addSigningKeyBody, summary: 'Trust a release-signing key', responses: { 201: 'The key' } },
  { operationId: 'listSigningKeys', method: 'GET', path: '/signing-keys', group: 'releases', scopes: ['admin', 'operator', 'auditor'], query: listQuery, summary: 'List signing keys', responses: { 200: 'Keys' } },
  { operationId: 'revokeSigningKey', method: 'POST', path: '/signing-keys/{keyId}/revoke', params: { keyId }, problems: [409], group: 'releases', scopes: ['admin'], body: revokeKeyBody, summary: 'Revoke a signing key', responses: { 200: 'The key' } },
  { operationId: 'validateConfig', method: 'POST', path: '/packaging/validate-config', group: 'releases', scopes: ['admin', 'operator', 'auditor'], body: validateConfigBody, maxBodyBytes: VALIDATE_CONFIG_MAX_BODY_BYTES, summary: 'Validate a runtime config before packaging', responses: { 200: '{valid, violations}' } },
]);
