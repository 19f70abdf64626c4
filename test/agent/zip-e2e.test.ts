// dcp-agent end to end on the local control plane with the zip driver in a temp folder: a tiny HTTP
// application shipped as zip artifacts is provisioned (answers v1), updated to v2 (answers v2), and a v3
// whose health check fails is rolled back (answers v2 again, target blocked HEALTH_CHECK_FAILED, v2 kept
// as the rollback package, maintenance mode off). Secrets arrive sealed and land in the env file, 0600.
import { readFileSync, statSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import { useLocalRuntime } from '../support/local-runtime.js';
import { publishAndUpload, runTo, setupHost, zipRelease, type Host } from '../support/agent-host.js';
import { releaseSigner, trustSigner } from '../support/workflow-fixtures.js';

const h = useLocalRuntime();
const signer = releaseSigner('agent-zip-e2e');
let host: Host;
let agent: Agent;
let operator: string;
const logs: string[] = [];

beforeAll(async () => {
  await trustSigner(h, signer);
  operator = await h.token(['operator']);
  host = await setupHost(h, 'agent-zip', [signer]);
  agent = host.newAgent({ log: (level, message, fields) => logs.push(JSON.stringify({ level, message, ...fields })) });
  await agent.start();
  for (const v of ['1.0.0', '2.0.0']) await publishAndUpload(h, zipRelease(v, signer), operator);
  await publishAndUpload(h, zipRelease('3.0.0', signer, { healthy: false }), operator);
});

afterAll(async () => {
  await agent?.stop();
  await host?.app.close();
});

describe('dcp-agent with the zip driver', () => {
  it('provisions v1: the app answers v1, secrets are in the env file (0600), the installer is locked', async () => {
    const run = await runTo(h, 'provision', host.id, '1.0.0');
    expect(run.status, JSON.stringify(run.steps)).toBe('SUCCEEDED');
    expect(await host.app.get()).toEqual({ status: 200, text: 'v1.0.0' });
    const env = readFileSync(host.envFile, 'utf8');
    expect(env).toMatch(/^APP_KEY=.+$/m);
    expect(statSync(host.envFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(host.root, 'installer.lock')).isFile()).toBe(true);
    // No secret value in any log line of the agent.
    const values = env.split('\n').filter(Boolean).map((l) => l.split('=').slice(1).join('='));
    for (const v of values) expect(logs.join('\n')).not.toContain(v);
    const target = (await h.call('GET', `/targets/${host.id}`)).body;
    expect(target).toMatchObject({ status: 'active', currentRelease: '1.0.0', installerLocked: true });
  });

  it('updates to v2: the app answers v2 and v1 is kept as the rollback package', async () => {
    await agent.attest();
    const run = await runTo(h, 'update', host.id, '2.0.0');
    expect(run.status, JSON.stringify(run.steps)).toBe('SUCCEEDED');
    expect(await host.app.get()).toEqual({ status: 200, text: 'v2.0.0' });
    expect(readlinkSync(join(host.root, 'current'))).toBe(join('releases', '2.0.0'));
    expect(agent.snapshot().rollback).toBe('1.0.0');
    const target = (await h.call('GET', `/targets/${host.id}`)).body;
    expect(target).toMatchObject({ status: 'active', currentRelease: '2.0.0', maintenanceMode: false });
  });

  it('rolls a v3 with a failing health check back to v2: blocked HEALTH_CHECK_FAILED, maintenance off', async () => {
    await agent.attest();
    const run = await runTo(h, 'update', host.id, '3.0.0');
    expect(run.status).toBe('FAILED');
    expect(run.blockers.map((b: { code: string }) => b.code)).toContain('HEALTH_CHECK_FAILED');
    expect(await host.app.get()).toEqual({ status: 200, text: 'v2.0.0' });
    expect(readlinkSync(join(host.root, 'current'))).toBe(join('releases', '2.0.0'));
    const target = (await h.call('GET', `/targets/${host.id}`)).body;
    expect(target).toMatchObject({ status: 'blocked', currentRelease: '2.0.0', rollbackRelease: '2.0.0', maintenanceMode: false });
    expect(agent.driver.maintenance()).toBe(false);
    const commands = (await h.call('GET', `/targets/${host.id}/commands?status=all&limit=100`)).body.items as { type: string; result?: any; executionId: string }[];
    const health = commands.find((c) => c.executionId === run.id && c.type === 'run-health-checks');
    expect(health?.result).toMatchObject({ status: 'failed', output: { rolledBack: true, from: '3.0.0', to: '2.0.0' } });
    const rollback = commands.find((c) => c.executionId === run.id && c.type === 'rollback');
    expect(rollback?.result?.status).toBe('succeeded');
  });

  it('download URLs only for a release the target is bound to or being installed with; uploads only as the manifest says', async () => {
    const ok = await h.call('GET', `/targets/${host.id}/releases/2.0.0/download`, { token: host.token });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.artifacts[0]).toMatchObject({ name: 'app-2.0.0.zip', kind: 'zip', url: expect.stringContaining('X-Amz-Expires=300') });
    for (const other of ['1.0.0', '3.0.0']) {
      const no = await h.call('GET', `/targets/${host.id}/releases/${other}/download`, { token: host.token });
      expect(no.status, other).toBe(403);
      expect(no.body.code).toBe('ARTIFACT_NOT_ALLOWED');
    }
    expect((await h.call('GET', `/targets/${host.id}/releases/2.0.0/download`, { token: operator })).status).toBe(403);
    const wrong = await h.call('POST', '/releases/2.0.0/artifacts/app-2.0.0.zip/upload', { token: operator, body: { size: 1, sha256: 'a'.repeat(64) } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('ARTIFACT_MISMATCH');
    expect((await h.call('POST', '/releases/2.0.0/artifacts/app-2.0.0.zip/upload', { token: host.token, body: { size: 1, sha256: 'a'.repeat(64) } })).status).toBe(403);
  });

  it('dcp-agent status names the installed and rollback releases and the license', async () => {
    const s = agent.snapshot();
    expect(s.installed).toBe('2.0.0');
    expect(s.lastHeartbeat?.ok).toBe(true);
    expect(s.license?.status).toBeDefined();
  });
});
