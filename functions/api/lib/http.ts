// The one HTTP wrapper every API Lambda uses: route lookup, scope check, body limits, strict JSON,
// zod validation, and the mapping of every error to an RFC 9457 problem document. Handlers stay thin:
// they receive a validated request and return {status, body, headers}.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod';
import type { ZodType } from 'zod';
import type { RouteSpec } from '../../core/routes/types.js';
import { fullPath, routeKey } from '../../core/routes/paths.js';
import { parseJsonStrict, JsonForbiddenMemberError, JsonSyntaxError } from '../../core/json.js';
import {
  ProblemError,
  problemDocument,
  problems,
  PROBLEM_CONTENT_TYPE,
  type FieldError,
} from '../../core/problems.js';
import { isAllowed, principalFromContext, type Principal } from '../../core/principal.js';
import { log } from './log.js';
import { IF_MATCH_PATTERN } from '../../core/schemas/common.js';
import { consumeTokenBudget, targetTokenBudget } from '../../adapters/rate-limit.js';

export const MAX_BODY_BYTES = 256 * 1024;
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface ApiRequest<B = any, Q = any> {
  readonly route: RouteSpec;
  /** Undefined only on public routes. */
  readonly principal: Principal;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Q;
  readonly body: B;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly requestId: string;
  /** The request's clock reading, taken once; domain code receives it rather than reading the time. */
  readonly now: Date;
}

export interface ApiResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type RouteImpl = (req: ApiRequest) => Promise<ApiResult>;

export { log } from './log.js';

export function zodErrors(error: z.ZodError, prefix = ''): FieldError[] {
  return error.issues.map((issue) => ({
    path: prefix + (issue.path.length ? '/' + issue.path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/') : ''),
    message: issue.message,
  }));
}

/** Validate a value against a schema or throw a 400 problem with JSON-pointer field paths. */
export function validate<T>(schema: ZodType<T>, value: unknown, prefix = ''): T {
  const r = schema.safeParse(value);
  if (!r.success) throw problems.validation(zodErrors(r.error, prefix));
  return r.data;
}

function lowerHeaders(h: APIGatewayProxyEvent['headers'] | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'content-type': contentType, 'cache-control': 'no-store', ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

export function problemResponse(err: ProblemError, requestId?: string): APIGatewayProxyResult {
  const doc = err.toDocument();
  if (requestId) doc.instance = `urn:dcp:request:${requestId}`;
  const retryAfter = err.extra?.retryAfter;
  return json(err.status, doc, typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {}, PROBLEM_CONTENT_TYPE);
}

function parseBody(event: APIGatewayProxyEvent, route: RouteSpec, contentType: string | undefined): unknown {
  const raw = event.body;
  if (raw === null || raw === undefined || raw === '') return undefined;
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  const limit = route.maxBodyBytes ?? MAX_BODY_BYTES;
  if (bytes.length > limit) throw problems.tooLarge(limit);
  if (!route.body) throw problems.validation([{ path: '', message: 'this operation takes no request body' }]);
  if (contentType && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) throw problems.unsupportedMediaType();
  // I-JSON (RFC 7493 §2.1): the text must be valid UTF-8. A gateway that hands the body over as a string
  // has already replaced invalid sequences with U+FFFD, so a literal U+FFFD is refused too (a client that
  // means the character can send it escaped, \ufffd).
  let text: string;
  try {
    text = UTF8_STRICT.decode(bytes);
  } catch {
    throw problems.malformedJson('The body is not valid UTF-8 (RFC 7493 I-JSON).');
  }
  if (text.includes('\uFFFD')) throw problems.malformedJson('The body is not valid UTF-8 (it carries U+FFFD, the mark of a replaced invalid byte sequence; escape it as \\ufffd if it is meant).');
  try {
    return parseJsonStrict(text);
  } catch (e) {
    if (e instanceof JsonForbiddenMemberError) {
      throw problems.validation([{ path: '', message: `the member name "${e.member}" is not accepted anywhere in a body (JavaScript objects cannot carry it faithfully)` }]);
    }
    if (e instanceof JsonSyntaxError) throw problems.malformedJson(`The body is not valid JSON: ${e.message}.`);
    throw problems.malformedJson('The body is not valid JSON.');
  }
}

function targetIdOf(route: RouteSpec, params: Record<string, string>, body: unknown): string | undefined {
  const from = route.targetFrom;
  if (!from) return undefined;
  if ('param' in from) return params[from.param];
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const v = (body as Record<string, unknown>)[from.bodyField];
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

/**
 * Build the Lambda handler of one API group from its route implementations. Every route of the group in
 * the route table must have an implementation (checked at module load, failing loudly).
 */
export function createApiHandler(group: RouteSpec['group'], impls: Readonly<Record<string, RouteImpl>>, routes: readonly RouteSpec[]) {
  const mine = routes.filter((r) => r.group === group);
  for (const r of mine) {
    if (!impls[r.operationId]) throw new Error(`No implementation for ${r.operationId} in group ${group}`);
  }
  const byKey = new Map(mine.map((r) => [routeKey(r.method, fullPath(r)), r]));
  // Path parameters are validated with the route's own schemas before any of them reaches a key.
  const paramSchemas = new Map(mine.map((r) => [r, z.strictObject(r.params ?? {})]));
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext?.requestId ?? 'unknown';
    // The request's clock reading, taken once for everything the request decides.
    const now = new Date();
    const route = byKey.get(routeKey(event.httpMethod ?? '', event.resource ?? ''));
    try {
      if (!route) throw problems.notFound('ROUTE_NOT_FOUND', 'No route matches this method and path.');
      const impl = impls[route.operationId]!;
      const rawParams: Record<string, string> = {};
      // API Gateway passes path parameters already URL-decoded (the local gateway does the same).
      for (const [k, v] of Object.entries(event.pathParameters ?? {})) if (typeof v === 'string') rawParams[k] = v;
      const headers = lowerHeaders(event.headers);

      const isPublic = route.scopes.length === 0;
      const principal = principalFromContext(event.requestContext?.authorizer as Record<string, unknown> | undefined);
      if (!isPublic && !principal) throw problems.unauthorized();

      const rawBody = parseBody(event, route, headers['content-type']);
      // The scope check compares ids only; the path parameters are validated right after it, before any of
      // them reaches a key (so a token without the scope learns nothing about the shapes of ids).
      if (!isPublic && !isAllowed(route, principal!, targetIdOf(route, rawParams, rawBody))) throw problems.forbidden();
      const params = validate(paramSchemas.get(route)!, rawParams, '/path') as Record<string, string>;
      // Machine clients (tokens with only target scopes) have a budget of their own (SPEC §5), counted only
      // on the routes they may call: those functions hold the guards table the budget lives in (D6).
      if (!isPublic && principal!.roles.size === 0 && principal!.targetIds.size > 0) {
        const budget = await consumeTokenBudget(principal!.tokenId, now);
        if (!budget.ok) {
          throw new ProblemError(429, 'RATE_LIMITED', `This target token has spent its budget (${targetTokenBudget()} requests a minute, refilled continuously); retry after ${budget.retryAfterSeconds} s.`, undefined, { retryAfter: budget.retryAfterSeconds });
        }
      }

      // A body-less POST is an empty object when the route's schema accepts one (e.g. a bare heartbeat).
      const bodyIn = rawBody === undefined && route.body && route.body.safeParse({}).success ? {} : rawBody;
      const body = route.body && !route.bodyCheckedByHandler ? validate(route.body, bodyIn) : bodyIn;
      const queryIn: Record<string, string> = {};
      for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (typeof v === 'string') queryIn[k] = v;
      let query: unknown = queryIn;
      if (route.query) query = validate(route.query, queryIn, '/query');
      else if (Object.keys(queryIn).length > 0) {
        throw problems.validation(Object.keys(queryIn).map((k) => ({ path: `/query/${k}`, message: 'unknown query parameter' })));
      }

      const result = await impl({
        route,
        principal: principal!,
        params,
        query,
        body,
        headers,
        requestId,
        now,
      });
      return json(result.status, result.body, { ...(result.headers ?? {}) });
    } catch (err) {
      if (err instanceof ProblemError) {
        if (err.status >= 500) log('error', 'request failed', { requestId, code: err.code, error: String(err.cause ?? err) });
        return problemResponse(err, requestId);
      }
      log('error', 'unhandled error', { requestId, route: route?.operationId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      return json(500, problemDocument(500, 'INTERNAL_ERROR', 'The service failed to handle the request; it has been logged.', undefined, { instance: `urn:dcp:request:${requestId}` }), {}, PROBLEM_CONTENT_TYPE);
    }
  };
}

/** Parse an `If-Match` header into a version number; 428 when absent, 412 when it is not a version. */
export function requireIfMatch(req: ApiRequest): number {
  const h = req.headers['if-match'];
  if (h === undefined || h.trim() === '') throw problems.preconditionRequired();
  const m = IF_MATCH_PATTERN.exec(h.trim());
  if (!m) throw problems.preconditionFailed(`If-Match ${JSON.stringify(h.slice(0, 64))} does not name a version; send the ETag you read.`);
  return Number(m[1] ?? m[2]);
}

export function etag(version: number): string {
  return `"${version}"`;
}
