import { defineRoutes } from './types.js';
import { identifier, reasonBody } from '../schemas/common.js';
import { attestationBody, heartbeatBody, listTargetsQuery, patchTargetBody, registerTargetBody } from '../schemas/targets.js';

const own = { param: 'id' } as const;
export const targetRoutes = defineRoutes([
  { operationId: 'registerTarget', method: 'POST', path: '/targets', group: 'targets', scopes: ['admin', 'operator'], problems: [409], body: registerTargetBody, summary: 'Register a target (answers its target token once)', responses: { 201: '{target, token, tokenId}' } },
  { operationId: 'listTargets', method: 'GET', path: '/targets', group: 'targets', scopes: ['admin', 'operator', 'auditor'], query: listTargetsQuery, summary: 'List targets with filters', responses: { 200: 'Targets' } },
  { operationId: 'getTarget', method: 'GET', path: '/targets/{id}', params: { id: identifier }, group: 'targets', scopes: ['admin', 'operator', 'auditor', 'target'], targetFrom: own, summary: 'Read a target (ETag = version)', responses: { 200: 'The target' } },
  { operationId: 'patchTarget', method: 'PATCH', path: '/targets/{id}', params: { id: identifier }, group: 'targets', scopes: ['admin', 'operator'], problems: [409], body: patchTargetBody, requestHeaders: ['If-Match'], summary: 'Change a target (If-Match required)', responses: { 200: 'The target' } },
  { operationId: 'heartbeat', method: 'POST', path: '/targets/{id}/heartbeat', params: { id: identifier }, problems: [409], group: 'targets', scopes: ['target'], targetFrom: own, body: heartbeatBody, summary: 'License heartbeat from the target', responses: { 200: '{license: {status, expiresAt}}' } },
  { operationId: 'postAttestation', method: 'POST', path: '/targets/{id}/attestations', params: { id: identifier }, problems: [409], group: 'targets', scopes: ['target'], targetFrom: own, body: attestationBody, summary: 'Signed runtime attestation from the target', responses: { 201: '{result, reasons}' } },
  { operationId: 'unblockTarget', method: 'POST', path: '/targets/{id}/unblock', params: { id: identifier }, problems: [409], group: 'targets', scopes: ['admin'], body: reasonBody, summary: 'Clear a blocked target', responses: { 200: 'The target' } },
  { operationId: 'decommissionTarget', method: 'POST', path: '/targets/{id}/decommission', params: { id: identifier }, problems: [409], group: 'targets', scopes: ['admin', 'operator'], body: reasonBody, summary: 'Decommission a target', responses: { 200: 'The target' } },
]);
