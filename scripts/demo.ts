// `npm run demo`: what a release engineer does, against a running local control plane (`npm start`).
// Creates a license, generates and registers a release signing key, signs and publishes a release, registers
// two self-hosted targets (answered by the simulated agent) that each attest and heartbeat, then provisions
// both: target A ends `active`; target B's health checks are made to fail (a fault armed through the local
// runtime's /local/faults), so its run is caught, compensated and the target ends `blocked` with its
// blockers. Prints each run's step timeline, the targets, the audit verification and a one-line summary.
//
// Only the public HTTP API and the project's own signing code are used. Ids and the release version are
// derived from the time, so the demo can run again and again against the same control plane.
//
// Environment: DCP_URL (default http://127.0.0.1:${PORT:-3000}), DCP_ADMIN_TOKEN (default: the token the
// control plane saved in ${DCP_DATA_DIR:-.dcp}/admin-token). Exit 0 when A is active and B blocked, else 1.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { encodeBase64 } from '../functions/core/crypto/base64.js';
import { encodePublicKey, generateKeyPair, keyIdOf, type Ed25519KeyPair } from '../functions/core/crypto/ed25519.js';
import { signStatement } from '../functions/core/crypto/signed-statement.js';
import { signManifest } from '../functions/core/manifest.js';

const API_BASE = '/api/v1/deployment-server';
const CHANNEL = 'demo';
const RUN_TIMEOUT_MS = 120_000;
const POLL_MS = 250;

/** A runtime every default policy and the demo release accept (SPEC §2.1, self-hosted components). */
const RUNTIME: Record<string, string> = {
  nginx: '1.26', php: '8.3', 'laravel-api': '11.0', 'nextjs-frontend': '15.0', node: '22.1', 'queue-worker': '11.0',
  scheduler: '11.0', redis: '7.2', postgresql: '16.2', 'object-storage': '1.0', 'license-heartbeat-client': '1.0',
  'update-client': '1.0',
};

/** Why the demo stops: printed as the reason, exit code 1. */
class DemoFailure extends Error {
  override readonly name = 'DemoFailure';
}

// ---- HTTP ---------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  body: any;
}

interface CallOptions {
  body?: unknown;
  /** Bearer token; the admin token unless given. */
  token?: string;
  headers?: Record<string, string>;
  /** Statuses that count as success; anything else is a DemoFailure carrying the problem document. */
  expect?: number[];
}

function connection() {
  const port = process.env.PORT || '3000';
  const url = (process.env.DCP_URL || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  return { url, dataDir: resolve(process.env.DCP_DATA_DIR || '.dcp') };
}

function makeClient(url: string, adminToken: string) {
  return async function call(method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
    const full = path.startsWith('/local/') ? `${url}${path}` : `${url}${API_BASE}${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? adminToken}`, ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(full, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new DemoFailure(`${method} ${path} did not get an answer: ${(e as Error).message}`);
    }
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text for the message.
    }
    const expected = opts.expect ?? [200, 201, 202];
    if (!expected.includes(res.status)) {
      const problem = body && typeof body === 'object'
        ? `${body.code ?? body.title ?? 'error'}: ${body.detail ?? ''}${Array.isArray(body.errors) ? ` ${body.errors.map((e: { path: string; message: string }) => `${e.path} ${e.message}`).join('; ')}` : ''}`
        : String(text).slice(0, 300);
      const hint = res.status === 401 ? ' — the admin token was refused: use the DCP_ADMIN_TOKEN or DCP_DATA_DIR the control plane runs with' : '';
      throw new DemoFailure(`${method} ${path} answered ${res.status} (${problem.trim()})${hint}`);
    }
    return { status: res.status, body };
  };
}
type Client = ReturnType<typeof makeClient>;

async function checkHealth(url: string): Promise<void> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3_000) });
    if (res.ok) return;
    throw new Error(`GET /healthz answered ${res.status}`);
  } catch (e) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause.
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (e as Error).message;
    console.error(
      [
        `The control plane is not reachable at ${url} (${reason}).`,
        'Start it in another terminal first:',
        '',
        '    npm start',
        '',
        'then run `npm run demo` again (use the same PORT, DCP_URL and DCP_DATA_DIR as the control plane).',
      ].join('\n'),
    );
    process.exit(1);
  }
}

async function adminToken(dataDir: string): Promise<string> {
  if (process.env.DCP_ADMIN_TOKEN) return process.env.DCP_ADMIN_TOKEN;
  const file = join(dataDir, 'admin-token');
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token) return token;
  } catch {
    // Reported below.
  }
  console.error(`No admin token: set DCP_ADMIN_TOKEN, or point DCP_DATA_DIR at the control plane's data folder (looked for ${file}).`);
  process.exit(1);
}

// ---- what a release engineer and a target send ----------------------------------------------------------

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** `YYYYMMDDtHHMMSSmmm` (UTC): unique per run, sortable, readable in ids. */
function runSuffix(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace('T', 't').replace('.', '').replace('Z', '');
}

/**
 * `1.<unix minutes>.<milliseconds within the minute>`: rises with the clock, so every run publishes above
 * the previous one on the demo channel, even two runs within the same second.
 */
function releaseVersion(now: Date): string {
  const ms = now.getTime();
  return `1.${Math.floor(ms / 60_000)}.${ms % 60_000}`;
}

function releaseManifest(version: string, key: Ed25519KeyPair, now: Date) {
  const signed = {
    _type: 'release',
    name: 'app',
    version,
    channel: CHANNEL,
    publishedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 180 * 86_400_000).toISOString(),
    modes: ['self-hosted'],
    artifacts: [
      { name: `app-${version}.zip`, kind: 'zip', sha256: sha256Hex(`demo zip ${version}`), size: 48_213_504 },
      { name: `app-${version}-compose.yaml`, kind: 'compose', sha256: sha256Hex(`demo compose ${version}`), size: 4_096 },
    ],
    migrations: [
      { id: '2026_01_01_000001_create_tenants', checksum: sha256Hex('create tenants'), backwardCompatible: true },
      { id: '2026_02_01_000001_add_invoices', checksum: sha256Hex('add invoices'), backwardCompatible: true },
    ],
    runtime: { php: '>=8.2', node: '>=20', postgresql: '>=14' },
    required: false,
    config: { APP_DEBUG: 'false', APP_ENV: 'production' },
  };
  return signManifest({ signed, signatures: [] }, key.secretKey, key.publicKey);
}

/** A fresh X25519 public key, standard base64 of its 32 raw bytes: secrets for the target are sealed to it. */
function x25519PublicKey(): string {
  const jwk = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

interface DemoTarget {
  id: string;
  label: string;
  token: string;
  keys: Ed25519KeyPair;
}

async function registerTarget(call: Client, id: string, label: string, licenseId: string): Promise<DemoTarget> {
  const keys = generateKeyPair();
  const reg = await call('POST', '/targets', {
    body: {
      id,
      name: `Demo ${label} (${id})`,
      mode: 'self-hosted',
      tenantId: 'demo-tenant',
      licenseId,
      channel: CHANNEL,
      publicKey: encodePublicKey(keys.publicKey),
      encryptionKey: x25519PublicKey(),
      runtime: RUNTIME,
      backupPolicy: { schedule: '0 2 * * *', retentionDays: 14, lastBackupAt: new Date(Date.now() - 3_600_000).toISOString() },
      maintenanceWindow: { cron: '0 3 * * 0', durationMinutes: 120 },
      agent: 'simulated',
    },
    expect: [201],
  });
  const target: DemoTarget = { id, label, token: reg.body.token, keys };
  // The installer on the target: a license heartbeat, then a signed attestation of what it runs.
  await call('POST', `/targets/${id}/heartbeat`, { token: target.token, body: { runtime: RUNTIME }, expect: [200] });
  const statement = {
    _type: 'attestation',
    targetId: id,
    issuedAt: new Date(Date.now() - 5_000).toISOString(),
    runtime: RUNTIME,
    flags: { appDebug: false },
  };
  const att = await call('POST', `/targets/${id}/attestations`, { token: target.token, body: signStatement(statement, keys.secretKey), expect: [201] });
  if (att.body.result !== 'passed') {
    throw new DemoFailure(`the attestation of ${id} did not pass: ${JSON.stringify(att.body.reasons)}`);
  }
  console.log(`  target ${label}: ${id} registered (agent key ${shortKey(reg.body.target.agentPublicKey)}), heartbeat ok, attestation passed`);
  return target;
}

async function waitForRun(call: Client, executionId: string): Promise<any> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (;;) {
    const { body } = await call('GET', `/executions/${executionId}`, { expect: [200] });
    if (body.status !== 'RUNNING') return body;
    if (Date.now() > deadline) throw new DemoFailure(`execution ${executionId} still RUNNING after ${RUN_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// ---- report ---------------------------------------------------------------------------------------------

/** Never the secret: a generated token's fixed prefix, or the first four characters of a chosen one. */
const tokenHint = (t: string) => `${t.startsWith('dcp-admin-') ? 'dcp-admin-' : t.slice(0, 4)}…`;
const shortKey = (k: unknown) => (typeof k === 'string' ? `${k.slice(0, 8)}…` : 'none');

function ms(from?: string | null, to?: string | null): string {
  if (!from || !to) return '-';
  return String(Date.parse(to) - Date.parse(from));
}

function table(rows: string[][], indent = '    '): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

function printExecution(label: string, execution: any): void {
  console.log(`\n  ${label}: execution ${execution.id}`);
  console.log(`    ${execution.kind} of ${execution.targetId} with release ${execution.releaseId}: ${execution.status} in ${ms(execution.startedAt, execution.stoppedAt)} ms`);
  const rows = [['step', 'status', 'attempts', 'ms', 'error']];
  for (const s of execution.steps ?? []) {
    rows.push([s.name, s.status, String(s.attempts), ms(s.startedAt, s.stoppedAt), s.error ? `${s.error.name}: ${s.error.message}` : '']);
  }
  console.log(table(rows));
}

function printTarget(label: string, target: any): void {
  const release = target.currentRelease ? `, release ${target.currentRelease}` : '';
  console.log(`\n  ${label}: ${target.id} is ${target.status}${release}, installer ${target.installerLocked ? 'locked' : 'unlocked'}`);
  for (const b of target.blockers ?? []) {
    console.log(`    blocker ${b.code}: ${b.message}`);
    if (b.remediation) console.log(`      remediation: ${b.remediation}`);
  }
}

// ---- the demo -------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = Date.now();
  const { url, dataDir } = connection();
  await checkHealth(url);
  const token = await adminToken(dataDir);
  const call = makeClient(url, token);
  console.log(`Deployment Control Plane demo against ${url} (admin token ${tokenHint(token)})`);

  const now = new Date();
  const suffix = runSuffix(now);
  const licenseId = `demo-lic-${suffix}`;
  const version = releaseVersion(now);

  console.log('\n1. License, release signing key and a signed release');
  await call('POST', '/licenses', {
    body: {
      id: licenseId,
      customerId: 'demo-customer',
      entitlements: { modes: ['self-hosted'], maxTargets: 5, features: [] },
      expiresAt: new Date(now.getTime() + 365 * 86_400_000).toISOString(),
    },
    expect: [201],
  });
  console.log(`  license ${licenseId} (self-hosted, 5 targets, valid one year)`);

  const signer = generateKeyPair();
  const keyId = keyIdOf(signer.publicKey);
  await call('POST', '/signing-keys', { body: { keyId, publicKey: encodeBase64(signer.publicKey) }, expect: [201] });
  console.log(`  signing key ${keyId.slice(0, 16)}… generated here and registered (the secret key never leaves this process)`);

  const manifest = releaseManifest(version, signer, now);
  const published = await call('POST', '/releases', { body: manifest, expect: [201] });
  console.log(`  release ${version} signed and published on channel "${CHANNEL}" (status ${published.body.status ?? 'published'})`);

  console.log('\n2. Two self-hosted targets, answered by the simulated agent');
  const a = await registerTarget(call, `demo-a-${suffix}`, 'A', licenseId);
  const b = await registerTarget(call, `demo-b-${suffix}`, 'B', licenseId);
  for (const t of [a, b]) {
    const d = await call('POST', '/decisions', { body: { targetId: t.id, releaseId: version, action: 'provision' }, expect: [200] });
    const codes = (d.body.blockers ?? []).map((x: { code: string }) => x.code).join(', ');
    console.log(`  decision for ${t.label}: provision with ${version} → ${d.body.decision}${codes ? ` (${codes})` : ''}`);
  }

  console.log('\n3. Provisioning');
  const provision = async (t: DemoTarget) => {
    const key = `demo-provision-${t.id}`;
    const r = await call('POST', `/targets/${t.id}/provision`, { body: { releaseId: version }, headers: { 'idempotency-key': key }, expect: [202] });
    return r.body.executionId as string;
  };

  const runA = await provision(a);
  const replay = await call('POST', `/targets/${a.id}/provision`, { body: { releaseId: version }, headers: { 'idempotency-key': `demo-provision-${a.id}` }, expect: [202] });
  console.log(`  A: started ${runA} (the same Idempotency-Key again answers ${replay.body.executionId === runA ? 'the same execution' : `another execution ${replay.body.executionId}!`})`);

  // A permanent failure of the health checks the agent runs after installing the release: what a broken
  // deployment at a customer site looks like. Local runtime only.
  await call('POST', '/local/faults', { body: { targetId: b.id, command: 'run-health-checks', kind: 'permanent', times: 1 }, expect: [201] });
  console.log('  B: armed a permanent fault on its run-health-checks command — this simulates failing health checks on the target');
  const runB = await provision(b);
  console.log(`  B: started ${runB}`);

  const [execA, execB] = await Promise.all([waitForRun(call, runA), waitForRun(call, runB)]);

  console.log('\n4. Step timelines');
  printExecution('A', execA);
  printExecution('B', execB);

  console.log('\n5. Targets');
  const targetA = (await call('GET', `/targets/${a.id}`, { expect: [200] })).body;
  const targetB = (await call('GET', `/targets/${b.id}`, { expect: [200] })).body;
  printTarget('A', targetA);
  printTarget('B', targetB);

  console.log('\n6. Audit verification');
  const audits: { label: string; body: any }[] = [];
  for (const [label, query] of [['A', `targetId=${a.id}`], ['B', `targetId=${b.id}`], ['control', 'stream=control']] as const) {
    const v = (await call('GET', `/audit/verify?${query}`, { expect: [200] })).body;
    audits.push({ label, body: v });
    const broken = v.firstBrokenSeq !== undefined ? `, first broken seq ${v.firstBrokenSeq}` : '';
    console.log(`  ${label.padEnd(7)} stream ${v.stream ?? query}: ${v.valid ? 'valid' : 'INVALID'} (${v.checked} records checked${broken})`);
  }

  const problems: string[] = [];
  if (execA.status !== 'SUCCEEDED') problems.push(`A's execution ended ${execA.status}, expected SUCCEEDED`);
  if (targetA.status !== 'active') problems.push(`A is ${targetA.status}, expected active`);
  if (targetA.currentRelease !== version) problems.push(`A is bound to ${targetA.currentRelease ?? 'nothing'}, expected ${version}`);
  if (execB.status === 'SUCCEEDED') problems.push("B's execution succeeded although its health checks were made to fail");
  if (targetB.status !== 'blocked') problems.push(`B is ${targetB.status}, expected blocked`);
  if (!(targetB.blockers ?? []).some((x: { code: string }) => x.code === 'HEALTH_CHECK_FAILED')) {
    problems.push(`B's blockers do not name HEALTH_CHECK_FAILED (${(targetB.blockers ?? []).map((x: { code: string }) => x.code).join(', ') || 'none'})`);
  }
  for (const v of audits) if (!v.body.valid) problems.push(`the ${v.label} audit stream does not verify`);

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log('');
  if (problems.length) {
    console.log(`✘ Demo did not behave as expected (${seconds} s):`);
    for (const p of problems) console.log(`  - ${p}`);
    return 1;
  }
  const blockers = targetB.blockers.map((x: { code: string }) => x.code).join(', ');
  console.log(`✔ Summary: release ${version} published; A ${a.id} active (${execA.steps.length} steps); B ${b.id} blocked by ${blockers}; audit chains valid — ${seconds} s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`\n✘ Demo failed: ${e instanceof DemoFailure ? e.message : (e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
