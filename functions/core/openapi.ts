// The OpenAPI 3.1 document, generated from the route table and the same zod schemas that validate
// requests, so the document cannot drift from what the handlers accept.
import * as z from 'zod';
import type { ZodType } from 'zod';
import { BASE_PATH, ROUTES, fullPath, type RouteSpec } from './routes/index.js';
import { GATEWAY_RESPONSES, PROBLEM_CONTENT_TYPE } from './problems.js';

function schemaOf(t: ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(t, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
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

function operation(route: RouteSpec) {
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
    responses[status] = { description, content: { 'application/json': { schema: {} } } };
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
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const p = (paths[fullPath(route)] ??= {});
    p[route.method.toLowerCase()] = operation(route);
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
      schemas: { Problem: problemSchema },
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
