import { defineRoutes } from './types.js';

export const systemRoutes = defineRoutes([
  { operationId: 'getHealth', method: 'GET', path: '/healthz', root: true, group: 'system', scopes: [], summary: 'Liveness check', responses: { 200: 'The service is up' } },
  { operationId: 'getOpenApi', method: 'GET', path: '/openapi.json', root: true, group: 'system', scopes: [], summary: 'This OpenAPI 3.1 document', responses: { 200: 'OpenAPI document' } },
]);
