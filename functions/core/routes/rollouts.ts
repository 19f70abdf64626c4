import { defineRoutes } from './types.js';
import { runId } from '../schemas/common.js';
import { getRolloutQuery, haltRolloutBody, listRolloutsQuery, startRolloutBody } from '../schemas/rollouts.js';

export const rolloutRoutes = defineRoutes([
  { operationId: 'startRollout', method: 'POST', path: '/rollouts', group: 'rollouts', scopes: ['admin', 'operator'], problems: [404, 409], body: startRolloutBody, summary: 'Plan a rollout of a release to its channel (canary first, then waves) and start it', responses: { 202: '{id, status, waves, planned, skipped}' } },
  { operationId: 'listRollouts', method: 'GET', path: '/rollouts', group: 'rollouts', scopes: ['admin', 'operator', 'auditor'], query: listRolloutsQuery, summary: 'List the rollouts of a release (newest first)', responses: { 200: 'Rollouts' } },
  { operationId: 'getRollout', method: 'GET', path: '/rollouts/{id}', params: { id: runId }, group: 'rollouts', scopes: ['admin', 'operator', 'auditor'], query: getRolloutQuery, summary: 'Read a rollout: its plan, waves and per-target outcomes (paged by limit and cursor)', responses: { 200: 'The rollout' } },
  { operationId: 'haltRollout', method: 'POST', path: '/rollouts/{id}/halt', params: { id: runId }, problems: [409], group: 'rollouts', scopes: ['admin', 'operator'], body: haltRolloutBody, summary: 'Halt a running rollout and stop its executions', responses: { 200: 'The rollout' } },
]);
