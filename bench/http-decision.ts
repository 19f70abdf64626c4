// Latency of POST /decisions over HTTP on the local runtime (DynamoDB Local in memory, the API server in
// this process), next to its floor: what the same HTTP round trip and the DynamoDB calls a decision must
// make cost when issued directly. The ratio says how much the handler adds on top of the I/O it cannot avoid.
import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { factKeyList, factKeys } from '../functions/core/decisions.js';
import type { TargetRecord } from '../functions/core/records.js';
import { tokenIdOf } from '../functions/core/tokens.js';
import { licenseBody, targetBody, targetKeys } from '../test/support/fixtures.js';
import { formatMs, formatRatio, percentile, timeAsync, verdict } from './harness.js';
import { expectStatus, startLocalRuntime, type LocalRuntime } from './local-runtime.js';
import type { Bench, BenchContext, BenchResult } from './index.js';

/** Goal: decision p50 at most this many times the floor p50. */
export const HTTP_DECISION_RATIO_GOAL = 1.5;
const WARM_UP = 30;
const SAMPLES = 300;
/** Concurrent decisions: this many in all, this many in flight, over 20 targets and over one. */
const CONCURRENT_TOTAL = 2000;
const IN_FLIGHT = 20;
const SPREAD_TARGETS = 20;

export const httpDecision: Bench = {
  id: 'http-decision',
  title: 'Decision latency over HTTP',
  run,
};

interface Op {
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

async function run(context: BenchContext): Promise<BenchResult> {
  const runtime = await startLocalRuntime(context.log);
  try {
    return await measure(runtime, context);
  } finally {
    await runtime.stop();
  }
}

async function measure(runtime: LocalRuntime, context: BenchContext): Promise<BenchResult> {
  const { appendAudit } = await import('../functions/adapters/audit.js');
  const { tableName } = await import('../functions/adapters/dynamo.js');
  const { getTokenRecord } = await import('../functions/adapters/tokens.js');
  const tokenId = tokenIdOf(runtime.adminToken);
  if (!tokenId || !(await getTokenRecord(tokenId))) throw new Error('the admin token has no token record');
  const ddb = runtime.documentClient;

  const licenseId = 'lic-bench';
  const targetId = 'tgt-bench';
  expectStatus(await runtime.call('POST', '/licenses', licenseBody(licenseId)), 201, 'create license');
  expectStatus(
    await runtime.call('POST', '/targets', targetBody(targetId, 'self-hosted', licenseId, targetKeys().publicKey)),
    201,
    'register target',
  );
  const decisionBody = { targetId, action: 'update' };
  const first = expectStatus(await runtime.call('POST', '/decisions', decisionBody), 200, 'decision');

  // The floor: the requests a decision cannot do without, issued directly with the same SDK client.
  const targetItem = await ddb.send(new GetCommand({ TableName: tableName('targets'), Key: { id: targetId }, ConsistentRead: true }));
  const target = targetItem.Item as TargetRecord;
  const refs = factKeyList(factKeys(target));
  const batchRequest: Record<string, { Keys: Record<string, string>[]; ConsistentRead: boolean }> = {};
  for (const ref of refs) (batchRequest[tableName(ref.table)] ??= { Keys: [], ConsistentRead: true }).Keys.push(ref.key);

  const ops: Op[] = [
    {
      name: 'decision',
      run: async () => expectStatus(await runtime.call('POST', '/decisions', decisionBody), 200, 'decision'),
    },
    { name: 'healthz', run: async () => expectStatus(await runtime.call('GET', '/healthz'), 200, 'healthz') },
    {
      name: 'getItem',
      run: () => ddb.send(new GetCommand({ TableName: tableName('targets'), Key: { id: targetId }, ConsistentRead: true })),
    },
    {
      name: 'batchGet',
      run: async () => {
        let pending: typeof batchRequest | undefined = batchRequest;
        while (pending && Object.keys(pending).length > 0) {
          const out = await ddb.send(new BatchGetCommand({ RequestItems: pending }));
          pending = out.UnprocessedKeys as typeof batchRequest | undefined;
        }
      },
    },
    { name: 'tokenGet', run: () => getTokenRecord(tokenId) },
    {
      name: 'audit',
      run: () =>
        appendAudit(
          [{ stream: 'bench#floor', actor: 'bench', action: 'decision.made', targetId, details: { decision: 'deny', blockers: [] } }],
          new Date(),
        ),
    },
  ];

  context.log(`[bench] ${WARM_UP} warm-up + ${SAMPLES} measured iterations of ${ops.map((o) => o.name).join(', ')} (interleaved)`);
  const samples = new Map(ops.map((op) => [op.name, [] as number[]]));
  for (let i = 0; i < WARM_UP + SAMPLES; i++) {
    for (const op of ops) {
      const { ms } = await timeAsync(op.run);
      if (i >= WARM_UP) samples.get(op.name)!.push(ms);
    }
  }

  const p = (name: string, q: number) => percentile(samples.get(name)!, q);
  const floorOps = ['healthz', 'getItem', 'batchGet', 'audit'];
  const floorP50 = floorOps.reduce((sum, name) => sum + p(name, 50), 0);
  const ratio = p('decision', 50) / floorP50;
  const withAuthP50 = floorP50 + p('tokenGet', 50);
  const label: Record<string, string> = {
    decision: '`POST /decisions` `{targetId, action: "update"}`, admin token',
    healthz: '`GET /healthz` (HTTP round trip, no auth, no I/O)',
    getItem: 'GetItem of the target (consistent read)',
    batchGet: `BatchGetItem of the ${refs.length} fact keys (\`factKeyList(factKeys(target))\`)`,
    audit: '`appendAudit` of one record (GetItem of the head + TransactWriteItems of Put + head Update)',
    tokenGet: "GetItem of the admin token's record (what the authorizer reads on every call; not in the floor)",
  };
  const blockers = (first.body as { blockers?: { code: string }[] }).blockers?.map((b) => b.code) ?? [];
  const lines = [
    'The local runtime in the bench process: DynamoDB Local in memory, the tables under a fresh prefix, the',
    'API server (`local/server.ts`: the same route table, authorizer and Lambda handlers as API Gateway in',
    'AWS). Seeded through the API: a license and a self-hosted target with a backup policy (no attestation or',
    `bound release, so the decision is a deny: ${blockers.map((c) => `\`${c}\``).join(', ') || 'none'}). Each of the`,
    `${ops.length} operations below ran ${WARM_UP} times to warm up and then ${SAMPLES} times, interleaved (one of each in turn),`,
    'one at a time over a keep-alive connection. The direct DynamoDB calls use the same SDK document client as',
    'the handlers. The machine is shared and noisy: compare the rows of this run with each other, not with',
    'another run.',
    '',
    '| operation | p50 | p99 |',
    '|---|---:|---:|',
    ...ops.map((op) => `| ${label[op.name]} | ${formatMs(p(op.name, 50))} | ${formatMs(p(op.name, 99))} |`),
    `| **floor** = sum of the p50s of healthz, GetItem, BatchGetItem and audit append | ${formatMs(floorP50)} | |`,
    '',
    `Decision p50 / floor p50 = ${formatRatio(ratio)}. Goal: ≤ ${HTTP_DECISION_RATIO_GOAL}× — ${verdict(ratio <= HTTP_DECISION_RATIO_GOAL)}.`,
    '',
    'The floor leaves out the REQUEST authorizer, which runs before every authenticated call and reads the',
    `token's record (API Gateway caches nothing, TTL 0): with that GetItem the floor is ${formatMs(withAuthP50)} and the`,
    `decision ${formatRatio(p('decision', 50) / withAuthP50)} of it.`,
  ];
  const concurrent = await measureConcurrent(runtime, licenseId, context);
  return { markdown: [...lines, '', ...concurrent.lines].join('\n'), failures: concurrent.failures };
}

interface ConcurrentRun {
  label: string;
  targets: string[];
}

/**
 * CONCURRENT_TOTAL decisions with IN_FLIGHT requests in flight, once spread over SPREAD_TARGETS targets and
 * once all on one target (every decision appends to that target's audit stream): latency, non-2xx answers,
 * and afterwards each stream verified and its decision records counted.
 */
async function measureConcurrent(runtime: LocalRuntime, licenseId: string, context: BenchContext): Promise<{ lines: string[]; failures: string[] }> {
  const spread = Array.from({ length: SPREAD_TARGETS }, (_, i) => `tgt-spread-${i}`);
  for (const id of [...spread, 'tgt-hot']) {
    expectStatus(await runtime.call('POST', '/targets', targetBody(id, 'self-hosted', licenseId, targetKeys().publicKey)), 201, 'register target');
  }
  const runs: ConcurrentRun[] = [
    { label: `${SPREAD_TARGETS} targets`, targets: spread },
    { label: 'one target', targets: ['tgt-hot'] },
  ];
  const rows: string[] = [];
  const failures: string[] = [];
  for (const r of runs) {
    context.log(`[bench] ${CONCURRENT_TOTAL} decisions, ${IN_FLIGHT} in flight, over ${r.label}`);
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < CONCURRENT_TOTAL) {
          const targetId = r.targets[next % r.targets.length]!;
          next++;
          const t = performance.now();
          const res = await runtime.call('POST', '/decisions', { targetId, action: 'update' });
          latencies.push(performance.now() - t);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const non2xx = [...statuses].filter(([s]) => s < 200 || s >= 300).reduce((n, [, c]) => n + c, 0);
    let valid = true;
    let audited = 0;
    for (const targetId of r.targets) {
      const verify = await runtime.call('GET', `/audit/verify?targetId=${targetId}`);
      valid &&= (verify.body as { valid?: boolean }).valid === true;
      let cursor: string | null = null;
      do {
        const page = await runtime.call('GET', `/audit?targetId=${targetId}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        const body = page.body as { items: { action: string }[]; cursor: string | null };
        audited += body.items.filter((i) => i.action === 'decision.made').length;
        cursor = body.cursor;
      } while (cursor);
    }
    const statusText = [...statuses].sort(([a], [b]) => a - b).map(([s, c]) => `${c}× ${s}`).join(', ');
    rows.push(
      `| ${r.label} | ${formatMs(percentile(latencies, 50))} | ${formatMs(percentile(latencies, 99))} | ${(CONCURRENT_TOTAL / seconds).toFixed(0)}/s | ${statusText} | ${valid ? 'valid' : '**broken**'} | ${audited} of ${CONCURRENT_TOTAL} |`,
    );
    if (non2xx > 0) failures.push(`${non2xx} of ${CONCURRENT_TOTAL} decisions over ${r.label} did not answer 2xx (${statusText})`);
    if (!valid) failures.push(`an audit chain over ${r.label} does not verify`);
    if (audited !== CONCURRENT_TOTAL) failures.push(`${audited} of ${CONCURRENT_TOTAL} decisions over ${r.label} are audited`);
  }
  const lines = [
    `### ${CONCURRENT_TOTAL} concurrent decisions, ${IN_FLIGHT} in flight`,
    '',
    `The same decision (\`{targetId, action: "update"}\`) ${CONCURRENT_TOTAL} times with ${IN_FLIGHT} requests in flight, once spread`,
    `round-robin over ${SPREAD_TARGETS} fresh targets and once all on one target, whose audit stream then takes every`,
    'append (appends to one stream are combined into one transaction per round trip; `functions/adapters/audit.ts`).',
    'Afterwards every stream is verified (`GET /audit/verify`) and its `decision.made` records counted.',
    '',
    '| targets | p50 | p99 | throughput | answers | audit chain | decisions audited |',
    '|---|---:|---:|---:|---|---|---:|',
    ...rows,
  ];
  return { lines, failures };
}
