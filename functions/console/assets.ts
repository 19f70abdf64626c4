// Serving the operator console's built assets (console/dist): one implementation for the local runtime
// (local/console.ts) and the Lambda function behind GET /console/{proxy+} (functions/console/handler.ts).
// Every answer carries the console's Content-Security-Policy: only same-origin scripts, styles, images and
// API calls; no inline script or style, no eval, no framing, no plugins.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

/** Text assets only: API Gateway then needs no binary media types. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface Asset {
  readonly body: string;
  readonly contentType: string;
}

/** Every servable file below `dir`, by its path relative to it (`index.html`, `assets/index-…js`). */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const file = join(d, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const contentType = CONTENT_TYPES[extname(name)];
        if (contentType) assets.set(relative(dir, file).split(sep).join('/'), { body: readFileSync(file, 'utf8'), contentType });
      }
    }
  };
  walk(dir);
  return assets;
}

function text(statusCode: number, body: string, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers }, body };
}

/**
 * The answer to GET/HEAD of `rest`, the path below `/console` ('' for `/console` itself, '/' for the index).
 * `/console` redirects to `indexLocation` (a URL inside the console folder) because the bundle's asset URLs
 * are relative. Hashed files under assets/ are cached for a year, the rest revalidated.
 */
export function consoleAnswer(assets: ReadonlyMap<string, Asset>, method: string, rest: string, indexLocation: string): APIGatewayProxyResult {
  if (method !== 'GET' && method !== 'HEAD') return text(405, 'Method Not Allowed', { allow: 'GET, HEAD' });
  if (rest === '') return text(301, 'Moved Permanently', { location: indexLocation });
  const name = rest.replace(/^\/+/, '') || 'index.html';
  if (name.split('/').some((part) => part === '..' || part === '.' || part === '')) return text(404, 'Not Found');
  const asset = assets.get(name);
  if (!asset) return text(404, 'Not Found');
  const immutable = name.startsWith('assets/');
  return {
    statusCode: 200,
    headers: {
      ...SECURITY_HEADERS,
      'content-type': asset.contentType,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    },
    body: method === 'HEAD' ? '' : asset.body,
  };
}
