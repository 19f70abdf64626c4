// The OpenAPI document: every route has a documented success body, shared resources are components
// referenced with $ref, every $ref resolves, and the response schemas stay out of the handler bundles.
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { ROUTES, fullPath } from '../../functions/core/routes/index.js';
import { openApiDocument } from '../../functions/core/openapi.js';
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
