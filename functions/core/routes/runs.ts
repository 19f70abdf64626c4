import { defineRoutes } from './types.js';
import { identifier } from '../schemas/common.js';
import { startRunBody } from '../schemas/workflows.js';

export const runRoutes = defineRoutes([
  { operationId: 'provisionTarget', method: 'POST', path: '/targets/{id}/provision', params: { id: identifier }, problems: [409, 422, 503], group: 'runs', scopes: ['admin', 'operator'], body: startRunBody, requestHeaders: ['Idempotency-Key'], summary: 'Start the provisioning workflow (Idempotency-Key required)', responses: { 202: '{executionId}' } },
  { operationId: 'updateTarget', method: 'POST', path: '/targets/{id}/update', params: { id: identifier }, problems: [409, 422, 503], group: 'runs', scopes: ['admin', 'operator'], body: startRunBody, requestHeaders: ['Idempotency-Key'], summary: 'Start the update workflow (Idempotency-Key required)', responses: { 202: '{executionId}' } },
]);
