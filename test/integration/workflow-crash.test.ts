// A crash of the local runtime in the middle of a provisioning run (SPEC §7.1, §9): the runtime runs in a
// child process (test/support/runtime-process.ts) over this file's DynamoDB Local tables and data folder,
// with the simulated agent slowed down so the run is mid-flight — secrets injected, install-secrets not yet
// answered — when the child is SIGKILLed. The next runtime on the same tables and folder must find the run
// and compensate it as lost: nothing left RUNNING, the target blocked, its secrets gone, the installer
// unlocked and the audit chain intact.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { LocalSecretStore } from '../../local/secret-store.js';
import { BASE } from '../support/api.js';
import { useLocalRuntime } from '../support/local-runtime.js';
import { executionHistory } from '../support/history.js';
import { auditStream, publishRelease, registerTarget, releaseSigner, RELEASE, sleep, trustSigner, until, verifyAudit } from '../support/workflow-fixtures.js';

const h = useLocalRuntime();
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** Long enough that the run is certainly still waiting for install-secrets when the child is killed. */
const AGENT_ANSWER_DELAY_MS = 1500;

let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Start the runtime in a child process on this file's tables and data folder; answers its URL. */
async function startChild(): Promise<{ process: ChildProcess; url: string; stderr: () => string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/runtime-process.ts')], {
    cwd: ROOT,
    env: { ...process.env, DCP_DATA_DIR: h.dataDir, DCP_ADMIN_TOKEN: h.adminToken, DCP_AGENT_ANSWER_DELAY_MS: String(AGENT_ANSWER_DELAY_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the runtime child did not start in time:\n${err}`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && out.includes('\n')) {
        clearTimeout(timer);
        resolveUrl((JSON.parse(line) as { url: string }).url);
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the runtime child exited (${signal ?? code}) before it listened:\n${err}`));
    });
  });
  return { process: proc, url, stderr: () => err };
}

it('compensates a run whose runtime was killed mid-flight as lost when the next runtime starts', { timeout: 60_000 }, async () => {
  const signer = releaseSigner('workflow-crash');
  await trustSigner(h, signer);
  await publishRelease(h, signer, RELEASE);
  // Registered through the in-process runtime: the simulated agent's key is kept in the shared data folder.
  const t = await registerTarget(h, 'crash-target');
  const secretsPrefix = `dcp/${t.id}/`;

  const started = await startChild();
  child = started.process;
  const res = await fetch(`${started.url}${BASE}/targets/${t.id}/provision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json', 'idempotency-key': 'crash-key-0001' },
    body: JSON.stringify({ releaseId: RELEASE }),
  });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  const executionId = (JSON.parse(text) as { executionId: string }).executionId;

  // Mid-flight: the runtime was validated, the secrets created and sent; the agent has not answered yet.
  const running = await until(async () => {
    const r = (await h.call('GET', `/executions/${executionId}`)).body;
    const inject = r.steps.find((s: { key: string }) => s.key === 'injectSecrets');
    return inject?.status === 'WAITING' ? r : undefined;
  }, 20_000).catch((e: Error) => {
    throw new Error(`${e.message}: the run never waited for install-secrets; child stderr:\n${started.stderr()}`);
  });
  expect(running.status).toBe('RUNNING');
  expect(running.steps.find((s: { key: string }) => s.key === 'validateRuntime')).toMatchObject({ status: 'SUCCEEDED' });
  const onDisk = LocalSecretStore.inDirectory(join(h.dataDir, 'secrets'));
  const injected = (await onDisk.list(secretsPrefix)).map((s) => s.name);
  expect(injected.length).toBeGreaterThan(0);

  const exited = new Promise<NodeJS.Signals | null>((r) => child!.once('exit', (_code, signal) => r(signal)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  // Nothing cleaned up after the kill: the run is still RUNNING in its record and in its history file.
  await sleep(AGENT_ANSWER_DELAY_MS);
  expect((await h.call('GET', `/executions/${executionId}`)).body.status).toBe('RUNNING');
  const file = JSON.parse(await readFile(join(h.dataDir, 'executions', 'provisioning', `${executionId}.json`), 'utf8')) as { status: string };
  expect(file.status).toBe('RUNNING');
  expect((await h.call('GET', `/targets/${t.id}`)).body.status).toBe('provisioning');

  // The next runtime on the same tables and data folder.
  const runtime = await h.restart();
  expect(runtime.recovered).toEqual([executionId]);

  const execution = (await h.call('GET', `/executions/${executionId}`)).body;
  expect(execution).toMatchObject({ status: 'FAILED', compensatedAt: expect.any(String) });
  expect(execution.blockers.map((b: { code: string }) => b.code)).toEqual(['EXECUTION_LOST']);
  expect(execution.steps.filter((s: { status: string }) => s.status === 'RUNNING' || s.status === 'WAITING')).toEqual([]);
  expect(execution.steps.find((s: { key: string }) => s.key === 'injectSecrets')).toMatchObject({ status: 'FAILED', error: { name: 'Execution.Lost' } });
  const all = (await h.call('GET', `/targets/${t.id}/executions`)).body.items as { id: string; status: string }[];
  expect(all.map((e) => [e.id, e.status])).toEqual([[executionId, 'FAILED']]);

  const history = (await executionHistory(h, executionId)) as { type: string; details?: any }[];
  expect(history.at(-1)).toMatchObject({ type: 'ExecutionAborted', details: { error: 'Local.RuntimeLost' } });

  const target = (await h.call('GET', `/targets/${t.id}`)).body;
  expect(target).toMatchObject({ status: 'blocked', installerLocked: false, maintenanceMode: false });
  expect(target.blockers.map((b: { code: string }) => b.code)).toEqual(['EXECUTION_LOST']);
  expect(await runtime.secrets.list(secretsPrefix)).toEqual([]);
  // The agent is not left with the run's commands.
  expect((await h.call('GET', `/targets/${t.id}/commands`, { token: t.token })).body.items).toEqual([]);

  expect(await verifyAudit(h, t.id)).toMatchObject({ valid: true });
  const compensated = (await auditStream(h, t.id)).find((r) => r.action === 'workflow.compensated');
  expect(compensated?.details).toMatchObject({ executionId, reason: 'LOST', status: 'FAILED' });
  expect([...compensated!.details.deletedSecrets].sort()).toEqual([...injected].sort());
});
