// The console's asset serving (functions/console/assets.ts), as the local runtime and the console Lambda
// use it: the CSP on every answer, cache headers, the /console redirect, nothing outside the folder; and the
// Lambda handler bundled by esbuild the way infra/console.ts ships it (assets in console/ beside it).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, consoleAnswer, loadAssets } from '../../functions/console/assets.js';
import { CONSOLE_DIST } from '../../local/console.js';

// console/dist is built (when stale) by the test run's global setup.
const assets = loadAssets(CONSOLE_DIST);

describe('console assets', () => {
  it('loads the built index, script and stylesheet', () => {
    const names = [...assets.keys()];
    expect(names).toContain('index.html');
    expect(names.some((n) => /^assets\/.*\.js$/.test(n))).toBe(true);
    expect(names.some((n) => /^assets\/.*\.css$/.test(n))).toBe(true);
  });

  it('the built page has no inline script or style and loads nothing from another origin', () => {
    const html = assets.get('index.html')!.body;
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('answers the index with the strict CSP and revalidation; hashed assets are immutable', () => {
    const index = consoleAnswer(assets, 'GET', '/', '/console/');
    expect(index.statusCode).toBe(200);
    expect(index.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': CONTENT_SECURITY_POLICY });
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]) {
      expect(CONTENT_SECURITY_POLICY).toContain(directive);
    }
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-|\*|https?:/);
    const script = [...assets.keys()].find((n) => n.endsWith('.js'))!;
    const asset = consoleAnswer(assets, 'GET', `/${script}`, '/console/');
    expect(asset.headers).toMatchObject({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' });
    expect(consoleAnswer(assets, 'HEAD', `/${script}`, '/console/').body).toBe('');
  });

  it('redirects /console to the index, refuses writes, answers 404 for anything else', () => {
    expect(consoleAnswer(assets, 'GET', '', '/prod/console/index.html')).toMatchObject({ statusCode: 301, headers: { location: '/prod/console/index.html' } });
    expect(consoleAnswer(assets, 'POST', '/', '/console/').statusCode).toBe(405);
    for (const path of ['/nope.js', '/../package.json', '/assets/../index.html', '/assets//x.js', '/.source-hash']) {
      const r = consoleAnswer(assets, 'GET', path, '/console/');
      expect(r.statusCode, path).toBe(404);
      expect(r.headers!['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    }
  });
});

describe('the console Lambda handler, bundled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dcp-console-fn-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the assets copied beside it, redirecting /console by its full path', async () => {
    await build({ entryPoints: ['functions/console/handler.ts'], bundle: true, platform: 'node', format: 'esm', outfile: join(dir, 'index.mjs'), logLevel: 'silent' });
    cpSync(CONSOLE_DIST, join(dir, 'console'), { recursive: true });
    const { handler } = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler: (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> };
    const event = (path: string, proxy?: string) =>
      ({ httpMethod: 'GET', path, pathParameters: proxy === undefined ? null : { proxy }, requestContext: { path: `/prod${path}` } }) as unknown as APIGatewayProxyEvent;

    expect(await handler(event('/console'))).toMatchObject({ statusCode: 301, headers: { location: '/prod/console/index.html' } });
    expect(await handler(event('/console/'))).toMatchObject({ statusCode: 301, headers: { location: '/prod/console/index.html' } });
    const index = await handler(event('/console/index.html', 'index.html'));
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('<div id="app">');
    expect(index.headers!['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect((await handler(event('/console/x/../../y', 'x/../../y'))).statusCode).toBe(404);
  });
});
