// A customer host for dcp-agent tests: a temp folder with the agent's state and the application root,
// the target registered with the host's own public keys (not a simulated agent), the agent enrolled with
// the pinned release key, releases published with real zip artifacts uploaded through `dcp release
// upload`, and a tiny HTTP application that serves whatever release `current` points at.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { Agent, type AgentOptions } from '../../agent/src/agent.js';
import { initKeys, saveConfig, saveToken, pinKey, type AgentConfig } from '../../agent/src/config.js';
import { enrollmentConfig } from '../../agent/src/main.js';
import { createZip } from '../../agent/src/zip.js';
import { releaseUpload } from '../../cli/upload.js';
import { BASE } from './api.js';
import { CUSTOMER_RUNTIME, licenseBody, targetBody } from './fixtures.js';
import type { LocalRuntimeHarness } from './local-runtime.js';
import { sampleSigned, signedBy, type TestKey } from '../unit/crypto/release-fixtures.js';

// The agents here poll every 50 ms: far above the 120 requests a minute a target token gets by default.
process.env.DCP_TARGET_TOKEN_RATE_PER_MINUTE ??= '100000';

export interface Host {
  id: string;
  dir: string;
  root: string;
  envFile: string;
  token: string;
  config: AgentConfig;
  app: App;
  newAgent(opts?: Partial<AgentOptions>): Agent;
}

export interface App {
  url: string;
  get(path?: string): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

/** The application: `/` answers current/public/version.txt, `/health` current/public/health (ok → 200), 503 in maintenance. */
export async function startApp(root: string): Promise<App> {
  const server: Server = createServer((req, res) => {
    const read = (name: string) => {
      const file = join(root, 'current', 'public', name);
      return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
    };
    if (req.url === '/health') {
      const h = read('health');
      res.writeHead(h === 'ok' ? 200 : 500).end(h ?? 'no release');
      return;
    }
    if (existsSync(join(root, 'maintenance'))) {
      res.writeHead(503).end('maintenance');
      return;
    }
    const v = read('version.txt');
    res.writeHead(v ? 200 : 404).end(v ?? 'no release');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async get(path = '/') {
      const res = await fetch(url + path);
      return { status: res.status, text: await res.text() };
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export const HOST_PROBES = Object.entries(CUSTOMER_RUNTIME)
  .filter(([c]) => c !== 'update-client' && c !== 'license-heartbeat-client')
  .map(([component, version]) => ({ component, version }));

/** Register `id` with a fresh host's keys, enroll its agent pinning `pinned`, start its application. */
export async function setupHost(h: LocalRuntimeHarness, id: string, pinned: TestKey[], overrides: Partial<AgentConfig> = {}): Promise<Host> {
  const dir = mkdtempSync(join(tmpdir(), `dcp-agent-${id}-`));
  const root = join(dir, 'app');
  const envFile = join(dir, 'app.env');
  const keys = initKeys(join(dir, 'agent'));
  const licenseId = `lic-${id}`;
  expect((await h.call('POST', '/licenses', { body: licenseBody(licenseId) })).status).toBe(201);
  const reg = await h.call('POST', '/targets', { body: targetBody(id, 'self-hosted', licenseId, keys.publicKey, { agentPublicKey: keys.agentPublicKey, encryptionKey: keys.encryptionKey }) });
  expect(reg.status, reg.text).toBe(201);
  const app = await startApp(root);
  const config = enrollmentConfig({
    api: h.url + BASE,
    targetId: id,
    trustedKeys: pinned.map((k) => pinKey(k.publicKeyBase64)),
    threshold: 1,
    host: {
      driver: { kind: 'zip', root },
      envFile,
      healthChecks: [{ name: 'app', url: `${app.url}/health`, timeoutMs: 1000, retries: 1, intervalMs: 50 }],
      probes: HOST_PROBES,
      intervals: { pollMs: 50, heartbeatMs: 500, attestationMs: 60_000, commandHeartbeatMs: 1000, backoffCapMs: 400 },
      ...overrides,
    },
  });
  saveToken(join(dir, 'agent'), reg.body.token);
  saveConfig(join(dir, 'agent'), config);
  return {
    id,
    dir: join(dir, 'agent'),
    root,
    envFile,
    token: reg.body.token,
    config,
    app,
    newAgent: (opts = {}) => new Agent({ dir: join(dir, 'agent'), log: () => undefined, ...opts }),
  };
}

export interface ZipRelease {
  version: string;
  zip: Buffer;
  manifest: ReturnType<typeof signedBy>;
  file: string;
}

/** A release whose zip holds public/version.txt and public/health (`healthy` false → a failing check). */
export function zipRelease(version: string, signer: TestKey, opts: { healthy?: boolean; extra?: Record<string, string | Uint8Array>; expiresAt?: string } = {}): ZipRelease {
  const zip = createZip({
    'public/version.txt': `v${version}\n`,
    'public/health': opts.healthy === false ? 'broken\n' : 'ok\n',
    'bin/console': { data: '#!/bin/sh\necho console\n', mode: 0o755 },
    ...opts.extra,
  });
  const name = `app-${version}.zip`;
  const manifest = signedBy(
    sampleSigned({
      version,
      artifacts: [{ name, kind: 'zip', sha256: createHash('sha256').update(zip).digest('hex'), size: zip.length }],
      publishedAt: new Date(Date.now() - 60_000).toISOString(),
      expiresAt: opts.expiresAt ?? new Date(Date.now() + 180 * 86400_000).toISOString(),
      minUpgradeFrom: '0.1.0',
    }),
    signer,
  );
  const dir = mkdtempSync(join(tmpdir(), 'dcp-release-'));
  const file = join(dir, name);
  writeFileSync(file, zip);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { version, zip, manifest, file };
}

/** Publish the release and upload its zip with `dcp release upload` (as an operator). */
export async function publishAndUpload(h: LocalRuntimeHarness, release: ZipRelease, operatorToken: string): Promise<void> {
  const r = await h.call('POST', '/releases', { body: release.manifest });
  expect(r.status, r.text).toBe(201);
  const tokenFile = join(tmpdir(), `dcp-op-${process.pid}-${Date.now()}`);
  writeFileSync(tokenFile, operatorToken, { mode: 0o600 });
  const out: string[] = [];
  const status = await releaseUpload({ out: (t) => out.push(t), err: (t) => out.push(t) }, [join(release.file, '..', 'manifest.json'), release.file, '--api', h.url + BASE, '--token-file', tokenFile]);
  expect(status, out.join('\n')).toBe(0);
}

export async function runTo(h: LocalRuntimeHarness, kind: 'provision' | 'update', id: string, releaseId: string): Promise<any> {
  const r = await h.call('POST', `/targets/${id}/${kind}`, { body: { releaseId }, headers: { 'idempotency-key': `${id}-${kind}-${releaseId}` } });
  expect(r.status, r.text).toBe(202);
  return h.waitForExecution(r.body.executionId, 25_000);
}

/** Every file under the app root with its content hash: "nothing changed on disk" is equality of two. */
export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const st = lstatSync(full);
      const key = rel ? `${rel}/${name}` : name;
      if (st.isSymbolicLink()) out[key] = `-> ${readlinkSync(full)}`;
      else if (st.isDirectory()) walk(full, key);
      else out[key] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(root, '');
  return out;
}
