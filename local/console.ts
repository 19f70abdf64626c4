// The operator console in the local runtime: GET /console/… answers the built assets in console/dist with
// the same headers (Content-Security-Policy included) as the console function in AWS. The folder is read
// on each request, so a rebuild (npm run build:console) shows without a restart.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { consoleAnswer, loadAssets } from '../functions/console/assets.js';

export const CONSOLE_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'console', 'dist');

/** The answer for a /console path, or undefined for every other path. */
export function consoleRoute(method: string, path: string): APIGatewayProxyResult | undefined {
  if (path !== '/console' && !path.startsWith('/console/')) return undefined;
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
    return {
      statusCode: 503,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'The console is not built: run `npm run build:console` (npm start and npm test build it when needed).\n',
    };
  }
  return consoleAnswer(loadAssets(CONSOLE_DIST), method, path.slice('/console'.length), '/console/');
}
