// The route table of the HTTPS API: every route, its Lambda group and the scopes that may call it.
import type { RouteSpec } from './types.js';
import { systemRoutes } from './system.js';
import { tokenRoutes } from './tokens.js';
import { policyRoutes } from './policies.js';
import { decisionRoutes } from './decisions.js';
import { licenseRoutes } from './licenses.js';
import { targetRoutes } from './targets.js';
import { releaseRoutes } from './releases.js';
import { auditRoutes } from './audit.js';
import { executionRoutes } from './executions.js';
import { commandRoutes } from './commands.js';

export * from './types.js';

export const BASE_PATH = '/api/v1/deployment-server';

export const ROUTES: readonly RouteSpec[] = [
  ...systemRoutes,
  ...tokenRoutes,
  ...policyRoutes,
  ...decisionRoutes,
  ...licenseRoutes,
  ...targetRoutes,
  ...releaseRoutes,
  ...auditRoutes,
  ...executionRoutes,
  ...commandRoutes,
];

/** Full path of a route as API Gateway and clients see it. */
export function fullPath(route: RouteSpec): string {
  return route.root ? route.path : `${BASE_PATH}${route.path}`;
}

export function routeKey(method: string, resource: string): string {
  return `${method.toUpperCase()} ${resource}`;
}

const byKey = new Map(ROUTES.map((r) => [routeKey(r.method, fullPath(r)), r]));

/** Find the route of an API Gateway event by its resource template (e.g. `/api/v1/.../targets/{id}`). */
export function findRoute(method: string, resource: string): RouteSpec | undefined {
  return byKey.get(routeKey(method, resource));
}
