// The console's only way to the control plane: the public HTTPS API on the page's own origin, with the
// token from sessionStorage as a bearer token. Nothing here logs, and the token never goes into a URL.
import type { Problem } from './types';

const TOKEN_KEY = 'dcp-console-token';
const ROLE_KEY = 'dcp-console-role';
export const BASE_PATH = '/api/v1/deployment-server';

export type Role = 'admin' | 'operator' | 'auditor';

/** The API root next to the console: `/console/` → `/api/v1/…`, `/prod/console/` → `/prod/api/v1/…`. */
export function apiRoot(): string {
  const path = location.pathname;
  const at = path.lastIndexOf('/console');
  return `${at >= 0 ? path.slice(0, at) : ''}${BASE_PATH}`;
}

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  role: (): Role | null => sessionStorage.getItem(ROLE_KEY) as Role | null,
  save(token: string, role: Role): void {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ROLE_KEY, role);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ROLE_KEY);
  },
};

/** A refusal of the API, carrying its problem document (RFC 9457). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
  }
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Another token than the session's (sign-in checks a token before keeping it). */
  token?: string;
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T>(method: string, path: string, opts: CallOptions = {}): Promise<Answer<T>> {
  const token = opts.token ?? session.token();
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...opts.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(apiRoot() + path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError(0, { title: 'Network error', detail: 'The control plane did not answer.' });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const problem = body && typeof body === 'object' && 'title' in body ? (body as Problem) : { title: `HTTP ${res.status}`, status: res.status };
    throw new ApiError(res.status, problem);
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

export const get = async <T>(path: string): Promise<T> => (await call<T>('GET', path)).body;
export const post = async <T>(path: string, body: unknown, headers?: Record<string, string>): Promise<T> =>
  (await call<T>('POST', path, { body, headers })).body;

/**
 * Which role a token has, found through the API itself (it has no "who am I" route): GET /tokens is for
 * admins only; POST /rollouts with an empty body is refused by the authorizer (403) for auditors and by
 * validation (400, nothing written) for operators. Throws the problem when the token is not accepted at all.
 */
export async function detectRole(token: string): Promise<Role> {
  await call('GET', '/targets?limit=1', { token });
  try {
    await call('GET', '/tokens?limit=1', { token });
    return 'admin';
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 403) throw e;
  }
  try {
    await call('POST', '/rollouts', { token, body: {} });
    return 'operator';
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return 'auditor';
    if (e instanceof ApiError && e.status === 400) return 'operator';
    throw e;
  }
}

/** What each role may do: the scopes of the write routes in functions/core/routes/. */
export const can = {
  provision: (r: Role | null) => r === 'admin' || r === 'operator',
  unblock: (r: Role | null) => r === 'admin',
  decommission: (r: Role | null) => r === 'admin' || r === 'operator',
  haltRollout: (r: Role | null) => r === 'admin' || r === 'operator',
  revokeRelease: (r: Role | null) => r === 'admin' || r === 'operator',
  revokeKey: (r: Role | null) => r === 'admin',
};

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
