import { defineRoutes } from './types.js';
import { commandId, identifier } from '../schemas/common.js';
import { commandHeartbeatBody, commandResultBody, listCommandsQuery } from '../schemas/workflows.js';

export const commandRoutes = defineRoutes([
  { operationId: 'listTargetCommands', method: 'GET', path: '/targets/{id}/commands', params: { id: identifier }, group: 'commands', scopes: ['admin', 'operator', 'auditor', 'target'], targetFrom: { param: 'id' }, query: listCommandsQuery, summary: "Commands for a target's agent (open ones by default)", responses: { 200: 'Commands' } },
  { operationId: 'postCommandResult', method: 'POST', path: '/commands/{commandId}/result', params: { commandId }, problems: [409], group: 'commands', scopes: ['target'], targetCheckedByHandler: true, body: commandResultBody, summary: "The agent's signed result of a command", responses: { 200: 'The completed command' } },
  { operationId: 'postCommandHeartbeat', method: 'POST', path: '/commands/{commandId}/heartbeat', params: { commandId }, problems: [409], group: 'commands', scopes: ['target'], targetCheckedByHandler: true, body: commandHeartbeatBody, summary: 'Keep a long-running command alive', responses: { 200: 'Acknowledged' } },
]);
