// GET /executions/{id}/history (D10): a bounded page at a time, with the engine's token behind an opaque
// cursor bound to the execution, on the local runtime (which pages as GetExecutionHistory does); and a
// clear problem instead of a 500 when the engine has no history (410 once past Step Functions' 90 days).
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ddb, tableName } from '../../functions/adapters/dynamo.js';
import { HISTORY_RETENTION_DAYS, MAX_EVENT_FIELD_CHARS } from '../../functions/api/executions.js';
import type { ExecutionRecord } from '../../functions/core/workflows.js';
import { executionHistory } from '../support/history.js';
import { useLocalRuntime } from '../support/local-runtime.js';
import { provision, publishRelease, registerTarget, releaseSigner, RELEASE, trustSigner } from '../support/workflow-fixtures.js';

const h = useLocalRuntime();
const signer = releaseSigner('execution-history');
let executionId: string;

beforeAll(async () => {
  await trustSigner(h, signer);
  await publishRelease(h, signer, RELEASE);
  const t = await registerTarget(h, 'history-t1');
  executionId = await provision(h, t.id, 'history-key-0001');
  await h.waitForExecution(executionId);
});

/** An execution record with no run behind it in the engine, closed `daysAgo` days ago. */
async function recordWithoutHistory(id: string, daysAgo: number): Promise<void> {
  const at = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
  const record: ExecutionRecord = {
    id, kind: 'provisioning', targetId: 'history-t1', releaseId: RELEASE, status: 'SUCCEEDED', startedAt: at, stoppedAt: at,
    steps: [], idempotencyKey: `${id}-key`, version: 1,
  };
  await ddb().send(new PutCommand({ TableName: tableName('executions'), Item: record }));
}

describe('GET /executions/{id}/history', () => {
  it('answers a bounded page and a cursor; the pages together are the whole history, in order', async () => {
    const all = await h.runtime.engine.history('provisioning', executionId);
    expect(all.length).toBeGreaterThan(10);
    const first = await h.call('GET', `/executions/${executionId}/history?limit=7`);
    expect(first.status, first.text).toBe(200);
    expect(first.body.events).toHaveLength(7);
    expect(first.body.cursor).toEqual(expect.any(String));
    expect(first.body.cursor).not.toContain('local-history'); // the engine's token stays inside the cursor
    const paged = await executionHistory(h, executionId, { limit: 7 });
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
    const last = await h.call('GET', `/executions/${executionId}/history?limit=100`);
    expect(last.body.cursor).toBeNull();
    // The default page is bounded too.
    const byDefault = await h.call('GET', `/executions/${executionId}/history`);
    expect(byDefault.body.events.length).toBeLessThanOrEqual(100);
  });

  it('refuses a page larger than 100 and a cursor of another execution or a forged one (400)', async () => {
    expect((await h.call('GET', `/executions/${executionId}/history?limit=1001`)).status).toBe(400);
    const first = await h.call('GET', `/executions/${executionId}/history?limit=2`);
    await recordWithoutHistory('history-other-0001', 1);
    const other = await h.call('GET', `/executions/history-other-0001/history?cursor=${encodeURIComponent(first.body.cursor as string)}`);
    expect(other.status, other.text).toBe(400);
    expect(other.body.code).toBe('INVALID_CURSOR');
    expect((await h.call('GET', `/executions/${executionId}/history?cursor=forged.cursor`)).body.code).toBe('INVALID_CURSOR');
  });

  it('keeps each event field under a bound, so no page nears Lambda\'s 6 MB response limit', async () => {
    const r = await h.call('GET', `/executions/${executionId}/history?limit=100`);
    for (const event of r.body.events as { details?: Record<string, unknown> }[]) {
      for (const value of Object.values(event.details ?? {})) {
        if (typeof value === 'string') expect(value.length).toBeLessThanOrEqual(MAX_EVENT_FIELD_CHARS + 1);
      }
    }
    expect(Buffer.byteLength(r.text)).toBeLessThan(6 * 1024 * 1024);
  });

  it(`answers 410 when the history is past the engine's ${HISTORY_RETENTION_DAYS}-day retention, 404 when it never existed`, async () => {
    await recordWithoutHistory('history-expired-0001', HISTORY_RETENTION_DAYS + 5);
    const gone = await h.call('GET', '/executions/history-expired-0001/history');
    expect(gone.status, gone.text).toBe(410);
    expect(gone.body).toMatchObject({ status: 410, code: 'EXECUTION_HISTORY_EXPIRED' });
    await recordWithoutHistory('history-missing-0001', 1);
    const missing = await h.call('GET', '/executions/history-missing-0001/history');
    expect(missing.status, missing.text).toBe(404);
    expect(missing.body.code).toBe('EXECUTION_HISTORY_NOT_FOUND');
    // The record itself still answers.
    expect((await h.call('GET', '/executions/history-expired-0001')).status).toBe(200);
  });
});
