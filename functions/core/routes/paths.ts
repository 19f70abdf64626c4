// Where routes live: the base path, the full path of a route, and the lookup key of method + path.
// Kept apart from the table itself so one API group's bundle can import only its own routes.
import type { RouteSpec } from './types.js';

export const BASE_PATH = '/api/v1/deployment-server';

/** Full path of a route as API Gateway and clients see it. */
export function fullPath(route: RouteSpec): string {
  return route.root ? route.path : `${BASE_PATH}${route.path}`;
}

export function routeKey(method: string, resource: string): string {
  return `${method.toUpperCase()} ${resource}`;
}
