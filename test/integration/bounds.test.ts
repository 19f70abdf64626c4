// The documented bounds are the enforced ones, over real HTTP. Every bound used here is read from the
// generated OpenAPI document (not a second hand-written list): a value at the bound is accepted (2xx) and
// one just beyond it is a 400 problem naming the field. Then issue #10 F1: a path id of any length or
// alphabet is a 400 problem naming the parameter (or a 404), never a 500, on every route that takes one.
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi, type CallResult } from '../support/api.js';
import { licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { testKey } from '../unit/crypto/release-fixtures.js';
import { openApiDocument } from '../../functions/core/openapi.js';
import { ROUTES, fullPath, type RouteSpec } from '../../functions/core/routes/index.js';
import { PROBLEM_CONTENT_TYPE } from '../../functions/core/problems.js';

const api = useApi();
type Json = Record<string, any>;
const doc = openApiDocument() as Json;

function operationOf(operationId: string): Json {
  const route = ROUTES.find((r) => r.operationId === operationId)!;
  return doc.paths[fullPath(route)][route.method.toLowerCase()];
}

/** The documented schema of a request body member, by JSON pointer segments. */
function bodyField(operationId: string, ...path: string[]): Json {
  let s = operationOf(operationId).requestBody.content['application/json'].schema as Json;
  for (const k of path) s = k === '[]' ? s.items : s.properties[k];
  expect(s, `${operationId} /${path.join('/')} is documented`).toBeDefined();
  return s;
}

function queryParam(operationId: string, name: string): Json {
  return operationOf(operationId).parameters.find((p: Json) => p.in === 'query' && p.name === name).schema;
}

/** A 400 problem document whose `errors` name exactly this field (and maybe others, never none). */
function expectRefused(r: CallResult, pointer: string) {
  expect(r.status, r.text).toBe(400);
  expect(r.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
  expect(r.body.code, r.text).toBe('VALIDATION_FAILED');
  expect(r.body.errors.map((e: Json) => e.path), r.text).toContain(pointer);
}

const pad = (prefix: string, length: number, fill = 'a') => (prefix + fill.repeat(length)).slice(0, length);
let seq = 0;
const fresh = (label: string) => `bd-${label}-${++seq}`;

describe('ids: documented alphabet and length', () => {
  it('a license id at maxLength is created; one character more, or a character outside the alphabet, is a 400 naming /id', async () => {
    const schema = bodyField('createLicense', 'id');
    expect(schema.maxLength).toBe(64);
    const pattern = new RegExp(schema.pattern);
    const atBound = pad(fresh('lic'), schema.maxLength);
    expect(pattern.test(atBound)).toBe(true);
    const ok = await api.call('POST', '/licenses', { body: licenseBody(atBound) });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.id).toBe(atBound);
    // Readable back through the path, whose parameter is documented with the same schema.
    expect(operationOf('getLicense').parameters[0].schema).toEqual({ ...schema });
    expect((await api.call('GET', `/licenses/${atBound}`)).status).toBe(200);

    expectRefused(await api.call('POST', '/licenses', { body: licenseBody(pad(fresh('lic'), schema.maxLength + 1)) }), '/id');
    for (const bad of ['lic id', '-lic', 'lic/x', 'lïc', '']) {
      expect(pattern.test(bad) && bad.length >= schema.minLength, bad).toBe(false);
      expectRefused(await api.call('POST', '/licenses', { body: licenseBody(bad) }), '/id');
    }
  });

  it('ids inside bodies and query strings are bounded the same way', async () => {
    const max = bodyField('decide', 'targetId').maxLength as number;
    expectRefused(await api.call('POST', '/decisions', { body: { targetId: 'x'.repeat(max + 1), action: 'provision' } }), '/targetId');
    expectRefused(await api.call('POST', '/decisions', { body: { targetId: 'x'.repeat(3000), action: 'provision' } }), '/targetId');
    const notFound = await api.call('POST', '/decisions', { body: { targetId: 'x'.repeat(max), action: 'provision' } });
    expect([notFound.status, notFound.body.code]).toEqual([404, 'TARGET_NOT_FOUND']);
    expect(queryParam('listAudit', 'targetId').maxLength).toBe(max);
    expectRefused(await api.call('GET', `/audit?targetId=${'x'.repeat(max + 1)}`), '/query/targetId');
    expectRefused(await api.call('GET', `/rollouts?releaseId=${'1'.repeat(3000)}`), '/query/releaseId');
    expect((await api.call('GET', `/rollouts?releaseId=${'1'.repeat(queryParam('listRollouts', 'releaseId').maxLength)}`)).status).toBe(200);
  });
});

describe('names and reasons: maxLength, no control characters', () => {
  it('a token description at maxLength is kept; one more character, or a control character, is a 400 naming /description', async () => {
    const { maxLength } = bodyField('createToken', 'description');
    const ok = await api.call('POST', '/tokens', { body: { scopes: ['auditor'], description: pad('d', maxLength) } });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.description).toHaveLength(maxLength);
    expectRefused(await api.call('POST', '/tokens', { body: { scopes: ['auditor'], description: pad('d', maxLength + 1) } }), '/description');
    expectRefused(await api.call('POST', '/tokens', { body: { scopes: ['auditor'], description: 'line\nbreak' } }), '/description');
  });

  it('a revocation reason at maxLength is recorded; one more character is a 400 naming /reason and revokes nothing', async () => {
    const { maxLength } = bodyField('revokeLicense', 'reason');
    const id = fresh('lic-r');
    expect((await api.call('POST', '/licenses', { body: licenseBody(id) })).status).toBe(201);
    expectRefused(await api.call('POST', `/licenses/${id}/revoke`, { body: { reason: pad('r', maxLength + 1) } }), '/reason');
    expect((await api.call('GET', `/licenses/${id}`)).body.status).toBe('active');
    const ok = await api.call('POST', `/licenses/${id}/revoke`, { body: { reason: pad('r', maxLength) } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.revokedReason).toHaveLength(maxLength);
  });

  it('a target name at maxLength registers; one more character is a 400 naming /name', async () => {
    const { maxLength } = bodyField('registerTarget', 'name');
    const license = fresh('lic-t');
    expect((await api.call('POST', '/licenses', { body: licenseBody(license) })).status).toBe(201);
    const keys = targetKeys();
    const beyond = await api.call('POST', '/targets', { body: { ...targetBody(fresh('t'), 'saas', license, keys.publicKey), name: pad('n', maxLength + 1) } });
    expectRefused(beyond, '/name');
    const ok = await api.call('POST', '/targets', { body: { ...targetBody(fresh('t'), 'saas', license, keys.publicKey), name: pad('n', maxLength) } });
    expect(ok.status, ok.text).toBe(201);
  });
});

describe('keys and hashes: base64 and hex of the right length', () => {
  it('a signing key is 32 bytes of base64 and its id 32 bytes of hex: exactly that length is accepted, one more is a 400 naming the field', async () => {
    const key = bodyField('addSigningKey', 'publicKey');
    const id = bodyField('addSigningKey', 'keyId');
    expect([key.minLength, key.maxLength]).toEqual([44, 44]);
    expect([id.minLength, id.maxLength]).toEqual([64, 64]);
    const k = testKey(fresh('key'));
    expect(k.publicKeyBase64).toHaveLength(key.maxLength);
    expect(new RegExp(key.pattern).test(k.publicKeyBase64)).toBe(true);
    expect(new RegExp(id.pattern).test(k.keyId)).toBe(true);

    expectRefused(await api.call('POST', '/signing-keys', { body: { keyId: k.keyId, publicKey: `${k.publicKeyBase64}A` } }), '/publicKey');
    expectRefused(await api.call('POST', '/signing-keys', { body: { keyId: k.keyId, publicKey: k.publicKeyBase64.slice(0, -1) } }), '/publicKey');
    expectRefused(await api.call('POST', '/signing-keys', { body: { keyId: `${k.keyId}0`, publicKey: k.publicKeyBase64 } }), '/keyId');
    expectRefused(await api.call('POST', '/signing-keys', { body: { keyId: k.keyId.toUpperCase(), publicKey: k.publicKeyBase64 } }), '/keyId');
    const ok = await api.call('POST', '/signing-keys', { body: { keyId: k.keyId, publicKey: k.publicKeyBase64 } });
    expect(ok.status, ok.text).toBe(201);
    // The key id is a path parameter too, with the same schema.
    expect(operationOf('revokeSigningKey').parameters[0].schema).toEqual(id);
    expectRefused(await api.call('POST', `/signing-keys/${k.keyId}0/revoke`, { body: {} }), '/path/keyId');
  });

  it('a signature is 64 bytes of base64: a longer one is a 400 naming /signature before anything is verified', async () => {
    const sig = bodyField('postAttestation', 'signature');
    expect([sig.minLength, sig.maxLength]).toEqual([88, 88]);
    const license = fresh('lic-s');
    expect((await api.call('POST', '/licenses', { body: licenseBody(license) })).status).toBe(201);
    const keys = targetKeys();
    const id = fresh('t');
    const reg = await api.call('POST', '/targets', { body: targetBody(id, 'self-hosted', license, keys.publicKey) });
    expect(reg.status, reg.text).toBe(201);
    const statement = { _type: 'attestation', targetId: id, issuedAt: new Date().toISOString(), runtime: { php: '8.3' }, flags: { appDebug: false } };
    expectRefused(await api.call('POST', `/targets/${id}/attestations`, { token: reg.body.token, body: { statement, signature: `${'A'.repeat(86)}==A` } }), '/signature');
  });
});

describe('integers: format and limits', () => {
  it('maxTargets at its documented maximum is accepted; one more, or below the minimum, is a 400 naming the field', async () => {
    const schema = bodyField('createLicense', 'entitlements', 'maxTargets');
    expect(schema).toMatchObject({ type: 'integer', format: 'int32' });
    const body = (maxTargets: number) => licenseBody(fresh('lic-i'), { entitlements: { modes: ['saas'], maxTargets, features: [] } });
    expect((await api.call('POST', '/licenses', { body: body(schema.maximum) })).status).toBe(201);
    expect((await api.call('POST', '/licenses', { body: body(schema.minimum) })).status).toBe(201);
    expectRefused(await api.call('POST', '/licenses', { body: body(schema.maximum + 1) }), '/entitlements/maxTargets');
    expectRefused(await api.call('POST', '/licenses', { body: body(schema.minimum - 1) }), '/entitlements/maxTargets');
    expectRefused(await api.call('POST', '/licenses', { body: body(1.5) }), '/entitlements/maxTargets');
  });

  it('a page limit at its documented maximum is served; one more is a 400 naming /query/limit', async () => {
    const schema = queryParam('listTokens', 'limit');
    expect(schema).toMatchObject({ type: 'integer', format: 'int32', minimum: 1 });
    expect((await api.call('GET', `/tokens?limit=${schema.maximum}`)).status).toBe(200);
    expectRefused(await api.call('GET', `/tokens?limit=${schema.maximum + 1}`), '/query/limit');
    expectRefused(await api.call('GET', `/tokens?limit=${schema.minimum - 1}`), '/query/limit');
  });
});

describe('arrays: maxItems', () => {
  it('features at maxItems are accepted; one more is a 400 naming /entitlements/features', async () => {
    const schema = bodyField('createLicense', 'entitlements', 'features');
    expect(schema.maxItems).toBe(32);
    const features = (n: number) => Array.from({ length: n }, (_, i) => `feature-${i}`);
    const body = (n: number) => licenseBody(fresh('lic-a'), { entitlements: { modes: ['saas'], maxTargets: 1, features: features(n) } });
    const ok = await api.call('POST', '/licenses', { body: body(schema.maxItems) });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.entitlements.features).toHaveLength(schema.maxItems);
    expectRefused(await api.call('POST', '/licenses', { body: body(schema.maxItems + 1) }), '/entitlements/features');
  });

  it('token scopes at maxItems are accepted; one more is a 400 naming /scopes', async () => {
    const schema = bodyField('createToken', 'scopes');
    const scopes = (n: number) => Array.from({ length: n }, (_, i) => `target:bd-scope-${i}`);
    expect((await api.call('POST', '/tokens', { body: { scopes: scopes(schema.maxItems) } })).status).toBe(201);
    expectRefused(await api.call('POST', '/tokens', { body: { scopes: scopes(schema.maxItems + 1) } }), '/scopes');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Issue #10 F1: every path parameter of every route.

describe('path ids of any length or alphabet never reach a key (#10 F1)', () => {
  let targetToken = '';
  const TARGET = 'bd-f1-target';

  beforeAll(async () => {
    const license = 'bd-f1-lic';
    expect((await api.call('POST', '/licenses', { body: licenseBody(license) })).status).toBe(201);
    const reg = await api.call('POST', '/targets', { body: targetBody(TARGET, 'self-hosted', license, targetKeys().publicKey) });
    expect(reg.status, reg.text).toBe(201);
    targetToken = reg.body.token;
  });

  const withParams = ROUTES.filter((r) => r.path.includes('{'));
  const tokenFor = (route: RouteSpec) => (route.scopes.includes('admin') ? api.adminToken : targetToken);
  const call = (route: RouteSpec, name: string, value: string) => {
    const path = route.path.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(n === name ? value : TARGET));
    return api.call(route.method, path, { token: tokenFor(route), ...(route.body ? { body: {} } : {}) });
  };

  it('covers the routes of the finding', () => {
    expect(withParams.length).toBeGreaterThanOrEqual(18);
  });

  it.each(withParams.flatMap((r) => Object.keys(r.params ?? {}).map((name) => [`${r.method} ${r.path} {${name}}`, r, name] as const)))(
    '%s',
    async (_label, route, name) => {
      const schema = operationOf(route.operationId).parameters.find((p: Json) => p.in === 'path' && p.name === name).schema as Json;
      // A target token may only name its own target: another id is a 403 from the scope check (which compares
      // ids and reads nothing); every other caller gets the 400 naming the parameter.
      const ownTarget = !route.scopes.includes('admin') && route.targetFrom && 'param' in route.targetFrom && route.targetFrom.param === name;
      const refused = (r: CallResult) => (ownTarget ? expect([r.status, r.body.code], r.text).toEqual([403, 'FORBIDDEN']) : expectRefused(r, `/path/${name}`));
      // Beyond the documented length (and far beyond DynamoDB's 2,048-byte key limit).
      for (const value of ['a'.repeat(schema.maxLength + 1), 'a'.repeat(2049), 'é'.repeat(1100)]) refused(await call(route, name, value));
      // Outside the documented alphabet.
      for (const value of ['a b', '.hidden', 'a\u0000b']) {
        expect(new RegExp(schema.pattern).test(value)).toBe(false);
        refused(await call(route, name, value));
      }
      // At the documented bound, in the alphabet: the id is accepted as an id (whatever the lookup then says).
      const atBound = name === 'keyId' ? 'f'.repeat(schema.maxLength) : 'a'.repeat(schema.maxLength);
      expect(new RegExp(schema.pattern).test(atBound)).toBe(true);
      const r = await call(route, name, atBound);
      expect(r.status, r.text).not.toBe(500);
      expect(r.headers.get('content-type')?.startsWith(PROBLEM_CONTENT_TYPE) ? (r.body.errors ?? []).map((e: Json) => e.path) : []).not.toContain(`/path/${name}`);
    },
  );
});
