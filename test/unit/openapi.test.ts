// The OpenAPI document: every route has a documented success body, shared resources are components
// referenced with $ref, every $ref resolves, and the response schemas stay out of the handler bundles.
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { API_GROUPS, ROUTES, fullPath } from '../../functions/core/routes/index.js';
import { openApiDocument, problemStatuses } from '../../functions/core/openapi.js';
import { PROBLEM_CONTENT_TYPE } from '../../functions/core/problems.js';
import { RESPONSE_COMPONENTS, RESPONSE_SCHEMAS } from '../../functions/core/schemas/responses.js';

type Json = Record<string, any>;
const doc = openApiDocument() as Json;

function successOf(operation: Json): [string, Json][] {
  return Object.entries(operation.responses as Json).filter(([status]) => /^2\d\d$/.test(status)) as [string, Json][];
}

function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

function resolve(ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

describe('response schemas', () => {
  it('every route has a response schema, and every schema names a route', () => {
    const operationIds = ROUTES.map((r) => r.operationId);
    expect(operationIds.filter((id) => !(id in RESPONSE_SCHEMAS))).toEqual([]);
    expect(Object.keys(RESPONSE_SCHEMAS).filter((id) => !operationIds.includes(id))).toEqual([]);
  });

  it('every route documents exactly one success status, with a non-empty JSON schema', () => {
    for (const route of ROUTES) {
      const operation = doc.paths[fullPath(route)][route.method.toLowerCase()] as Json;
      const success = successOf(operation);
      expect(success.map(([s]) => Number(s)), route.operationId).toEqual(Object.keys(route.responses ?? { 200: '' }).map(Number));
      for (const [, response] of success) {
        const schema = response.content['application/json'].schema as Json;
        expect(Object.keys(schema).length, route.operationId).toBeGreaterThan(0);
      }
    }
  });

  it('the main resources are components, referenced from the routes that answer them', () => {
    const schemas = doc.components.schemas as Json;
    for (const name of Object.keys(RESPONSE_COMPONENTS)) expect(schemas[name], name).toMatchObject({ type: 'object' });
    expect(schemas.Problem).toBeDefined();
    const body = (path: string, method: string, status: number) =>
      doc.paths[`/api/v1/deployment-server${path}`][method].responses[String(status)].content['application/json'].schema;
    expect(body('/targets/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/Target' });
    expect(body('/targets', 'post', 201).properties.target).toEqual({ $ref: '#/components/schemas/Target' });
    expect(body('/targets', 'get', 200).properties.items.items).toEqual({ $ref: '#/components/schemas/Target' });
    expect(body('/licenses', 'post', 201)).toEqual({ $ref: '#/components/schemas/License' });
    expect(body('/releases', 'post', 201)).toEqual({ $ref: '#/components/schemas/Release' });
    expect(body('/signing-keys', 'post', 201)).toEqual({ $ref: '#/components/schemas/SigningKey' });
    expect(body('/tokens', 'post', 201)).toEqual({ $ref: '#/components/schemas/CreatedToken' });
    expect(body('/tokens', 'get', 200).properties.items.items).toEqual({ $ref: '#/components/schemas/Token' });
    expect(body('/target-policy', 'get', 200)).toEqual({ $ref: '#/components/schemas/TargetPolicy' });
    expect(body('/decisions', 'post', 200)).toEqual({ $ref: '#/components/schemas/Decision' });
    expect(body('/audit', 'get', 200).properties.items.items).toEqual({ $ref: '#/components/schemas/AuditRecord' });
    expect(body('/audit/verify', 'get', 200)).toEqual({ $ref: '#/components/schemas/AuditVerification' });
    expect(body('/executions/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/Execution' });
    expect(body('/targets/{id}/commands', 'get', 200).properties.items.items).toEqual({ $ref: '#/components/schemas/Command' });
    expect(schemas.Target.properties.blockers.items).toEqual({ $ref: '#/components/schemas/Blocker' });
    expect(schemas.Target.required).toEqual(expect.arrayContaining(['id', 'mode', 'status', 'version']));
    expect(schemas.Target.properties.channelMode).toBeUndefined();
    expect(schemas.Command.properties.taskToken).toBeUndefined();
    expect(schemas.Target.properties.status.enum).toEqual(['registered', 'provisioning', 'active', 'updating', 'blocked', 'decommissioned']);
  });

  it('every $ref resolves, and response schemas carry no $schema/$id or closed plain objects', () => {
    const refs = [...new Set(refsIn(doc))];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(resolve(ref), ref).toBeDefined();
    const text = JSON.stringify(doc.components.schemas.Target);
    expect(text).not.toContain('$schema');
    expect(text).not.toContain('$id');
    expect(doc.components.schemas.Target.additionalProperties).toBeUndefined();
  });
});

describe('contract: tags, descriptions, parameters and problem answers', () => {
  const operations = ROUTES.map((route) => ({ route, op: doc.paths[fullPath(route)][route.method.toLowerCase()] as Json }));

  it('servers, info.contact, tags defined once, and a description and a defined tag for every operation', () => {
    expect(doc.servers.length).toBeGreaterThan(0);
    for (const server of doc.servers) expect(server.url).toMatch(/^https:\/\//);
    expect(doc.info.contact.name).toBeTruthy();
    const names = (doc.tags as Json[]).map((t) => t.name);
    expect(names).toEqual([...API_GROUPS]);
    for (const { route, op } of operations) {
      expect(op.description, route.operationId).toMatch(/\S/);
      expect(op.tags, route.operationId).toEqual([route.group]);
    }
  });

  it('every path parameter is documented with its route schema: bounded length and a pattern', () => {
    for (const { route, op } of operations) {
      const inPath = (op.parameters ?? []).filter((p: Json) => p.in === 'path');
      expect(inPath.map((p: Json) => p.name), route.operationId).toEqual([...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
      for (const p of inPath) {
        expect(p.schema.maxLength, `${route.operationId} ${p.name}`).toBeLessThanOrEqual(200);
        expect(p.schema.minLength, `${route.operationId} ${p.name}`).toBeGreaterThanOrEqual(1);
        expect(typeof p.schema.pattern, `${route.operationId} ${p.name}`).toBe('string');
      }
    }
    // One id schema: every target id in a path is documented the same way, and so is every body targetId.
    const targetIds = operations.flatMap(({ route, op }) => (route.path.includes('/targets/{id}') ? op.parameters.filter((p: Json) => p.name === 'id') : []));
    expect(new Set(targetIds.map((p: Json) => JSON.stringify(p.schema))).size).toBe(1);
    const decide = operations.find(({ route }) => route.operationId === 'decide')!.op;
    expect(decide.requestBody.content['application/json'].schema.properties.targetId).toEqual(targetIds[0].schema);
  });

  it('every operation lists the problem answers it can give, as problem documents; 429 carries Retry-After', () => {
    const responses = doc.components.responses as Json;
    for (const { route, op } of operations) {
      const statuses = Object.keys(op.responses).filter((s) => /^[45]\d\d$/.test(s)).map(Number);
      expect(statuses, route.operationId).toEqual(problemStatuses(route));
      expect(statuses, route.operationId).toEqual(expect.arrayContaining([400, 429, 500]));
      expect(statuses.includes(401) && statuses.includes(403), route.operationId).toBe(route.scopes.length > 0);
      expect(statuses.includes(413) && statuses.includes(415), route.operationId).toBe(route.body !== undefined);
      expect(statuses.includes(404), route.operationId).toBe(route.path.includes('{') || (route.problems ?? []).includes(404));
      expect(statuses.includes(428), route.operationId).toBe(route.requestHeaders?.includes('If-Match') ?? false);
      for (const status of statuses) {
        const ref = op.responses[String(status)].$ref as string;
        const response = responses[ref.replace('#/components/responses/', '')];
        expect(response.description, `${route.operationId} ${status}`).toMatch(new RegExp(`^${status} `));
        expect(response.content[PROBLEM_CONTENT_TYPE].schema).toEqual({ $ref: '#/components/schemas/Problem' });
      }
    }
    expect(responses.TooManyRequests.headers['Retry-After'].schema).toMatchObject({ type: 'integer', minimum: 1 });
    expect(operations.find(({ route }) => route.operationId === 'provisionTarget')!.op.responses).toHaveProperty('422');
  });
});

describe('bundles', () => {
  it('only the system group bundles the response schemas', async () => {
    const entries = ['tokens', 'policies', 'decisions', 'licenses', 'targets', 'runs', 'releases', 'audit', 'executions', 'commands', 'rollouts', 'system'];
    const result = await build({
      entryPoints: entries.map((e) => `functions/api/${e}.ts`),
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      write: false,
      outdir: 'out',
      metafile: true,
      logLevel: 'silent',
    });
    const carrying = Object.values(result.metafile.outputs)
      .filter((o) => o.entryPoint && Object.keys(o.inputs).some((i) => i.endsWith('functions/core/schemas/responses.ts')))
      .map((o) => o.entryPoint);
    expect(carrying).toEqual(['functions/api/system.ts']);
  });
});
