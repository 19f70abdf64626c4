// What dcp-agent refuses and survives, on the local control plane: a changed byte in an artifact, a
// manifest signed by a key this host did not pin, an expired manifest and a downgrade are refused before
// anything changes on disk; heartbeats that stop make the target HEARTBEAT_STALE; with the control plane
// stopped the application keeps answering and the agent reconnects; kill -9 during an install, then a
// restart, finishes the install from the journal and the application answers from a complete release.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, ReleaseSource } from '../../agent/src/agent.js';
import { artifactKey, s3 } from '../../functions/adapters/artifacts.js';
import { useLocalRuntime } from '../support/local-runtime.js';
import { publishAndUpload, runTo, setupHost, snapshotTree, zipRelease, type Host, type ZipRelease } from '../support/agent-host.js';
import { releaseSigner, sleep, trustSigner, until } from '../support/workflow-fixtures.js';

const h = useLocalRuntime();
const signer = releaseSigner('agent-safety');
const stranger = releaseSigner('agent-safety-unpinned');
let host: Host;
let agent: Agent;
let operator: string;
let v2: ZipRelease;

beforeAll(async () => {
  await trustSigner(h, signer);
  await trustSigner(h, stranger);
  operator = await h.token(['operator']);
  host = await setupHost(h, 'agent-safety', [signer]);
  agent = host.newAgent();
  await agent.start();
  await publishAndUpload(h, zipRelease('1.0.0', signer), operator);
  const run = await runTo(h, 'provision', host.id, '1.0.0');
  expect(run.status, JSON.stringify(run.steps)).toBe('SUCCEEDED');
  v2 = zipRelease('2.0.0', signer);
  await publishAndUpload(h, v2, operator);
});

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  await host?.app.close();
});

/** A release source that serves `manifest` and the artifact bytes as a data: URL (no control plane). */
function stubSource(manifest: unknown, bytes: Buffer, name: string): ReleaseSource {
  return { release: async () => ({ manifest, artifacts: [{ name, url: `data:application/octet-stream;base64,${bytes.toString('base64')}` }] }) };
}

const installCommand = (releaseId: string) => ({ id: `crafted-${releaseId}-${Date.now()}`, targetId: host.id, type: 'install-release' as const, payload: { releaseId }, createdAt: new Date().toISOString() });

describe('refused before anything changes on disk', () => {
  it('one byte changed in the stored artifact: the update run is blocked, the host untouched', async () => {
    const tampered = Buffer.from(v2.zip);
    tampered[tampered.length >> 1] ^= 0x01;
    const sha = createHash('sha256').update(v2.zip).digest('hex');
    await s3().send(new PutObjectCommand({ Bucket: h.runtime.s3.bucket, Key: artifactKey(sha), Body: tampered }));
    await agent.attest();
    const before = snapshotTree(host.root);
    const run = await runTo(h, 'update', host.id, '2.0.0');
    expect(run.status).toBe('FAILED');
    expect(run.blockers.map((b: { code: string }) => b.code)).toContain('RELEASE_BIND_FAILED');
    const cmd = ((await h.call('GET', `/targets/${host.id}/commands?status=all&limit=100`)).body.items as any[]).find((c) => c.executionId === run.id && c.type === 'install-release');
    expect(cmd.result).toMatchObject({ status: 'failed', error: { name: 'ARTIFACT_INTEGRITY' }, output: { refused: 'ARTIFACT_INTEGRITY', changedOnDisk: false } });
    const after = snapshotTree(host.root);
    // Maintenance mode went on and off around the refusal; the releases and `current` did not move.
    expect(after).toEqual(before);
    expect(await host.app.get()).toEqual({ status: 200, text: 'v1.0.0' });
  });

  it.each([
    ['a manifest signed by a key this host did not pin', () => zipRelease('2.0.0', stranger), '2.0.0', 'RELEASE_SIGNATURE_INVALID'],
    ['an expired manifest', () => zipRelease('2.0.1', signer, { expiresAt: new Date(Date.now() - 1000).toISOString() }), '2.0.1', 'RELEASE_EXPIRED'],
    ['a downgrade below the installed release', () => zipRelease('0.9.0', signer), '0.9.0', 'RELEASE_DOWNGRADE'],
  ])('%s', async (_what, make, version, code) => {
    const release = make();
    const name = `app-${version}.zip`;
    const probe = host.newAgent({ releaseSource: stubSource(release.manifest, release.zip, name) });
    const before = snapshotTree(host.root);
    const outcome = await probe.execute(installCommand(version));
    expect(outcome).toMatchObject({ status: 'failed', error: { name: code }, output: { refused: code, changedOnDisk: false } });
    expect(snapshotTree(host.root)).toEqual(before);
  });
});

describe('heartbeats and an unreachable control plane', () => {
  it('heartbeats stopped: the update decision names HEARTBEAT_STALE after the policy window', async () => {
    const current = await h.call('GET', '/target-policy');
    const put = (doc: unknown, etag: string) => h.call('PUT', '/target-policy', { body: { document: doc }, headers: { 'if-match': etag } });
    const short = await put({ ...current.body.document, heartbeatMaxAgeSeconds: 1 }, current.headers.get('etag')!);
    expect(short.status, short.text).toBe(200);
    await agent.stop();
    await sleep(1500);
    const d = await h.call('POST', '/decisions', { body: { targetId: host.id, releaseId: '2.0.0', action: 'update' } });
    expect(d.body.blockers.map((b: { code: string }) => b.code)).toContain('HEARTBEAT_STALE');
    const now = await h.call('GET', '/target-policy');
    expect((await put(current.body.document, now.headers.get('etag')!)).status).toBe(200);
  });

  it('control plane stopped: the app keeps answering, the agent retries and reconnects', async () => {
    agent = host.newAgent();
    await agent.start();
    await until(() => (agent.snapshot().lastHeartbeat?.ok ? true : undefined));
    const port = new URL(h.url).port;
    await h.runtime.close();
    await until(() => (agent.snapshot().lastHeartbeat?.ok === false ? true : undefined), 5000);
    expect(await host.app.get()).toEqual({ status: 200, text: 'v1.0.0' });
    await h.restart({ port: Number(port) });
    const since = Date.now();
    await until(() => (agent.snapshot().lastHeartbeat?.ok && Date.parse(agent.snapshot().lastHeartbeat!.at) > since ? true : undefined), 5000);
    expect(agent.snapshot().license?.status).toBeDefined();
  });
});

describe('kill -9 during an install', () => {
  let child: ChildProcess | undefined;
  const startProcess = (env: Record<string, string> = {}) =>
    spawn(process.execPath, [join('agent', 'bin.mjs'), 'run', '--dir', host.dir], { env: { ...process.env, DCP_AGENT_LOG_LEVEL: 'silent', ...env }, stdio: 'ignore' });
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('restarted, the journal cleans the half-unpacked release and the re-delivered command completes it', async () => {
    await agent.stop();
    if ((await h.call('GET', `/targets/${host.id}`)).body.status === 'blocked') {
      expect((await h.call('POST', `/targets/${host.id}/unblock`, { body: { reason: 'artifact repaired' } })).status).toBe(200);
    }
    // Put the genuine bytes back (the store is content-addressed: same key).
    await s3().send(new PutObjectCommand({ Bucket: h.runtime.s3.bucket, Key: artifactKey(createHash('sha256').update(v2.zip).digest('hex')), Body: v2.zip }));
    child = startProcess({ DCP_AGENT_PAUSE_AT: 'extracted:60000' });
    await sleep(1500);
    const start = await h.call('POST', `/targets/${host.id}/update`, { body: { releaseId: '2.0.0' }, headers: { 'idempotency-key': `${host.id}-update-2.0.0-again` } });
    expect(start.status, start.text).toBe(202);
    const journal = join(host.dir, 'journal.jsonl');
    await until(() => (readFileSync(journal, 'utf8').includes('"step":"staging"') ? true : undefined), 20_000);
    await sleep(200);
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    // current never moved: the app (in maintenance mode for the update) serves the complete v1.
    expect(readlinkSync(join(host.root, 'current'))).toBe(join('releases', '1.0.0'));
    expect(await host.app.get()).toEqual({ status: 503, text: 'maintenance' });
    expect(await host.app.get('/health')).toEqual({ status: 200, text: 'ok' });
    expect(readdirSync(join(host.root, 'releases')).sort()).toEqual(['.staging-2.0.0', '1.0.0']);
    child = startProcess();
    const run = await h.waitForExecution(start.body.executionId, 30_000);
    expect(run.status, JSON.stringify(run.steps)).toBe('SUCCEEDED');
    expect(await host.app.get()).toEqual({ status: 200, text: 'v2.0.0' });
    expect(readdirSync(join(host.root, 'releases')).sort()).toEqual(['1.0.0', '2.0.0']);
    const cmd = ((await h.call('GET', `/targets/${host.id}/commands?status=all&limit=100`)).body.items as any[]).find((c) => c.executionId === run.id && c.type === 'install-release');
    expect(cmd.result.status).toBe('succeeded');
    expect(String(cmd.result.output.recovered)).toMatch(/interrupted before current changed/);
  });
});
