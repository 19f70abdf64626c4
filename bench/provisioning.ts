// Provisioning runs end to end on the full local runtime (local/runtime.ts): DynamoDB Local in memory, the
// ASL runner with the real step handlers, the encrypted secret store and the simulated agent answering
// through the signed result route; retries wait 0 ms. Times POST /provision until the run has ended, counts
// the state transitions of each run from its history and prices them at Step Functions Standard's rate.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROVISIONING_SEQUENCE } from '../functions/core/workflows.js';
import { generateRecipientKeyPair } from '../functions/core/secret-box.js';
import type { LocalRuntime as FullRuntime } from '../local/runtime.js';
import { attestation, licenseBody, targetBody, targetKeys } from '../test/support/fixtures.js';
import { sampleSigned, signedBy, testKey } from '../test/unit/crypto/release-fixtures.js';
import { formatMs, median, percentile, timeAsync } from './harness.js';
import { API_BASE, expectStatus, startLocalRuntime, type CallResult } from './local-runtime.js';
import type { Bench, BenchContext, BenchResult } from './index.js';

const RUNS = 10;
const RELEASE = '3.1.0';
/** Step Functions Standard, US East (N. Virginia): USD per 1,000 state transitions. */
export const USD_PER_1000_TRANSITIONS = 0.025;
const PRICING_PAGE = 'https://aws.amazon.com/step-functions/pricing/';

export const provisioning: Bench = {
  id: 'provisioning',
  title: 'Provisioning runs end to end',
  run,
};

type Call = <T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<CallResult<T>>;

async function run(context: BenchContext): Promise<BenchResult> {
  // The emulator, the tables, the environment and the admin token; its own API server stays idle.
  const base = await startLocalRuntime(context.log);
  const dataDir = await mkdtemp(join(tmpdir(), 'dcp-bench-provisioning-'));
  let runtime: FullRuntime | undefined;
  try {
    const { startLocalRuntime: startFullRuntime } = await import('../local/runtime.js');
    // Histories are written to files, as `npm start` does. Publishing the release starts no rollout: only
    // the provisioning runs are measured.
    runtime = await startFullRuntime({ dataDir, adminToken: base.adminToken, retryIntervalMs: 0, rolloutOnPublish: false });
    return await measure(runtime, context);
  } finally {
    await runtime?.close();
    await base.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

interface Outcome {
  ms: number;
  status: string;
  transitions: number;
  entered: string[];
  events: number;
}

async function measure(runtime: FullRuntime, context: BenchContext): Promise<BenchResult> {
  const call: Call = async (method, path, body, headers = {}) => {
    const start = performance.now();
    const res = await fetch(`${runtime.url}${API_BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${runtime.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, ms: performance.now() - start };
  };

  const signer = testKey('bench-provisioning');
  expectStatus(await call('POST', '/signing-keys', { keyId: signer.keyId, publicKey: signer.publicKeyBase64 }), 201, 'trust signer');
  const manifest = signedBy(
    sampleSigned({ version: RELEASE, publishedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 180 * 86400_000).toISOString(), minUpgradeFrom: '0.1.0' }),
    signer,
  );
  expectStatus(await call('POST', '/releases', manifest), 201, 'publish release');
  expectStatus(await call('POST', '/licenses', licenseBody('lic-bench')), 201, 'create license');

  let seq = 0;
  /** A fresh self-hosted target ready to provision (not timed), then one run of it (timed). */
  const provisionOne = async (fault?: { command: string }): Promise<Outcome> => {
    const id = `bench-${++seq}`;
    const keys = targetKeys();
    const reg = expectStatus(
      await call('POST', '/targets', targetBody(id, 'self-hosted', 'lic-bench', keys.publicKey, { encryptionKey: generateRecipientKeyPair().publicKey, agent: 'simulated' })),
      201,
      'register target',
    );
    const asTarget = { authorization: `Bearer ${reg.body.token}` };
    expectStatus(await call('POST', `/targets/${id}/heartbeat`, undefined, asTarget), 200, 'heartbeat');
    const att = attestation(id, keys.keys, { issuedAt: new Date(Date.now() - 60_000).toISOString() });
    expectStatus(await call('POST', `/targets/${id}/attestations`, att, asTarget), 201, 'attestation');
    if (fault) {
      const res = await fetch(`${runtime.url}/local/faults`, {
        method: 'POST',
        headers: { authorization: `Bearer ${runtime.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ targetId: id, command: fault.command, kind: 'permanent', times: 1 }),
      });
      if (res.status !== 201) throw new Error(`arm fault: HTTP ${res.status} ${await res.text()}`);
    }

    const { ms, value: executionId } = await timeAsync(async () => {
      const started = expectStatus(await call('POST', `/targets/${id}/provision`, { releaseId: RELEASE }, { 'idempotency-key': `bench-key-${id}` }), 202, 'provision');
      const executionId = started.body.executionId as string;
      // Resolves when the run has ended, its history is written and any reconciliation is done.
      await runtime.engine.waitFor('provisioning', executionId);
      return executionId;
    });
    const execution = expectStatus(await call('GET', `/executions/${executionId}`), 200, 'execution');
    const history = expectStatus(await call('GET', `/executions/${executionId}/history`), 200, 'history');
    const events = history.body.events as { type: string; state?: string }[];
    const entered = events.filter((e) => e.type.endsWith('StateEntered')).map((e) => e.state ?? '?');
    return { ms, status: execution.body.status as string, transitions: entered.length, entered, events: events.length };
  };

  context.log('[bench] 1 warm-up run, then the measured runs one after another');
  const warmUp = await provisionOne();
  const outcomes: Outcome[] = [];
  for (let i = 0; i < RUNS; i++) outcomes.push(await provisionOne());
  context.log('[bench] one run blocked by a permanent failure of run-health-checks');
  const blocked = await provisionOne({ command: 'run-health-checks' });

  const failures: string[] = [];
  const notSucceeded = [warmUp, ...outcomes].filter((o) => o.status !== 'SUCCEEDED');
  if (notSucceeded.length > 0) failures.push(`${notSucceeded.length} provisioning run(s) did not succeed: ${notSucceeded.map((o) => o.status).join(', ')}`);
  if (blocked.status !== 'FAILED') failures.push(`the run with a failing health check ended ${blocked.status}, not FAILED`);
  const counts = [...new Set(outcomes.map((o) => o.transitions))];
  if (counts.length !== 1) failures.push(`runs differ in state transitions: ${counts.join(', ')}`);

  const times = outcomes.map((o) => o.ms);
  const transitions = outcomes[0]!.transitions;
  const perRun = (n: number) => (n * USD_PER_1000_TRANSITIONS) / 1000;
  const usd = (v: number, digits: number) => `$${v.toFixed(digits)}`;
  const expected = ['Check policy gate', ...PROVISIONING_SEQUENCE, 'Provisioned'];
  const lines = [
    `${RUNS} provisioning runs of fresh self-hosted targets, one after another, on the full local runtime in the`,
    'bench process (`local/runtime.ts`): DynamoDB Local in memory, the provisioning ASL run by',
    'aws-local-stepfunctions with the real step handlers, execution histories written to a data folder as',
    '`npm start` does, the local secret store, and the simulated agent answering every command at once through',
    'the signed result route. Retries wait 0 ms (none happen). Each run is timed from `POST /targets/{id}/provision`',
    'until the runner reports it ended (history written, reconciliation done); registering the target,',
    'its heartbeat and attestation are not timed. One warm-up run first (module loading, state machine',
    'validation) is reported apart.',
    '',
    '| runs | p50 | p90 | min | max | warm-up run |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${RUNS} | ${formatMs(median(times))} | ${formatMs(percentile(times, 90))} | ${formatMs(Math.min(...times))} | ${formatMs(Math.max(...times))} | ${formatMs(warmUp.ms)} |`,
    '',
    `State transitions per run, counted from \`GET /executions/{id}/history\` (events whose type ends in`,
    `\`StateEntered\`): ${counts.join(', ')}${JSON.stringify(outcomes[0]!.entered) === JSON.stringify(expected) ? ' — the policy gate, the ten provisioning steps and `Provisioned`' : ` (${outcomes[0]!.entered.join(' → ')})`};`,
    `${outcomes[0]!.events} history events in all. A run blocked by a failing health check: ${blocked.transitions} transitions`,
    `(${blocked.entered.slice(blocked.entered.indexOf('Record blockers')).join(' → ')} after the steps that ran).`,
    '',
    `Cost at Step Functions Standard's published price of ${usd(USD_PER_1000_TRANSITIONS, 3)} per 1,000 state transitions`,
    `([AWS Step Functions pricing page](${PRICING_PAGE}), US East (N. Virginia); the monthly free tier not deducted):`,
    '',
    '| run | transitions | per run | per 1,000 runs |',
    '|---|---:|---:|---:|',
    `| provisioned | ${transitions} | ${usd(perRun(transitions), 6)} | ${usd(perRun(transitions) * 1000, 2)} |`,
    `| blocked at Run health checks | ${blocked.transitions} | ${usd(perRun(blocked.transitions), 6)} | ${usd(perRun(blocked.transitions) * 1000, 2)} |`,
    '',
    'Step Functions bills retries as transitions too (none here); Lambda, DynamoDB and API Gateway are not included.',
  ];
  return { markdown: lines.join('\n'), failures };
}
