// HTTP health checks per component: each probe is retried with a pause and has its own timeout.
import type { HealthCheckSpec } from './config.js';
import { sleep } from './fsutil.js';

export interface HealthResult {
  name: string;
  url: string;
  healthy: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

export async function checkOne(spec: HealthCheckSpec): Promise<HealthResult> {
  const attempts = (spec.retries ?? 2) + 1;
  let last: HealthResult = { name: spec.name, url: spec.url, healthy: false, attempts: 0 };
  for (let i = 1; i <= attempts; i++) {
    try {
      const res = await fetch(spec.url, { signal: AbortSignal.timeout(spec.timeoutMs ?? 5000), redirect: 'manual' });
      const body = await res.text();
      const statusOk = spec.expectStatus ? spec.expectStatus.includes(res.status) : res.status >= 200 && res.status < 300;
      const bodyOk = spec.expectBody === undefined || body.includes(spec.expectBody);
      last = { name: spec.name, url: spec.url, healthy: statusOk && bodyOk, attempts: i, status: res.status, ...(statusOk && !bodyOk ? { error: `body lacks ${JSON.stringify(spec.expectBody)}` } : {}) };
    } catch (e) {
      last = { name: spec.name, url: spec.url, healthy: false, attempts: i, error: (e as Error).name === 'TimeoutError' ? `timed out after ${spec.timeoutMs ?? 5000} ms` : (e as Error).message };
    }
    if (last.healthy) return last;
    if (i < attempts) await sleep(spec.intervalMs ?? 1000);
  }
  return last;
}

export async function runHealthChecks(specs: readonly HealthCheckSpec[]): Promise<HealthResult[]> {
  return Promise.all(specs.map(checkOne));
}
