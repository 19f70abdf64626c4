import { defineRoutes } from './types.js';
import { createTokenBody } from '../schemas/tokens.js';
import { identifier, listQuery } from '../schemas/common.js';

export const tokenRoutes = defineRoutes([
  { operationId: 'createToken', method: 'POST', path: '/tokens', group: 'tokens', scopes: ['admin'], body: createTokenBody, summary: 'Create an API token (the secret is shown once)', responses: { 201: 'The token with its secret' } },
  { operationId: 'listTokens', method: 'GET', path: '/tokens', group: 'tokens', scopes: ['admin'], query: listQuery, summary: 'List tokens (no secrets)', responses: { 200: 'Tokens' } },
  { operationId: 'revokeToken', method: 'DELETE', path: '/tokens/{id}', params: { id: identifier }, problems: [409], group: 'tokens', scopes: ['admin'], summary: 'Revoke a token at once', responses: { 200: 'The revoked token' } },
]);
