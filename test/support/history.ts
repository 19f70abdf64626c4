// GET /executions/{id}/history a page at a time, as a client reads it (D10): every event of a run, by
// following the cursor until the last page.
import { expect } from 'vitest';

interface Caller {
  call(method: string, path: string, opts?: { token?: string }): Promise<{ status: number; body: any; text: string }>;
}

export type HistoryEvent = { id: number; type: string; state?: string; details?: any };

export async function executionHistory(h: Caller, executionId: string, opts: { token?: string; limit?: number } = {}): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(opts.limit ?? 100), ...(cursor ? { cursor } : {}) });
    const r = await h.call('GET', `/executions/${executionId}/history?${query}`, opts.token ? { token: opts.token } : {});
    expect(r.status, r.text).toBe(200);
    events.push(...(r.body.events as HistoryEvent[]));
    cursor = r.body.cursor as string | null;
  } while (cursor);
  return events;
}
