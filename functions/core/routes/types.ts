// Shape of one route of the HTTPS API. The route table is the single source for API Gateway resources
// (infra/), the local server's matcher (local/), scope checks in handlers (functions/api/), the OpenAPI
// document and the generated auth tests.
import type { ZodType } from 'zod';

/** Lambda functions of the API; each group is one function in AWS and one handler module locally. */
export const API_GROUPS = [
  'system',
  'tokens',
  'policies',
  'decisions',
  'licenses',
  'targets',
  'runs',
  'releases',
  'audit',
  'executions',
  'commands',
  'rollouts',
  'artifacts',
] as const;
export type ApiGroup = (typeof API_GROUPS)[number];

/** Role scopes; `target` stands for `target:<id>` bound to the route's target. */
export type RouteScope = 'admin' | 'operator' | 'auditor' | 'target';
export const ROLE_SCOPES = ['admin', 'operator', 'auditor'] as const;

/** Statuses a route may list in `problems`. */
export type RouteProblemStatus = 404 | 409 | 412 | 422 | 428 | 503;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteSpec {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** Path below the base path (or at the root when `root` is set), API Gateway style: `/targets/{id}`. */
  readonly path: string;
  readonly group: ApiGroup;
  readonly summary: string;
  /** Empty for public routes (no Authorization needed). */
  readonly scopes: readonly RouteScope[];
  /**
   * Where a `target:<id>` token's id must match: a path parameter name, or `body.targetId`.
   * Routes that find the target only after a lookup (commands) check inside the handler.
   */
  readonly targetFrom?: { readonly param: string } | { readonly bodyField: string };
  readonly root?: boolean;
  /**
   * The schema of each path parameter, by name: every `{name}` in `path` has one (checked when a handler is
   * built and by the unit tests). The HTTP wrapper validates them before anything reads a key, and the
   * OpenAPI document is generated from the same schemas.
   */
  readonly params?: Readonly<Record<string, ZodType<string>>>;
  /**
   * Problem statuses the route's own logic answers beyond those every route can give (400, 429, 500; 401
   * and 403 when it needs a token; 413 and 415 when it takes a body; 404 when it has path parameters; 412
   * and 428 when it reads If-Match), for the OpenAPI document.
   */
  readonly problems?: readonly RouteProblemStatus[];
  readonly body?: ZodType;
  /**
   * The handler validates the (strictly parsed) body itself, so refusals carry domain codes such as
   * RELEASE_MANIFEST_INVALID; `body` then only documents the shape.
   */
  readonly bodyCheckedByHandler?: true;
  /** A larger body limit than MAX_BODY_BYTES, for routes whose body carries a large text in JSON escapes. */
  readonly maxBodyBytes?: number;
  readonly query?: ZodType;
  /** Success status and a short description of the response, for the OpenAPI document. */
  readonly responses?: Readonly<Record<number, string>>;
  /** Headers the route reads (documented in OpenAPI). */
  readonly requestHeaders?: readonly ('If-Match' | 'Idempotency-Key')[];
  /** A route that reads a target's own resources only after a lookup checks the target scope itself. */
  readonly targetCheckedByHandler?: true;
}

/** Names of the `{parameters}` of a route path, in order. */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

export function defineRoutes(routes: RouteSpec[]): readonly RouteSpec[] {
  for (const r of routes) {
    const names = pathParamNames(r.path);
    const declared = Object.keys(r.params ?? {});
    if (names.join() !== declared.join()) throw new Error(`${r.operationId}: path parameters ${names.join()} but params ${declared.join()}`);
  }
  return routes;
}
