// Planning a rollout of 10,000 targets (SPEC §7.4) on the local runtime: DynamoDB Local in memory, the
// targets of one channel across the four modes, then the selection by index, the bulk fact reads and one
// `update` decision per target, the pure plan, and the whole of createRolloutPlan (plan items written,
// audit record, workflow start on a fake engine: no update runs). Records every DynamoDB command sent and
// fails if any is a Scan or if planning takes longer than the goal.
import { randomBytes } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttestationRecord, LicenseRecord, TargetRecord } from '../functions/core/records.js';
import { DEPLOYMENT_MODES, type DeploymentMode } from '../functions/core/policies.js';
import { billingAccountGuardKey } from '../functions/core/guards.js';
import type { TableId } from '../functions/core/tables.js';
import type { EngineKind, WorkflowEngine } from '../functions/adapters/engine.js';
import { CUSTOMER_RUNTIME, SAAS_RUNTIME, licenseBody, targetKeys } from '../test/support/fixtures.js';
import { sampleSigned, signedBy, testKey } from '../test/unit/crypto/release-fixtures.js';
import { formatMs, median, timeAsync, verdict } from './harness.js';
import { expectStatus, startLocalRuntime, type LocalRuntime } from './local-runtime.js';
import type { Bench, BenchContext, BenchResult } from './index.js';

/** Goal: a rollout of this many targets is planned within GOAL_MS. */
export const ROLLOUT_TARGETS = 10_000;
export const ROLLOUT_PLAN_GOAL_MS = 30_000;
const LICENSES = 100;
/** One license in this many is revoked, so its targets are blocked. */
const REVOKED_EVERY = 50;
const SELECTION_RUNS = 3;
const BOUND = '1.0.0';
const NEXT = '1.1.0';

export const rolloutPlan: Bench = {
  id: 'rollout-plan',
  title: `Planning a rollout of ${ROLLOUT_TARGETS.toLocaleString('en-US')} targets`,
  run,
};

async function run(context: BenchContext): Promise<BenchResult> {
  const runtime = await startLocalRuntime(context.log);
  const { setWorkflowEngine } = await import('../functions/adapters/engine.js');
  try {
    return await measure(runtime, context);
  } finally {
    setWorkflowEngine(undefined);
    await runtime.stop();
  }
}

/** Starts nothing: records the start, as the rollout workflow is not what is measured. */
class RecordingEngine implements WorkflowEngine {
  readonly starts: { kind: EngineKind; name: string }[] = [];
  async start(kind: EngineKind, name: string) {
    this.starts.push({ kind, name });
    return { executionArn: `arn:aws:states:local:000000000000:execution:dcp-${kind}:${name}` };
  }
  async stop() {}
  async sendTaskSuccess() {}
  async sendTaskFailure() {}
  async sendTaskHeartbeat() {}
  async history() {
    return [];
  }
  async historyPage() {
    return { events: [] };
  }
}

/** Counts the commands sent through the shared document client while `on`. */
function commandCounter(client: DynamoDBDocumentClient) {
  const counts = new Map<string, number>();
  let on = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (on) counts.set(String(context.commandName), (counts.get(String(context.commandName)) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'rolloutBenchCommandCounter' },
  );
  return {
    async during<T>(task: () => Promise<T>): Promise<{ ms: number; value: T; counts: Map<string, number> }> {
      counts.clear();
      on = true;
      try {
        const { ms, value } = await timeAsync(task);
        return { ms, value, counts: new Map(counts) };
      } finally {
        on = false;
      }
    },
    remove: () => client.middlewareStack.remove('rolloutBenchCommandCounter'),
  };
}

async function measure(runtime: LocalRuntime, context: BenchContext): Promise<BenchResult> {
  const { tableName } = await import('../functions/adapters/dynamo.js');
  const { setWorkflowEngine } = await import('../functions/adapters/engine.js');
  const { loadRolloutFacts, loadSharedFacts, selectTargets } = await import('../functions/adapters/rollout-facts.js');
  const { createRolloutPlan } = await import('../functions/adapters/rollouts.js');
  const { planRollout } = await import('../functions/core/rollouts.js');
  const ddb = runtime.documentClient;

  // Releases and the trust set through the API, as in production.
  const signer = testKey('bench-rollout-signer');
  expectStatus(await runtime.call('POST', '/signing-keys', { keyId: signer.keyId, publicKey: signer.publicKeyBase64 }), 201, 'add signing key');
  const manifest = (version: string) =>
    signedBy(
      sampleSigned({
        version,
        artifacts: [{ name: `app-${version}.zip`, kind: 'zip', sha256: 'a'.repeat(64), size: 10 }],
        publishedAt: new Date(Date.now() - 60_000).toISOString(),
        expiresAt: new Date(Date.now() + 180 * 86400_000).toISOString(),
        minUpgradeFrom: '0.1.0',
      }),
      signer,
    );
  expectStatus(await runtime.call('POST', '/releases', manifest(BOUND)), 201, `publish ${BOUND}`);

  context.log(`[bench] seeding ${ROLLOUT_TARGETS} active targets, their licenses, attestations and billing guards`);
  const seeded = await timeAsync(() => seed(ddb, tableName));
  expectStatus(await runtime.call('POST', '/releases', manifest(NEXT)), 201, `publish ${NEXT}`);

  const counter = commandCounter(ddb);
  const engine = new RecordingEngine();
  setWorkflowEngine(engine);
  try {
    // Selection alone, then selection + facts + decisions + plan, a few times; then the whole of planning.
    const select = await counter.during(() => selectTargets('stable', DEPLOYMENT_MODES));
    if (select.value.length !== ROLLOUT_TARGETS) throw new Error(`selected ${select.value.length} targets, expected ${ROLLOUT_TARGETS}`);
    const runs: { ms: number; planMs: number; counts: Map<string, number>; plan: ReturnType<typeof planRollout> }[] = [];
    for (let i = 0; i < SELECTION_RUNS; i++) {
      context.log(`[bench] selection + facts + decisions, run ${i + 1} of ${SELECTION_RUNS}`);
      const now = new Date();
      const r = await counter.during(async () => {
        const shared = await loadSharedFacts(NEXT);
        const facts = await loadRolloutFacts(shared.release!, DEPLOYMENT_MODES, shared, now);
        return { shared, facts };
      });
      const planned = await timeAsync(async () =>
        planRollout({ release: r.value.shared.release!, targets: r.value.facts.candidates, settings: r.value.shared.policies.provisioning.rollout, now }),
      );
      runs.push({ ms: r.ms, planMs: planned.ms, counts: r.counts, plan: planned.value });
    }
    context.log('[bench] createRolloutPlan (plan items written, audit, fake workflow start)');
    const full = await counter.during(() => createRolloutPlan(NEXT, {}, 'bench', new Date()));
    if (engine.starts.length !== 1) throw new Error(`expected one workflow start, saw ${engine.starts.length}`);

    const plan = runs[0]!.plan;
    const licenseCount = new Set(select.value.map((t) => t.licenseId)).size;
    const wlCount = select.value.filter((t) => t.mode === 'white-label').length;
    const perTargetKeys = ROLLOUT_TARGETS + wlCount + licenseCount + new Set(select.value.map((t) => t.currentRelease)).size;
    const fullMs = full.ms;
    const selectionMedian = median(runs.map((r) => r.ms));
    const scans = [select.counts, ...runs.map((r) => r.counts), full.counts].reduce((n, c) => n + (c.get('ScanCommand') ?? 0), 0);
    const failures: string[] = [];
    if (scans > 0) failures.push(`${scans} Scan command(s) were sent while planning`);
    if (fullMs > ROLLOUT_PLAN_GOAL_MS) failures.push(`createRolloutPlan took ${formatMs(fullMs)}, goal ≤ ${formatMs(ROLLOUT_PLAN_GOAL_MS)}`);

    const table = (counts: Map<string, number>) =>
      [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, n]) => `\`${name.replace(/Command$/, '')}\` ${n}`).join(', ');
    const c = full.value.rollout.counts;
    const lines = [
      `DynamoDB Local in memory, tables under a fresh prefix, in the bench process. Seeded (in ${formatMs(seeded.ms)}, BatchWriteItem):`,
      `${ROLLOUT_TARGETS.toLocaleString('en-US')} active targets on channel \`stable\`, ${ROLLOUT_TARGETS / 4} per mode, all bound to ${BOUND}; ${LICENSES} licenses`,
      `shared by ${ROLLOUT_TARGETS / LICENSES} targets each, one in ${REVOKED_EVERY} revoked; a passing \`latest\` attestation for every self-hosted and`,
      'enterprise target; a billing guard for every white-label target; half the self-hosted targets with a',
      `maintenance window that is closed now. Releases ${BOUND} and ${NEXT} and the trust set published through the API; default policies.`,
      '',
      '| step | time | DynamoDB commands |',
      '|---|---:|---|',
      `| select: \`selectTargets\` (one paginated Query of \`byChannelMode\` per mode, in parallel) | ${formatMs(select.ms)} | ${table(select.counts)} |`,
      `| select + facts + decisions: \`loadSharedFacts\` + \`loadRolloutFacts\` (median of ${SELECTION_RUNS}: ${runs.map((r) => formatMs(r.ms)).join(', ')}) | ${formatMs(selectionMedian)} | ${table(runs[0]!.counts)} |`,
      `| plan: \`planRollout\` (pure, ${ROLLOUT_TARGETS.toLocaleString('en-US')} candidates) | ${formatMs(median(runs.map((r) => r.planMs)))} | none |`,
      `| **all of planning**: \`createRolloutPlan\` (the above, ${(c.targets + full.value.rollout.waveCount + 1).toLocaleString('en-US')} plan items written, audit record, workflow start on a fake engine) | **${formatMs(fullMs)}** | ${table(full.counts)} |`,
      '',
      `Plan: ${c.planned.toLocaleString('en-US')} targets in ${full.value.rollout.waveCount} waves (canary ${full.value.rollout.settings.canarySize}, then batches of ${full.value.rollout.settings.waveSize}), ` +
        `${c.waitingWindow.toLocaleString('en-US')} of them waiting for a maintenance window, ${c.blocked.toLocaleString('en-US')} blocked, ${c.skipped} skipped` +
        ` (the separate runs agree: ${plan.counts.planned} planned, ${plan.counts.blocked} blocked).`,
      '',
      `No Scan was sent (${scans} counted). Shared items (the release, four policy heads, the trust set) are one BatchGetItem;`,
      `the per-target ones ask for ${perTargetKeys.toLocaleString('en-US')} distinct keys in requests of 100: every target's \`latest\` attestation`,
      `(${ROLLOUT_TARGETS.toLocaleString('en-US')}; SaaS and white-label targets have none, but one would be judged if present), ${wlCount.toLocaleString('en-US')} billing guards,`,
      `and each of the ${licenseCount} licenses and the bound release once, however many targets share them.`,
      '',
      `Goal: \`createRolloutPlan\` for ${ROLLOUT_TARGETS.toLocaleString('en-US')} targets ≤ ${formatMs(ROLLOUT_PLAN_GOAL_MS)} — ${verdict(fullMs <= ROLLOUT_PLAN_GOAL_MS && scans === 0)}.`,
    ];
    return { markdown: lines.join('\n'), failures };
  } finally {
    counter.remove();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Seeding, directly with BatchWriteItem (registering 10,000 targets through the API is not what is measured).

async function seed(ddb: DynamoDBDocumentClient, tableName: (id: TableId) => string): Promise<void> {
  const now = new Date();
  const at = now.toISOString();
  const items: { table: TableId; item: Record<string, unknown> }[] = [];
  for (let l = 0; l < LICENSES; l++) {
    const body = licenseBody(licenseId(l));
    const license: LicenseRecord = {
      ...body,
      entitlements: { ...body.entitlements, modes: [...DEPLOYMENT_MODES], maxTargets: ROLLOUT_TARGETS },
      status: l % REVOKED_EVERY === 0 ? 'revoked' : 'active',
      ...(l % REVOKED_EVERY === 0 ? { revokedAt: at, revokedReason: 'bench' } : {}),
      targetCount: ROLLOUT_TARGETS / LICENSES,
      createdAt: at,
    };
    items.push({ table: 'licenses', item: license as unknown as Record<string, unknown> });
  }
  const publicKey = targetKeys().publicKey;
  const encryptionKey = randomBytes(32).toString('base64');
  for (let i = 0; i < ROLLOUT_TARGETS; i++) {
    const mode: DeploymentMode = DEPLOYMENT_MODES[i % DEPLOYMENT_MODES.length]!;
    const id = `bench-${String(i).padStart(5, '0')}`;
    const customerRun = mode !== 'saas';
    const target: TargetRecord = {
      id,
      name: `Bench target ${i}`,
      mode,
      tenantId: `tenant-${i % 500}`,
      licenseId: licenseId(i % LICENSES),
      channel: 'stable',
      channelMode: `stable#${mode}`,
      publicKey,
      encryptionKey,
      tokenId: `tok-${id}`,
      runtime: customerRun ? CUSTOMER_RUNTIME : SAAS_RUNTIME,
      runtimeReportedAt: at,
      ...(mode === 'saas' ? { strategy: 'blue-green' as const } : {}),
      ...(mode === 'self-hosted' ? { backupPolicy: { schedule: '0 2 * * *', retentionDays: 14, lastBackupAt: at } } : {}),
      // Half of the self-hosted targets only take updates in a window twelve hours from now.
      ...(mode === 'self-hosted' && i % 8 === 1 ? { maintenanceWindow: { cron: `0 ${(now.getUTCHours() + 12) % 24} * * *`, durationMinutes: 120 } } : {}),
      ...(mode === 'white-label' ? { whiteLabel: { customDomain: `${id}.example.com`, brandingRef: 'brand', billingAccountId: `bill-${id}` } } : {}),
      ...(mode === 'enterprise-private-cloud'
        ? { enterprise: { vpcId: 'vpc-0abc12345', sso: { protocol: 'oidc', issuer: 'https://sso.example.com' }, privateStorageBucket: 'private-bucket' } }
        : {}),
      status: 'active',
      blockers: [],
      currentRelease: BOUND,
      installerLocked: true,
      maintenanceMode: false,
      ...(customerRun ? { lastHeartbeatAt: at } : {}),
      createdAt: at,
      updatedAt: at,
      version: 3,
    };
    items.push({ table: 'targets', item: target as unknown as Record<string, unknown> });
    if (mode === 'self-hosted' || mode === 'enterprise-private-cloud') {
      const attestation: AttestationRecord = {
        targetId: id,
        sk: 'latest',
        statement: { _type: 'attestation', targetId: id, issuedAt: at, runtime: CUSTOMER_RUNTIME, releaseVersion: BOUND, flags: { appDebug: false } },
        signature: 'A'.repeat(86) + '==',
        signatureValid: true,
        result: 'passed',
        reasons: [],
        receivedAt: at,
      };
      items.push({ table: 'attestations', item: attestation as unknown as Record<string, unknown> });
    }
    if (mode === 'white-label') {
      items.push({ table: 'guards', item: { key: billingAccountGuardKey(`bill-${id}`), tenantId: target.tenantId, targetId: id } });
    }
  }
  const chunks: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        let pending: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> | undefined = {};
        for (const { table, item } of chunk) (pending[tableName(table)] ??= []).push({ PutRequest: { Item: item } });
        while (pending && Object.keys(pending).length > 0) {
          const out = await ddb.send(new BatchWriteCommand({ RequestItems: pending }));
          pending = out.UnprocessedItems as typeof pending;
        }
      }
    }),
  );
}

function licenseId(n: number): string {
  return `bench-lic-${String(n).padStart(3, '0')}`;
}
