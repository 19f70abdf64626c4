// The agent's HTTP client: bearer token, JSON, a timeout on every request. Network failures and 5xx/429
// are ApiUnavailable (retry later); other statuses come back to the caller.
export class ApiUnavailable extends Error {
  override readonly name = 'ApiUnavailable';
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
}

export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async call<T = any>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    let res: Response;
    try {
      res = await fetch(this.base.replace(/\/$/, '') + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new ApiUnavailable(`${method} ${path}: ${(e as Error).message}${(e as { cause?: { code?: string } }).cause?.code ? ` (${(e as { cause: { code: string } }).cause.code})` : ''}`);
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 500 || res.status === 429) {
      const retryAfter = Number(res.headers.get('retry-after'));
      throw new ApiUnavailable(`${method} ${path}: HTTP ${res.status}`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
    }
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as T };
  }
}
