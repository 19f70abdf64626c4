// Integration harness: the local control plane (local/runtime.ts: every function in its own environment
// with its own IAM, API Gateway's events) on a random port, over this file's own DynamoDB Local tables,
// called through real HTTP.
import { afterAll, beforeAll } from 'vitest';
import type { LocalRuntime, LocalRuntimeOptions } from '../../local/runtime.js';
import { useLocalTables, type LocalTables } from './ddb.js';

export interface CallResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Raw body text (sent as is). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export interface Api {
  readonly tables: LocalTables;
  /** The local runtime behind the API (its functions, IAM, endpoints). */
  readonly runtime: LocalRuntime;
  readonly url: string;
  readonly adminToken: string;
  call<T = any>(method: string, path: string, opts?: CallOptions): Promise<CallResult<T>>;
  /** Create a token with these scopes through the API (as admin) and return its secret. */
  token(scopes: string[]): Promise<string>;
}

export const BASE = '/api/v1/deployment-server';

/**
 * One HTTP call to a local control plane: paths below the base path may be given short (`/targets`); the
 * admin token is sent unless `opts.token` names another (or null for none).
 */
export async function httpCall<T = any>(url: string, adminToken: string, method: string, path: string, opts: CallOptions = {}): Promise<CallResult<T>> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const token = opts.token === undefined ? adminToken : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | Buffer | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  const rooted = ['/healthz', '/openapi.json'].includes(path.split('?')[0]!) || path.startsWith('/local/') || path.startsWith(BASE);
  const res = await fetch(url + (rooted ? path : BASE + path), { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed as never, text };
}

export function useApi(opts: Pick<LocalRuntimeOptions, 'functionEnvironment' | 'gatewayThrottling'> = {}): Api {
  process.env.DCP_LOG_LEVEL ??= 'silent';
  const tables = useLocalTables();
  let url = '';
  let adminToken = '';
  let close: (() => Promise<void>) | undefined;
  let runtime: LocalRuntime | undefined;
  // The whole local runtime: every route runs in its own function with its deployed environment and IAM.
  beforeAll(async () => {
    const { startLocalRuntime } = await import('../../local/runtime.js');
    const started = await startLocalRuntime({ tablePrefix: tables.prefix, rolloutOnPublish: false, retryIntervalMs: 0, gatewayThrottling: false, ...opts });
    runtime = started;
    url = started.url;
    adminToken = started.adminToken;
    close = () => started.close();
  });
  afterAll(async () => {
    await close?.();
    const { setSecretStore } = await import('../../functions/adapters/secrets.js');
    setSecretStore(undefined);
  });
  const api: Api = {
    tables,
    get runtime() {
      if (!runtime) throw new Error('the local runtime is not started yet (beforeAll)');
      return runtime;
    },
    get url() {
      return url;
    },
    get adminToken() {
      return adminToken;
    },
    call(method, path, opts = {}) {
      return httpCall(url, adminToken, method, path, opts);
    },
    async token(scopes) {
      const r = await api.call('POST', '/tokens', { body: { scopes } });
      if (r.status !== 201) throw new Error(`token creation failed: ${r.status} ${r.text}`);
      return r.body.token as string;
    },
  };
  return api;
}
