import { defineRoutes } from './types.js';
import { identifier, listQuery, runId } from '../schemas/common.js';

export const executionRoutes = defineRoutes([
  { operationId: 'getExecution', method: 'GET', path: '/executions/{id}', params: { id: runId }, group: 'executions', scopes: ['admin', 'operator', 'auditor'], summary: 'A workflow run with per-step status and attempts', responses: { 200: 'The execution' } },
  { operationId: 'getExecutionHistory', method: 'GET', path: '/executions/{id}/history', params: { id: runId }, group: 'executions', scopes: ['admin', 'operator', 'auditor'], query: listQuery, summary: 'The event list of a run, a page at a time', responses: { 200: 'Events' } },
  { operationId: 'listTargetExecutions', method: 'GET', path: '/targets/{id}/executions', params: { id: identifier }, group: 'executions', scopes: ['admin', 'operator', 'auditor', 'target'], targetFrom: { param: 'id' }, query: listQuery, summary: "A target's runs, newest first", responses: { 200: 'Executions' } },
]);
