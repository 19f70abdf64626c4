// Generated from the route × scope table: every protected route answers 401 without a valid token and
// 403 for every scope the table does not allow, through real HTTP and the real authorizer.
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { ROUTES, ROLE_SCOPES, fullPath, type RouteSpec } from '../../functions/core/routes/index.js';

const api = useApi();
const OWN = 'tgt-own';
const tokens: Record<string, string> = {};

beforeAll(async () => {
  for (const role of ROLE_SCOPES) tokens[role] = await api.token([role]);
  tokens.target = await api.token([`target:${OWN}`]);
  tokens.otherTarget = await api.token(['target:tgt-other']);
});

function pathOf(route: RouteSpec, targetId: string): string {
  return fullPath(route).replace(/\{(\w+)\}/g, (_, p: string) => (route.targetFrom && 'param' in route.targetFrom && route.targetFrom.param === p ? targetId : `x-${p}`));
}

function bodyOf(route: RouteSpec, targetId: string): unknown {
  if (route.method === 'GET' || route.method === 'DELETE') return undefined;
  if (route.targetFrom && 'bodyField' in route.targetFrom) return { [route.targetFrom.bodyField]: targetId };
  if (route.operationId === 'postCommandResult') {
    // Well-formed, so the handler's own ownership check is what answers.
    const statement = { _type: 'command-result', commandId: 'x-commandId', targetId, status: 'succeeded', issuedAt: new Date().toISOString() };
    return { statement, signature: 'A'.repeat(86) + '==' };
  }
  return {};
}

const protectedRoutes = ROUTES.filter((r) => r.scopes.length > 0);

describe.each(protectedRoutes.map((r) => [`${r.method} ${fullPath(r)}`, r] as const))('%s', (_name, route) => {
  it('answers 401 without a token and with a wrong one', async () => {
    for (const token of [null, 'dcp_aaaaaaaaaaaaaaaaaaaa.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'not-a-token-at-all-but-long']) {
      const r = await api.call(route.method, pathOf(route, OWN), { token, body: bodyOf(route, OWN) });
      expect(r.status, `token ${token}`).toBe(401);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(r.body.code).toBe('UNAUTHORIZED');
    }
  });

  const denied = ROLE_SCOPES.filter((s) => !route.scopes.includes(s));
  if (denied.length > 0) {
    it.each(denied)('answers 403 to the %s scope', async (scope) => {
      const r = await api.call(route.method, pathOf(route, OWN), { token: tokens[scope]!, body: bodyOf(route, OWN) });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ code: 'FORBIDDEN', type: 'urn:dcp:problem:FORBIDDEN' });
    });
  }

  if (route.scopes.includes('target')) {
    it("refuses another target's token", async () => {
      const r = await api.call(route.method, pathOf(route, OWN), { token: tokens.otherTarget!, body: bodyOf(route, OWN) });
      // Routes that find their target by lookup (commands) answer 404, so ids of other targets' commands
      // are not confirmed to exist.
      expect(r.status).toBe(route.targetCheckedByHandler ? 404 : 403);
    });
  } else {
    it('answers 403 to a target token, even for its own target', async () => {
      const r = await api.call(route.method, pathOf(route, OWN), { token: tokens.target!, body: bodyOf(route, OWN) });
      expect(r.status).toBe(403);
    });
  }

  const allowed = ROLE_SCOPES.filter((s) => route.scopes.includes(s));
  if (allowed.length > 0) {
    it.each(allowed)('lets the %s scope past authorization', async (scope) => {
      const r = await api.call(route.method, pathOf(route, OWN), { token: tokens[scope]!, body: bodyOf(route, OWN) });
      expect([401, 403]).not.toContain(r.status);
      expect(r.status).toBeLessThan(500);
    });
  }
});
