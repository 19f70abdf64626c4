// `dcp-agent`: the update client and license heartbeat client for a customer-run target.
//
//   dcp-agent init   --dir <dir>                        generate the host's keys; print the public halves
//   dcp-agent enroll --dir <dir> --api <url> --target <id> --token-file <file> --trust-key <file.pub>…
//                    [--threshold <n>] --config <host.json>
//   dcp-agent run    --dir <dir>                        heartbeats, attestations, commands until SIGTERM
//   dcp-agent status --dir <dir> [--json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent } from './agent.js';
import { ApiClient } from './client.js';
import { DEFAULT_INTERVALS, initKeys, loadConfig, loadIdentity, paths, pinKey, publicIdentity, saveConfig, saveToken, type AgentConfig } from './config.js';
import { readJsonFile } from './fsutil.js';
import { Journal } from './journal.js';
import type { AgentState } from './agent.js';
import { ComposeDriver } from './drivers/compose.js';
import { ZipDriver } from './drivers/zip.js';

const HELP = `dcp-agent — update client and license heartbeat client of a customer-run target

  dcp-agent init --dir <dir>
      Generate the attestation key, the agent key and the X25519 encryption key on this host (files 0600;
      existing keys are kept) and print their public halves: register the target with them
      (publicKey, agentPublicKey, encryptionKey).
  dcp-agent enroll --dir <dir> --api <url> --target <id> --token-file <file> --trust-key <release.pub>...
                   [--threshold <n>] [--config <host.json>]
      Store the target token (0600), pin the trusted release-signing keys, write agent.json from
      host.json (driver, hooksDir, envFile, healthChecks, probes, intervals), and check that the control
      plane knows this host's keys for the target.
  dcp-agent run --dir <dir>
      Run until SIGTERM/SIGINT: heartbeats, attestations, and the commands of the target.
  dcp-agent status --dir <dir> [--json]
      Enrollment, installed and rollback releases, license state, last heartbeat, pending commands.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      dir: { type: 'string' },
      api: { type: 'string' },
      target: { type: 'string' },
      'token-file': { type: 'string' },
      'trust-key': { type: 'string', multiple: true },
      threshold: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (!cmd || cmd === 'help' || values.help) {
    process.stdout.write(`${HELP}\n`);
    return cmd ? 0 : 2;
  }
  const dir = values.dir ?? process.env.DCP_AGENT_DIR;
  if (!dir) {
    process.stderr.write('--dir (or DCP_AGENT_DIR) is required\n');
    return 2;
  }
  switch (cmd) {
    case 'init': {
      process.stdout.write(`${JSON.stringify(initKeys(dir), null, 2)}\n`);
      return 0;
    }
    case 'enroll':
      return enroll(dir, values);
    case 'run': {
      const agent = new Agent({ dir });
      await agent.start();
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await agent.stop();
      return 0;
    }
    case 'status':
      return status(dir, values.json ?? false);
    default:
      process.stderr.write(`unknown command ${cmd}\n${HELP}\n`);
      return 2;
  }
}

async function enroll(dir: string, v: Record<string, unknown>): Promise<number> {
  const need = ['api', 'target', 'token-file'] as const;
  for (const n of need) if (!v[n]) {
    process.stderr.write(`--${n} is required\n`);
    return 2;
  }
  const keys = (v['trust-key'] as string[] | undefined) ?? [];
  if (keys.length === 0) {
    process.stderr.write('at least one --trust-key <release.pub> is required\n');
    return 2;
  }
  const host = v.config ? (JSON.parse(readFileSync(String(v.config), 'utf8')) as Partial<AgentConfig>) : {};
  const ids = publicIdentity(loadIdentity(dir));
  const token = readFileSync(String(v['token-file']), 'utf8').trim();
  const config = enrollmentConfig({
    api: String(v.api),
    targetId: String(v.target),
    trustedKeys: keys.map((file) => pinKey(readFileSync(file, 'utf8').trim())),
    threshold: v.threshold ? Number(v.threshold) : 1,
    host,
  });
  const r = await new ApiClient(config.api, token).call('GET', `/targets/${encodeURIComponent(config.targetId)}`);
  if (r.status !== 200) {
    process.stderr.write(`the control plane refused the token for ${config.targetId}: HTTP ${r.status} ${r.body?.code ?? ''}\n`);
    return 1;
  }
  const t = r.body as { publicKey: string; agentPublicKey?: string; encryptionKey?: string };
  const mismatch = [
    t.publicKey !== ids.publicKey && 'publicKey',
    t.agentPublicKey !== ids.agentPublicKey && 'agentPublicKey',
    t.encryptionKey !== ids.encryptionKey && 'encryptionKey',
  ].filter(Boolean);
  if (mismatch.length > 0) {
    process.stderr.write(`target ${config.targetId} is registered with other keys (${mismatch.join(', ')}); register it with the output of "dcp-agent init"\n`);
    return 1;
  }
  saveToken(dir, token);
  saveConfig(dir, config);
  process.stdout.write(`${JSON.stringify({ enrolled: config.targetId, trustedKeys: config.trustedKeys.map((k) => k.keyId), threshold: config.threshold })}\n`);
  return 0;
}

export function enrollmentConfig(input: { api: string; targetId: string; trustedKeys: AgentConfig['trustedKeys']; threshold: number; host: Partial<AgentConfig> }): AgentConfig {
  const { host } = input;
  if (!host.driver) throw new Error('the host configuration names no driver ({"driver": {"kind": "zip", "root": …}})');
  if (!host.envFile) throw new Error('the host configuration names no envFile');
  if (!Number.isInteger(input.threshold) || input.threshold < 1 || input.threshold > input.trustedKeys.length) {
    throw new Error(`the threshold must be between 1 and the ${input.trustedKeys.length} pinned keys`);
  }
  return {
    api: input.api,
    targetId: input.targetId,
    trustedKeys: input.trustedKeys,
    threshold: input.threshold,
    driver: host.driver,
    ...(host.hooksDir ? { hooksDir: host.hooksDir } : {}),
    envFile: host.envFile,
    healthChecks: host.healthChecks ?? [],
    probes: host.probes ?? [],
    intervals: { ...DEFAULT_INTERVALS, ...host.intervals },
    httpTimeoutMs: host.httpTimeoutMs ?? 10_000,
    hookTimeoutMs: host.hookTimeoutMs ?? 10 * 60_000,
  };
}

async function status(dir: string, json: boolean): Promise<number> {
  const config = loadConfig(dir);
  const state = readJsonFile<AgentState>(paths(dir).state) ?? { answered: [] };
  const driver = config.driver.kind === 'zip' ? new ZipDriver(config.driver) : new ComposeDriver(config.driver);
  const { open, unposted } = Journal.pending(Journal.read(paths(dir).journal));
  let pending: unknown = 'unknown (control plane unreachable)';
  try {
    const token = readFileSync(paths(dir).token, 'utf8').trim();
    const r = await new ApiClient(config.api, token, 5000).call('GET', `/targets/${encodeURIComponent(config.targetId)}/commands?status=open&limit=50`);
    if (r.status === 200) pending = (r.body.items as { id: string; type: string }[]).map((c) => `${c.type} ${c.id}`);
  } catch {
    // keep "unknown"
  }
  const report = {
    enrolled: { targetId: config.targetId, api: config.api, trustedKeys: config.trustedKeys.map((k) => k.keyId), threshold: config.threshold, driver: config.driver.kind },
    installedRelease: driver.installedVersion() ?? null,
    rollbackRelease: state.rollback ?? null,
    maintenanceMode: driver.maintenance(),
    installerLocked: driver.installerLocked(),
    license: state.license ?? null,
    lastHeartbeat: state.lastHeartbeat ?? null,
    lastAttestation: state.lastAttestation ?? null,
    lastCommand: state.lastCommand ?? null,
    pendingCommands: pending,
    journal: { interrupted: open.map((o) => `${o.type} ${o.id}`), undeliveredResults: unposted.map((u) => u.id) },
  };
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const [k, val] of Object.entries(report)) process.stdout.write(`${k.padEnd(18)} ${typeof val === 'string' ? val : JSON.stringify(val)}\n`);
  }
  return 0;
}
