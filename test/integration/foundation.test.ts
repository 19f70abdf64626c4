// Foundation through real HTTP on DynamoDB Local: health, OpenAPI, tokens, policies with ETags, audit.
import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';

const api = useApi();

describe('public routes', () => {
  it('GET /healthz answers 200 without a token', async () => {
    const r = await api.call('GET', '/healthz', { token: null });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ok');
  });

  it('GET /openapi.json is an OpenAPI 3.1 document naming every route', async () => {
    const r = await api.call('GET', '/openapi.json', { token: null });
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    expect(r.body.paths['/api/v1/deployment-server/target-policy'].put.parameters).toContainEqual(
      expect.objectContaining({ name: 'If-Match', in: 'header', required: true }),
    );
  });

  it('an unknown route is a problem document', async () => {
    const r = await api.call('GET', '/nope');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.body).toMatchObject({ type: 'urn:dcp:problem:ROUTE_NOT_FOUND', code: 'ROUTE_NOT_FOUND', status: 404 });
  });
});

describe('tokens', () => {
  it('creates a token shown once, lists it without secrets, and a revoked token stops at once', async () => {
    const created = await api.call('POST', '/tokens', { body: { scopes: ['auditor'], description: 'audit bot' } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^dcp_[a-z0-9]{20}\.[A-Za-z0-9_-]{43}$/);
    const token = created.body.token as string;

    expect((await api.call('GET', '/target-policy', { token })).status).toBe(200);

    const list = await api.call('GET', '/tokens?limit=100');
    expect(list.status).toBe(200);
    const listed = list.body.items.find((t: { id: string }) => t.id === created.body.id);
    expect(listed).toMatchObject({ scopes: ['auditor'], status: 'active' });
    expect(list.text).not.toContain(token.split('.')[1]);
    expect(JSON.stringify(list.body)).not.toContain('secretHash');

    const revoked = await api.call('DELETE', `/tokens/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    const after = await api.call('GET', '/target-policy', { token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('UNAUTHORIZED');
  });

  it('refuses a token past its expiry', async () => {
    const created = await api.call('POST', '/tokens', { body: { scopes: ['auditor'], expiresAt: new Date(Date.now() + 1500).toISOString() } });
    expect(created.status).toBe(201);
    expect((await api.call('GET', '/target-policy', { token: created.body.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await api.call('GET', '/target-policy', { token: created.body.token })).status).toBe(401);
  });

  it('refuses a tampered secret and a malformed header', async () => {
    const t = await api.token(['operator']);
    const tampered = t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A');
    expect((await api.call('GET', '/target-policy', { token: tampered })).status).toBe(401);
    expect((await api.call('GET', '/target-policy', { token: null, headers: { authorization: 'Basic abc' } })).status).toBe(401);
  });
});

describe('policies', () => {
  it('answers defaults at version 0 with an ETag', async () => {
    const r = await api.call('GET', '/provisioning-policy');
    expect(r.status).toBe(200);
    expect(r.headers.get('etag')).toBe('"0"');
    expect(r.body).toMatchObject({ kind: 'provisioning', version: 0, document: DEFAULT_POLICIES.provisioning });
  });

  it('PUT needs If-Match (428), refuses a stale one (412), and keeps every version', async () => {
    const doc = { ...DEFAULT_POLICIES.provisioning, signatureThreshold: 2 };
    const missing = await api.call('PUT', '/provisioning-policy', { body: { document: doc } });
    expect(missing.status).toBe(428);
    expect(missing.body.code).toBe('PRECONDITION_REQUIRED');

    const v1 = await api.call('PUT', '/provisioning-policy', { body: { document: doc }, headers: { 'if-match': '"0"' } });
    expect(v1.status).toBe(200);
    expect(v1.headers.get('etag')).toBe('"1"');

    const stale = await api.call('PUT', '/provisioning-policy', { body: { document: doc }, headers: { 'if-match': '"0"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('PRECONDITION_FAILED');

    const v2 = await api.call('PUT', '/provisioning-policy', { body: { document: { ...doc, signatureThreshold: 3 }, comment: 'three keys' }, headers: { 'if-match': '"1"' } });
    expect(v2.status).toBe(200);
    const versions = await api.call('GET', '/provisioning-policy/versions');
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);

    const audit = await api.call('GET', '/audit?stream=control&limit=100');
    const changes = audit.body.items.filter((r: { action: string }) => r.action === 'policy.updated');
    expect(changes.map((r: { details: { version: number } }) => r.details.version)).toEqual([1, 2]);
  });

  it('rejects an invalid document with field paths and changes nothing', async () => {
    const before = await api.call('GET', '/attestation-policy');
    const r = await api.call('PUT', '/attestation-policy', {
      body: { document: { ...DEFAULT_POLICIES.attestation, maxAgeSeconds: -5, extra: true } },
      headers: { 'if-match': before.headers.get('etag')! },
    });
    expect(r.status).toBe(400);
    const paths = r.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toContain('/document/maxAgeSeconds');
    expect(paths).toContain('/document');
    const after = await api.call('GET', '/attestation-policy');
    expect(after.body.version).toBe(before.body.version);
  });
});

describe('audit', () => {
  it('verifies the control stream and pages with a cursor; an altered cursor is a 400', async () => {
    const v = await api.call('GET', '/audit/verify?stream=control');
    expect(v.status).toBe(200);
    expect(v.body.valid).toBe(true);
    expect(v.body.checked).toBeGreaterThan(2);

    const p1 = await api.call('GET', '/audit?stream=control&limit=2');
    expect(p1.body.items).toHaveLength(2);
    expect(p1.body.cursor).toEqual(expect.any(String));
    const p2 = await api.call('GET', `/audit?stream=control&limit=2&cursor=${encodeURIComponent(p1.body.cursor)}`);
    expect(p2.body.items[0].seq).toBe(3);

    const c = p1.body.cursor as string;
    const altered = (c[0] === 'e' ? 'f' : 'e') + c.slice(1);
    const bad = await api.call('GET', `/audit?stream=control&cursor=${encodeURIComponent(altered)}`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_CURSOR');
    const otherQuery = await api.call('GET', `/audit?stream=target:x&cursor=${encodeURIComponent(c)}`);
    expect(otherQuery.status).toBe(400);
  });
});
