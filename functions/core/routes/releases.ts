import { defineRoutes } from './types.js';
import { reasonBody } from '../schemas/common.js';

// Body schemas for releases, keys and packaging come with issue 4.
export const releaseRoutes = defineRoutes([
  { operationId: 'publishRelease', method: 'POST', path: '/releases', group: 'releases', scopes: ['admin', 'operator'], summary: 'Publish a signed release manifest', responses: { 201: 'The release' } },
  { operationId: 'listReleases', method: 'GET', path: '/releases', group: 'releases', scopes: ['admin', 'operator', 'auditor'], summary: 'List releases', responses: { 200: 'Releases' } },
  { operationId: 'getRelease', method: 'GET', path: '/releases/{id}', group: 'releases', scopes: ['admin', 'operator', 'auditor'], summary: 'Read a release', responses: { 200: 'The release' } },
  { operationId: 'revokeRelease', method: 'POST', path: '/releases/{id}/revoke', group: 'releases', scopes: ['admin', 'operator'], body: reasonBody, summary: 'Revoke a release', responses: { 200: 'The release' } },
  { operationId: 'addSigningKey', method: 'POST', path: '/signing-keys', group: 'releases', scopes: ['admin'], summary: 'Trust a release-signing key', responses: { 201: 'The key' } },
  { operationId: 'listSigningKeys', method: 'GET', path: '/signing-keys', group: 'releases', scopes: ['admin', 'operator', 'auditor'], summary: 'List signing keys', responses: { 200: 'Keys' } },
  { operationId: 'revokeSigningKey', method: 'POST', path: '/signing-keys/{keyId}/revoke', group: 'releases', scopes: ['admin'], summary: 'Revoke a signing key', responses: { 200: 'The key' } },
  { operationId: 'validateConfig', method: 'POST', path: '/packaging/validate-config', group: 'releases', scopes: ['admin', 'operator', 'auditor'], summary: 'Validate a runtime config before packaging', responses: { 200: '{valid, violations}' } },
]);
