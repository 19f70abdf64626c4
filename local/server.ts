// Local stand-in for API Gateway: matches the request against the same route table, runs the same REQUEST
// authorizer, builds the same REST (v1) proxy event and calls the same Lambda handler as in AWS. Its own
// refusals (no route, no token, too large) are the problem documents the stack configures as gateway
// responses.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { ROUTES, fullPath, type ApiGroup, type RouteSpec } from '../functions/core/routes/index.js';
import { GATEWAY_RESPONSES, PROBLEM_CONTENT_TYPE, problemDocument } from '../functions/core/problems.js';

type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
type Authorizer = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** Group → its Lambda module, imported on first use like a cold start. */
const GROUP_MODULES: Record<ApiGroup, () => Promise<{ handler: ApiHandler }>> = {
  system: () => import('../functions/api/system.js'),
  tokens: () => import('../functions/api/tokens.js'),
  policies: () => import('../functions/api/policies.js'),
  decisions: () => import('../functions/api/decisions.js'),
  licenses: () => import('../functions/api/licenses.js'),
  targets: () => import('../functions/api/targets.js'),
  runs: () => import('../functions/api/runs.js'),
  releases: () => import('../functions/api/releases.js'),
  audit: () => import('../functions/api/audit.js'),
  executions: () => import('../functions/api/executions.js'),
  commands: () => import('../functions/api/commands.js'),
  rollouts: () => import('../functions/api/rollouts.js'),
  artifacts: () => import('../functions/api/artifacts.js'),
};

/** The largest payload API Gateway accepts; the handlers apply the API's own 256 KiB limit. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;
const STAGE = 'local';

interface CompiledRoute {
  route: RouteSpec;
  resource: string;
  regex: RegExp;
  params: string[];
}

const compiled: CompiledRoute[] = ROUTES.map((route) => {
  const resource = fullPath(route);
  const params: string[] = [];
  const pattern = resource
    .split('/')
    .map((seg) => {
      const m = /^\{(\w+)\}$/.exec(seg);
      if (m) {
        params.push(m[1]!);
        return '([^/]+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { route, resource, regex: new RegExp(`^${pattern}$`), params };
});

function match(method: string, path: string) {
  for (const c of compiled) {
    if (c.route.method !== method) continue;
    const m = c.regex.exec(path);
    if (m) {
      // As API Gateway does: path parameters reach the handler URL-decoded; undecodable ones are refused.
      const values = c.params.map((_, i) => safeDecode(m[i + 1]!));
      if (values.some((v) => v === undefined)) return { ...c, pathParameters: undefined };
      return { ...c, pathParameters: Object.fromEntries(c.params.map((p, i) => [p, values[i]!])) };
    }
  }
  return undefined;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function gateway(type: (typeof GATEWAY_RESPONSES)[number]['type']): APIGatewayProxyResult {
  const g = GATEWAY_RESPONSES.find((r) => r.type === type)!;
  const status = g.status ?? 500;
  return {
    statusCode: status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE },
    body: JSON.stringify(problemDocument(status, g.code, g.detail)),
  };
}

class TooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BYTES) throw new TooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, result: APIGatewayProxyResult): void {
  res.statusCode = result.statusCode;
  for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, String(v));
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

function singleValues(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

export interface HandleOptions {
  /** Extra handlers (local-only routes such as /local/faults) tried before the route table. */
  readonly extra?: (method: string, path: string, req: IncomingMessage, body: Buffer) => Promise<APIGatewayProxyResult | undefined>;
}

async function handle(req: IncomingMessage, opts: HandleOptions): Promise<APIGatewayProxyResult> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = (req.method ?? 'GET').toUpperCase();
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (e) {
    if (e instanceof TooLarge) return gateway('REQUEST_TOO_LARGE');
    throw e;
  }
  const extra = await opts.extra?.(method, url.pathname, req, body);
  if (extra) return extra;

  const m = match(method, url.pathname);
  if (!m) return gateway('MISSING_AUTHENTICATION_TOKEN');
  if (!m.pathParameters) {
    return { statusCode: 400, headers: { 'content-type': PROBLEM_CONTENT_TYPE }, body: JSON.stringify(problemDocument(400, 'INVALID_PATH', 'The request path is not valid percent-encoding.')) };
  }
  const headers = singleValues(req.headers);
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  const requestId = randomUUID();
  const methodArn = `arn:aws:execute-api:local:000000000000:dcp/${STAGE}/${method}${url.pathname}`;

  let authorizer: Record<string, unknown> | null = null;
  if (m.route.scopes.length > 0) {
    const { handler: authorize } = (await import('../functions/api/authorizer.js')) as { handler: Authorizer };
    try {
      const result = await authorize({
        type: 'REQUEST',
        methodArn,
        resource: m.resource,
        path: url.pathname,
        httpMethod: method,
        headers,
        multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
        pathParameters: m.pathParameters,
        queryStringParameters: query,
        multiValueQueryStringParameters: multiQuery,
        stageVariables: null,
        requestContext: { requestId, stage: STAGE, httpMethod: method, resourcePath: m.resource } as never,
      } as APIGatewayRequestAuthorizerEvent);
      const allowed = result.policyDocument.Statement.some((s) => s.Effect === 'Allow');
      if (!allowed) return gateway('ACCESS_DENIED');
      authorizer = { ...(result.context ?? {}), principalId: result.principalId };
    } catch (e) {
      if (e instanceof Error && e.message === 'Unauthorized') return gateway('UNAUTHORIZED');
      console.error(JSON.stringify({ level: 'error', message: 'authorizer failed', error: String(e) }));
      return gateway('AUTHORIZER_FAILURE');
    }
  }

  const event: APIGatewayProxyEvent = {
    resource: m.resource,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: Object.keys(m.pathParameters).length ? m.pathParameters : null,
    stageVariables: null,
    body: body.length ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer,
      httpMethod: method,
      path: url.pathname,
      protocol: 'HTTP/1.1',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: m.resource,
      stage: STAGE,
      identity: { sourceIp: req.socket.remoteAddress ?? '127.0.0.1' } as never,
    } as APIGatewayProxyEvent['requestContext'],
  };
  const { handler } = await GROUP_MODULES[m.route.group]();
  return handler(event);
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startApiServer(opts: { port?: number; host?: string } & HandleOptions = {}): Promise<ApiServer> {
  const server = createServer((req, res) => {
    handle(req, opts)
      .then((result) => send(res, result))
      .catch((err: unknown) => {
        // The handlers map every error themselves; reaching here is a local-runtime fault.
        console.error(JSON.stringify({ level: 'error', message: 'local gateway failure', error: String(err) }));
        send(res, gateway('DEFAULT_5XX'));
      });
  });
  server.keepAliveTimeout = 5_000;
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
