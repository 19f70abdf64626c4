// GET /console and /console/{proxy+} in AWS: the operator console's assets, bundled next to this handler
// (infra/console.ts copies console/dist into the function's code as console/) and read once per cold start.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { consoleAnswer, loadAssets } from './assets.js';

const assets = loadAssets(join(dirname(fileURLToPath(import.meta.url)), 'console'));

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const proxy = event.pathParameters?.proxy;
  // `/console` (with or without a trailing slash) has no proxy parameter: it redirects to the index by its
  // full path, stage and any custom-domain base path included (requestContext.path), so asset URLs resolve.
  const rest = proxy ? `/${proxy}` : '';
  const index = `${(event.requestContext.path || event.path).replace(/\/+$/, '')}/index.html`;
  return consoleAnswer(assets, event.httpMethod, rest, index);
}
