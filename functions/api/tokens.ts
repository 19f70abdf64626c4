// Token administration: create (the secret is shown once), list (never secrets), revoke (at once).
import { tokenRoutes } from '../core/routes/tokens.js';
import { actorOf } from '../core/principal.js';
import { publicToken } from '../core/tokens.js';
import { problems } from '../core/problems.js';
import type { CreateTokenBody } from '../core/schemas/tokens.js';
import { createToken, listTokens, revokeToken } from '../adapters/tokens.js';
import { createApiHandler, type ApiRequest } from './lib/http.js';
import { pageRequest, pageResponse } from './lib/pagination.js';

export const handler = createApiHandler(
  'tokens',
  {
    async createToken(req: ApiRequest<CreateTokenBody>) {
      const { scopes, description, expiresAt } = req.body;
      if (expiresAt && Date.parse(expiresAt) <= req.now.getTime()) {
        throw problems.validation([{ path: '/expiresAt', message: 'must be in the future' }]);
      }
      const roles = scopes.filter((s) => !s.startsWith('tenant:'));
      if (roles.length === 0) throw problems.validation([{ path: '/scopes', message: 'a tenant restriction needs a role or target scope' }]);
      const tenants = new Set(scopes.filter((s) => s.startsWith('tenant:')));
      if (tenants.size > 1) {
        throw problems.validation([{ path: '/scopes', message: 'a token may be restricted to one tenant only (one tenant: scope)' }]);
      }
      if (tenants.size > 0 && scopes.some((s) => s === 'admin')) {
        throw problems.validation([{ path: '/scopes', message: 'an admin token cannot be tenant-restricted' }]);
      }
      const { record, token } = await createToken([...new Set(scopes)], actorOf(req.principal), req.now, { description, expiresAt });
      return { status: 201, body: { id: record.id, token, scopes: record.scopes, expiresAt: record.expiresAt ?? null, description: record.description ?? null } };
    },
    async listTokens(req) {
      const page = await pageRequest(req.query, ['tokens'], ['id']);
      const { items, lastKey } = await listTokens(page.limit, page.startKey);
      return { status: 200, body: pageResponse(items.map((t) => publicToken(t, req.now)), lastKey, page) };
    },
    async revokeToken(req) {
      const record = await revokeToken(req.params.id!, actorOf(req.principal), req.now);
      return { status: 200, body: publicToken(record, req.now) };
    },
  },
  tokenRoutes,
);
