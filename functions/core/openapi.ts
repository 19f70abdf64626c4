// The OpenAPI 3.1 document, generated from the route table and the same zod schemas that validate
// requests, so the document cannot drift from what the handlers accept. Success bodies come from the
// response schemas (schemas/responses.ts, imported only here), which the integration tests hold real
// answers against; shared resources are `components.schemas` entries referenced with $ref.
import * as z from 'zod';
import type { ZodType } from 'zod';
import { BASE_PATH, ROUTES, fullPath, type RouteSpec } from './routes/index.js';
import { GATEWAY_RESPONSES, PROBLEM_CONTENT_TYPE } from './problems.js';
import { RESPONSE_COMPONENTS, RESPONSE_SCHEMAS } from './schemas/responses.js';

function schemaOf(t: ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(t, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

const COMPONENT_REF = '#/components/schemas/';
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Response schemas are open (a response may gain fields), so `additionalProperties: false`, which zod
 * writes for plain objects in output mode, is left out; so are the date-time regex (the format says it)
 * and the bounds of a safe integer, which say nothing.
 */
function tidyResponse(ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  const def = (ctx.zodSchema as { _zod: { def: { type: string; catchall?: unknown } } })._zod.def;
  const json = ctx.jsonSchema;
  if (def.type === 'object' && def.catchall === undefined && json.additionalProperties === false) delete json.additionalProperties;
  if (json.format === 'date-time') delete json.pattern;
  if (json.type === 'integer') {
    if (json.minimum === -MAX_SAFE) delete json.minimum;
    if (json.maximum === MAX_SAFE) delete json.maximum;
  }
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
    type: { type: 'string', format: 'uri', description: 'urn:dcp:problem:<code>' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'Stable machine code' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string', description: 'JSON pointer' }, message: { type: 'string' } } },
    },
  },
} as const;

function operation(route: RouteSpec, responseBodies: Record<string, unknown>) {
  const problemRef = { $ref: '#/components/responses/Problem' };
  const parameters: Record<string, unknown>[] = [];
  for (const m of route.path.matchAll(/\{(\w+)\}/g)) {
    parameters.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
  }
  if (route.query) {
    const qs = schemaOf(route.query) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(qs.properties ?? {})) {
      parameters.push({ name, in: 'query', required: qs.required?.includes(name) ?? false, schema });
    }
  }
  for (const h of route.requestHeaders ?? []) {
    parameters.push({ name: h, in: 'header', required: true, schema: { type: 'string' } });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(route.responses ?? { 200: 'OK' })) {
    responses[status] = { description, content: { 'application/json': { schema: responseBodies[route.operationId] ?? {} } } };
  }
  if (route.scopes.length > 0) {
    responses['401'] = problemRef;
    responses['403'] = problemRef;
  }
  responses['400'] = problemRef;
  responses['4XX'] = problemRef;
  responses['5XX'] = problemRef;
  return {
    operationId: route.operationId,
    summary: route.summary,
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
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Deployment Control Plane',
      version: '1.0.0',
      description:
        `Decides which targets may be provisioned, updated or bound to a release, runs those workflows and keeps a tamper-evident audit trail. Base path ${BASE_PATH}. Errors are RFC 9457 problem documents.`,
    },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'dcp_<id>.<secret> token; scopes admin, operator, auditor, target:<id>, tenant:<tenantId>' } },
      schemas: { ...components, Problem: problemSchema },
      responses: {
        Problem: {
          description: `Problem document. Gateway codes: ${GATEWAY_RESPONSES.map((g) => g.code).join(', ')}`,
          content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
    },
  };
  return cached;
}
