import { defineRoutes } from './types.js';
import { decisionBody } from '../schemas/decisions.js';

export const decisionRoutes = defineRoutes([
  { operationId: 'decide', method: 'POST', path: '/decisions', problems: [404], group: 'decisions', scopes: ['admin', 'operator', 'auditor', 'target'], targetFrom: { bodyField: 'targetId' }, body: decisionBody, summary: 'May this target do ACTION with this release?', responses: { 200: 'allow or deny with blockers' } },
]);
