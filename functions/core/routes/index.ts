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
import { runRoutes } from './runs.js';
import { rolloutRoutes } from './rollouts.js';
import { artifactRoutes } from './artifacts.js';

export * from './types.js';
export * from './paths.js';
import { fullPath, routeKey } from './paths.js';


export const ROUTES: readonly RouteSpec[] = [
  ...systemRoutes,
  ...tokenRoutes,
  ...policyRoutes,
  ...decisionRoutes,
  ...licenseRoutes,
  ...targetRoutes,
  ...runRoutes,
  ...releaseRoutes,
  ...auditRoutes,
  ...executionRoutes,
  ...commandRoutes,
  ...rolloutRoutes,
  ...artifactRoutes,
];


const byKey = new Map(ROUTES.map((r) => [routeKey(r.method, fullPath(r)), r]));

/** Find the route of an API Gateway event by its resource template (e.g. `/api/v1/.../targets/{id}`). */
export function findRoute(method: string, resource: string): RouteSpec | undefined {
  return byKey.get(routeKey(method, resource));
}
