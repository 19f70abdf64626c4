// Bad input gets a clear 4xx problem document and changes nothing.
import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';

const api = useApi();

async function controlHead(): Promise<number> {
  const r = await api.call('GET', '/audit/verify?stream=control');
  return r.body.head?.seq ?? 0;
}

describe('request bodies', () => {
  it('malformed JSON is a 400 MALFORMED_JSON', async () => {
    const before = await controlHead();
    for (const raw of ['{', '{"scopes": [admin]}', '{"scopes":["admin"]} trailing', "{'scopes':1}", '']) {
      const r = await api.call('POST', '/tokens', { raw });
      expect(r.status, raw).toBe(400);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(r.body.type).toMatch(/^urn:dcp:problem:/);
    }
    expect(await controlHead()).toBe(before);
  });

  it('duplicate member names are refused', async () => {
    const r = await api.call('POST', '/tokens', { raw: '{"scopes":["auditor"],"scopes":["admin"]}' });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('MALFORMED_JSON');
    expect(r.body.detail).toMatch(/Duplicate member name "scopes"/);
  });

  it('a body over 256 KiB is a 413', async () => {
    const raw = JSON.stringify({ scopes: ['auditor'], description: 'x'.repeat(256 * 1024) });
    const r = await api.call('POST', '/tokens', { raw });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a non-JSON content type is a 415', async () => {
    const r = await api.call('POST', '/tokens', { raw: 'scopes=admin', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(415);
  });

  it('unknown and invalid fields are 400 with JSON-pointer paths', async () => {
    const r = await api.call('POST', '/tokens', { body: { scopes: ['admin', 'root'], colour: 'red' } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('VALIDATION_FAILED');
    expect(r.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/scopes/1' }),
        expect.objectContaining({ path: '', message: expect.stringContaining('colour') }),
      ]),
    );
  });

  it('a body on a route that takes none is a 400', async () => {
    // (fetch cannot send a body with GET; DELETE carries one.)
    const d = await api.call('DELETE', '/tokens/abc', { body: { force: true } });
    expect(d.status).toBe(400);
    expect(d.body.errors).toEqual([{ path: '', message: 'this operation takes no request body' }]);
  });

  it('unknown query parameters and bad limits are 400', async () => {
    expect((await api.call('GET', '/tokens?limit=1000')).status).toBe(400);
    expect((await api.call('GET', '/tokens?limit=abc')).status).toBe(400);
    expect((await api.call('GET', '/audit?stream=../../etc')).status).toBe(400);
    expect((await api.call('GET', '/audit/verify?foo=1')).status).toBe(400);
  });

  it('garbage cursors are 400, never 500', async () => {
    for (const c of ['x', 'abc.def', '.', 'eyJrIjp7fX0.AAAAAAAAAAAAAAAA', '%00', 'a'.repeat(3000)]) {
      const r = await api.call('GET', `/tokens?cursor=${encodeURIComponent(c)}`);
      expect(r.status, c).toBe(400);
    }
  });

  it('paths that are not valid percent-encoding, or name nothing, are 4xx, never 500', async () => {
    for (const path of ['/targets/%E0%A4%A', '/targets/%', '/releases/%FF', '/targets/a%2Fb', '/executions/..%2F..']) {
      const r = await api.call('GET', path);
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.status, path).toBeLessThan(500);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
    }
  });
});
