// The OpenAPI 3.1 document, generated from the route table and the same zod schemas that validate
// requests, so the document cannot drift from what the handlers accept. Success bodies come from the
// response schemas (schemas/responses.ts, imported only here), which the integration tests hold real
// answers against; shared resources are `components.schemas` entries referenced with $ref.
import * as z from 'zod';
import type { ZodType } from 'zod';
import { API_GROUPS, BASE_PATH, ROUTES, fullPath, type ApiGroup, type RouteSpec } from './routes/index.js';
import { GATEWAY_RESPONSES, MAX_PROBLEM_ERRORS, PROBLEM_CONTENT_TYPE, PROBLEM_LIMITS, titleFor } from './problems.js';
import { ifMatchHeader } from './schemas/common.js';
import { idempotencyKey } from './schemas/workflows.js';
import { RESPONSE_COMPONENTS, RESPONSE_SCHEMAS } from './schemas/responses.js';

const INT32 = 2 ** 31;

/** `format` of an integer from its bounds: int32 when both fit, int64 otherwise (JSON numbers are safe integers). */
function integerFormat(json: Record<string, unknown>): void {
  if (json.type !== 'integer' || json.format !== undefined) return;
  const min = typeof json.minimum === 'number' ? json.minimum : -Number.MAX_SAFE_INTEGER;
  const max = typeof json.maximum === 'number' ? json.maximum : Number.MAX_SAFE_INTEGER;
  json.format = min >= -INT32 && max < INT32 ? 'int32' : 'int64';
}

function schemaOf(t: ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(t, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => integerFormat(ctx.jsonSchema as Record<string, unknown>),
  }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

const COMPONENT_REF = '#/components/schemas/';

/**
 * Response schemas are open (a response may gain fields), so `additionalProperties: false`, which zod
 * writes for plain objects in output mode, is left out; so is the date-time regex (the format says it).
 * Integers keep their bounds (a safe integer at most) and get a format.
 */
function tidyResponse(ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  const def = (ctx.zodSchema as { _zod: { def: { type: string; catchall?: unknown } } })._zod.def;
  const json = ctx.jsonSchema;
  if (def.type === 'object' && def.catchall === undefined && json.additionalProperties === false) delete json.additionalProperties;
  if (json.format === 'date-time') delete json.pattern;
  integerFormat(json);
}

/**
 * The named components and the success body of each operation: one registry conversion, so a component
 * used inside an answer (a Target in a page of targets) becomes a $ref to `components.schemas`.
 */
function responseSchemas(): { components: Record<string, unknown>; byOperation: Record<string, unknown> } {
  const registry = z.registry<{ id: string }>();
  const idOf = new Map<ZodType, string>();
  for (const [name, schema] of Object.entries(RESPONSE_COMPONENTS)) {
    registry.add(schema, { id: name });
    idOf.set(schema, name);
  }
  const opId = (operationId: string) => `operation:${operationId}`;
  for (const [operationId, schema] of Object.entries(RESPONSE_SCHEMAS)) {
    if (idOf.has(schema)) continue;
    registry.add(schema, { id: opId(operationId) });
    idOf.set(schema, opId(operationId));
  }
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'output',
    unrepresentable: 'any',
    uri: (id) => `${COMPONENT_REF}${id}`,
    override: tidyResponse,
  }) as { schemas: Record<string, Record<string, unknown>> };
  for (const s of Object.values(schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  const components: Record<string, unknown> = {};
  for (const name of Object.keys(RESPONSE_COMPONENTS)) components[name] = schemas[name];
  const byOperation: Record<string, unknown> = {};
  for (const [operationId, schema] of Object.entries(RESPONSE_SCHEMAS)) {
    const id = idOf.get(schema)!;
    byOperation[operationId] = id in RESPONSE_COMPONENTS ? { $ref: `${COMPONENT_REF}${id}` } : schemas[id];
  }
  return { components, byOperation };
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', format: 'uri', maxLength: PROBLEM_LIMITS.type, description: 'urn:dcp:problem:<code>' },
    title: { type: 'string', maxLength: PROBLEM_LIMITS.title, pattern: '^[A-Za-z ]+$', description: 'The reason phrase of the status' },
    status: { type: 'integer', format: 'int32', minimum: 400, maximum: 599 },
    detail: { type: 'string', maxLength: PROBLEM_LIMITS.detail, pattern: '^[^\\u0000-\\u001f]*$' },
    code: { type: 'string', maxLength: PROBLEM_LIMITS.code, pattern: '^[A-Z][A-Z0-9_]*$', description: 'Stable machine code' },
    instance: { type: 'string', format: 'uri', maxLength: PROBLEM_LIMITS.instance, description: 'urn:dcp:request:<request id>' },
    retryAfter: { type: 'integer', format: 'int32', minimum: 1, maximum: 86400, description: 'Seconds to wait (with 429 RATE_LIMITED), as in Retry-After' },
    errors: {
      type: 'array',
      maxItems: MAX_PROBLEM_ERRORS,
      description: `The first ${MAX_PROBLEM_ERRORS} field errors`,
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: {
          path: { type: 'string', maxLength: PROBLEM_LIMITS.field, pattern: '^(/.*)?$', description: 'JSON pointer; /path/<name>, /query/<name> and /headers/<name> name parameters' },
          message: { type: 'string', maxLength: PROBLEM_LIMITS.field, pattern: '^[^\\u0000-\\u001f]*$' },
        },
      },
    },
  },
} as const;

const retryAfterHeader = {
  description: 'Seconds until the per-token budget has room again (RATE_LIMITED); API Gateway throttling (THROTTLED) sends none',
  schema: { type: 'integer', format: 'int32', minimum: 1, maximum: 86400 },
};

/** Problem answers, one component each, so every operation lists the ones it can give by $ref. */
const PROBLEM_RESPONSES: Record<number, { name: string; description: string; headers?: Record<string, unknown> }> = {
  400: { name: 'BadRequest', description: 'The request is not valid: `errors` names each field (VALIDATION_FAILED, MALFORMED_JSON, INVALID_CURSOR, or a domain code)' },
  401: { name: 'Unauthorized', description: 'No valid bearer token' },
  403: { name: 'Forbidden', description: 'The token carries no scope that allows this operation on this resource' },
  404: { name: 'NotFound', description: 'No such resource, or not one this token may see' },
  409: { name: 'Conflict', description: 'The resource is in a state that does not allow this (a domain code says which)' },
  412: { name: 'PreconditionFailed', description: 'If-Match does not name the current version' },
  413: { name: 'ContentTooLarge', description: 'The body is larger than 256 KiB' },
  415: { name: 'UnsupportedMediaType', description: 'The body is not application/json' },
  422: { name: 'UnprocessableContent', description: 'The Idempotency-Key was used with a different request' },
  428: { name: 'PreconditionRequired', description: 'If-Match is required' },
  429: {
    name: 'TooManyRequests',
    description: 'Throttled by API Gateway (THROTTLED), or a target token spent its requests for this minute (RATE_LIMITED)',
    headers: { 'Retry-After': retryAfterHeader },
  },
  500: { name: 'InternalServerError', description: 'The service failed; the request id is in `instance`' },
  503: { name: 'ServiceUnavailable', description: 'A dependency (the workflow engine) could not take the request; nothing was changed, retry' },
};

/** Statuses an operation can answer with a problem document (see RouteSpec.problems). */
export function problemStatuses(route: RouteSpec): number[] {
  const out = new Set<number>([400, 429, 500, ...(route.problems ?? [])]);
  if (route.scopes.length > 0) {
    out.add(401);
    out.add(403);
  }
  if (route.body) {
    out.add(413);
    out.add(415);
  }
  if (route.params && Object.keys(route.params).length > 0) out.add(404);
  if (route.requestHeaders?.includes('If-Match')) {
    out.add(412);
    out.add(428);
  }
  return [...out].sort((a, b) => a - b);
}

const HEADER_SCHEMAS: Record<NonNullable<RouteSpec['requestHeaders']>[number], { schema: ZodType; description: string }> = {
  'If-Match': { schema: ifMatchHeader, description: 'The ETag of the version this write replaces' },
  'Idempotency-Key': { schema: idempotencyKey, description: 'The same key with the same request answers the same run' },
};

const GROUP_DESCRIPTIONS: Record<ApiGroup, string> = {
  system: 'Liveness and this document (public)',
  tokens: 'API tokens and their scopes',
  policies: 'The four policy documents, their versions and evaluations',
  decisions: 'May this target do this action with this release?',
  licenses: 'Customer licenses and their entitlements',
  targets: 'Customer environments, their heartbeats and attestations',
  runs: 'Provisioning and update workflows',
  releases: 'Signed releases, signing keys and config validation',
  audit: 'The hash-chained audit trail',
  executions: 'Workflow runs and their step history',
  commands: "Commands for a target's agent and their signed results",
  rollouts: 'Rollouts of a release in canary and waves',
  artifacts: 'Release artifacts: presigned uploads and short-lived downloads',
};

function describeOperation(route: RouteSpec): string {
  const parts = [`${route.summary}.`];
  if (route.scopes.length === 0) parts.push('Public: no token needed.');
  else parts.push(`Scopes: ${route.scopes.map((s) => (s === 'target' ? 'target:<id> of this target' : s)).join(', ')}.`);
  if (route.scopes.includes('target')) parts.push('A target token has a budget of requests per minute (429 RATE_LIMITED with Retry-After beyond it).');
  if (route.bodyCheckedByHandler) parts.push('The body is verified by the handler: refusals carry RELEASE_* codes.');
  return parts.join(' ');
}

function operation(route: RouteSpec, responseBodies: Record<string, unknown>) {
  const parameters: Record<string, unknown>[] = [];
  for (const [name, schema] of Object.entries(route.params ?? {})) {
    parameters.push({ name, in: 'path', required: true, schema: schemaOf(schema) });
  }
  if (route.query) {
    const qs = schemaOf(route.query) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(qs.properties ?? {})) {
      parameters.push({ name, in: 'query', required: qs.required?.includes(name) ?? false, schema });
    }
  }
  for (const h of route.requestHeaders ?? []) {
    parameters.push({ name: h, in: 'header', required: true, description: HEADER_SCHEMAS[h].description, schema: schemaOf(HEADER_SCHEMAS[h].schema) });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(route.responses ?? { 200: 'OK' })) {
    responses[status] = { description, content: { 'application/json': { schema: responseBodies[route.operationId] ?? {} } } };
  }
  for (const status of problemStatuses(route)) responses[String(status)] = { $ref: `#/components/responses/${PROBLEM_RESPONSES[status]!.name}` };
  responses['4XX'] = { $ref: '#/components/responses/Problem' };
  responses['5XX'] = { $ref: '#/components/responses/Problem' };
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: describeOperation(route),
    tags: [route.group],
    ...(route.scopes.length > 0
      ? {
          security: [{ bearer: [] }],
          'x-dcp-scopes': route.scopes.map((s) => (s === 'target' ? 'target:<id>' : s)),
        }
      : { security: [] }),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body) } } } } : {}),
    responses,
  };
}

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const { components, byOperation } = responseSchemas();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const p = (paths[fullPath(route)] ??= {});
    p[route.method.toLowerCase()] = operation(route, byOperation);
  }
  const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } };
  const responses: Record<string, unknown> = {
    Problem: {
      description: `Problem document. Gateway codes: ${GATEWAY_RESPONSES.map((g) => g.code).join(', ')}`,
      content: problemContent,
    },
  };
  for (const [status, r] of Object.entries(PROBLEM_RESPONSES)) {
    responses[r.name] = { description: `${status} ${titleFor(Number(status))}: ${r.description}`, ...(r.headers ? { headers: r.headers } : {}), content: problemContent };
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Deployment Control Plane',
      version: '1.0.0',
      description:
        `Decides which targets may be provisioned, updated or bound to a release, runs those workflows and keeps a tamper-evident audit trail. Base path ${BASE_PATH}. Errors are RFC 9457 problem documents. Every input is bounded: the schemas below state each length, pattern, range and count the server enforces. The local runtime (npm start) serves the same paths on http://127.0.0.1:3000.`,
      contact: { name: 'Deployment Control Plane maintainers' },
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/{stage}',
        description: 'production: the API Gateway stage the CDK stack deploys (its ApiUrl output)',
        'x-internal': false,
        variables: {
          apiId: { default: 'api-id', description: 'The REST API id' },
          region: { default: 'eu-west-1', description: 'The AWS region' },
          stage: { default: 'prod', description: 'The stage name (dcp:stageName)' },
        },
      },
    ],
    tags: API_GROUPS.map((name) => ({ name, description: GROUP_DESCRIPTIONS[name] })),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'dcp_<id>.<secret> token; scopes admin, operator, auditor, target:<id>, tenant:<tenantId>' } },
      schemas: { ...components, Problem: problemSchema },
      responses,
    },
  };
  return cached;
}
