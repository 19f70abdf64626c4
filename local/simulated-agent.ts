// The simulated agent of the local runtime (SPEC §7.3): stands in for the update client of targets
// registered with `"agent": "simulated"`. It holds each such target's Ed25519 agent key and answers every
// command by POSTing a signed result to the public result route, so results take the same verification
// path as a real agent's. Faults armed through /local/faults make it answer with failures.
//
// Only an Ed25519 agent key is simulated: the agent has no X25519 private key for the target's
// `encryptionKey`, so it acknowledges `install-secrets` without decrypting the secrets it was sent.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimulatedAgentHost } from '../functions/adapters/agent-host.js';
import type { AgentCommand } from '../functions/adapters/commands.js';
import { decodeBase64Strict, encodeBase64 } from '../functions/core/crypto/base64.js';
import { encodePublicKey, generateKeyPair, publicKeyFromSecret, SECRET_SEED_LENGTH } from '../functions/core/crypto/ed25519.js';
import { signStatement } from '../functions/core/crypto/signed-statement.js';
import { log } from '../functions/api/lib/log.js';
import type { FaultRegistry } from './faults.js';

export const API_BASE = '/api/v1/deployment-server';

export interface CommandResultStatement {
  _type: 'command-result';
  commandId: string;
  targetId: string;
  status: 'succeeded' | 'failed';
  output?: Record<string, unknown>;
  error?: { name: string; message: string };
  issuedAt: string;
}

export interface SimulatedAgentOptions {
  /** Folder for agent keys and tokens (files mode 0600); without it they live in memory only. */
  dir?: string;
  faults?: FaultRegistry;
  /** Pause before answering a command; 0 answers on the next turn of the event loop. */
  answerDelayMs?: number;
}

/** What an agent keeps per target: its signing seed and its `target:<id>` API token. */
interface AgentIdentity {
  secretKey: Uint8Array;
  token?: string;
}

/** What the agent posted for a command, kept for tests and for the log. */
export interface AgentAnswer {
  commandId: string;
  targetId: string;
  type: string;
  status: 'succeeded' | 'failed';
  httpStatus: number;
}

const POST_ATTEMPTS = 5;

export class SimulatedAgents implements SimulatedAgentHost {
  private apiUrl: string | undefined;
  private readonly identities = new Map<string, Promise<AgentIdentity>>();
  private readonly inflight = new Set<Promise<void>>();
  /** The release each target last installed (install-release), which its attestation names. */
  private readonly installed = new Map<string, string>();
  private closed = false;
  readonly answers: AgentAnswer[] = [];

  constructor(private readonly opts: SimulatedAgentOptions = {}) {}

  /** The control plane's base URL (`http://host:port`); commands stored before it is known wait for it. */
  setApiUrl(url: string): void {
    this.apiUrl = url.replace(/\/$/, '');
  }

  async createAgentKey(targetId: string): Promise<string> {
    const identity = await this.identity(targetId, true);
    return encodePublicKey(publicKeyFromSecret(identity!.secretKey));
  }

  /** Whether this host holds the agent of `targetId` (a simulated target). */
  async hasAgent(targetId: string): Promise<boolean> {
    return (await this.identity(targetId, false)) !== undefined;
  }

  commandStored(command: AgentCommand): void {
    if (this.closed) return;
    const done = this.answer(command)
      .catch((e: unknown) => log('error', 'simulated agent could not answer', { commandId: command.id, error: String(e) }))
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  /** Resolves once every answer under way has been posted. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private async answer(command: AgentCommand): Promise<void> {
    await new Promise((r) => (this.opts.answerDelayMs ? setTimeout(r, this.opts.answerDelayMs) : setImmediate(r)));
    if (this.closed) return;
    const identity = await this.identity(command.targetId, false);
    if (!identity) {
      log('warn', 'simulated agent has no key for target', { targetId: command.targetId, commandId: command.id });
      return;
    }
    const statement = this.resultFor(command);
    const body = signStatement(statement, identity.secretKey);
    const token = await this.tokenFor(command.targetId, identity);
    if (statement.status === 'succeeded' && command.type === 'install-release') {
      const version = (command.payload as { version?: unknown } | undefined)?.version;
      if (typeof version === 'string') this.installed.set(command.targetId, version);
    }
    // Health checks passed on the release it installed: the agent attests what now runs (as a real update
    // client does), before it answers, so the run ends with the target attested on that release.
    if (statement.status === 'succeeded' && command.type === 'run-health-checks') {
      await this.attest(command.targetId, identity, token).catch((e: unknown) =>
        log('warn', 'simulated agent could not attest', { targetId: command.targetId, error: String(e) }),
      );
    }
    const httpStatus = await this.post(`${API_BASE}/commands/${encodeURIComponent(command.id)}/result`, token, body);
    this.answers.push({ commandId: command.id, targetId: command.targetId, type: command.type, status: statement.status, httpStatus });
  }

  /** POST a signed attestation (agent key) naming the release last installed and the target's runtime. */
  private async attest(targetId: string, identity: AgentIdentity, token: string): Promise<void> {
    const url = await this.waitForUrl();
    const res = await fetch(`${url}${API_BASE}/targets/${encodeURIComponent(targetId)}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`GET target answered ${res.status}`);
    const target = (await res.json()) as { runtime?: Record<string, string> };
    const version = this.installed.get(targetId);
    const statement = {
      _type: 'attestation' as const,
      targetId,
      issuedAt: new Date().toISOString(),
      runtime: target.runtime ?? {},
      ...(version ? { releaseVersion: version } : {}),
      flags: { appDebug: false },
    };
    const status = await this.post(`${API_BASE}/targets/${encodeURIComponent(targetId)}/attestations`, token, signStatement(statement, identity.secretKey));
    if (status !== 201) throw new Error(`attestation answered ${status}`);
  }

  private resultFor(command: AgentCommand): CommandResultStatement {
    const base = { _type: 'command-result' as const, commandId: command.id, targetId: command.targetId, issuedAt: new Date().toISOString() };
    const fault = this.opts.faults?.take(command.targetId, { command: command.type });
    if (fault === 'transient') {
      return { ...base, status: 'failed', error: { name: 'Transient.AgentError', message: `Simulated transient failure of ${command.type}.` } };
    }
    if (fault === 'permanent') {
      return { ...base, status: 'failed', error: { name: 'CommandFailed', message: `Simulated permanent failure of ${command.type}.` } };
    }
    return { ...base, status: 'succeeded', output: { simulated: true, command: command.type, ...outputFor(command) } };
  }

  private async post(path: string, token: string, body: unknown): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const url = await this.waitForUrl();
      try {
        const res = await fetch(url + path, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        if ((res.status < 500 && res.status !== 429) || attempt >= POST_ATTEMPTS) {
          if (res.status >= 300) log('warn', 'simulated agent result refused', { path, status: res.status, body: text.slice(0, 500) });
          return res.status;
        }
      } catch (e) {
        if (attempt >= POST_ATTEMPTS || this.closed) throw e;
      }
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }

  private async waitForUrl(): Promise<string> {
    for (let i = 0; !this.apiUrl; i++) {
      if (this.closed || i > 600) throw new Error('The simulated agent was never told the API URL');
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.apiUrl;
  }

  /** The `target:<id>` token the agent authenticates with: created once per target and kept. */
  private async tokenFor(targetId: string, identity: AgentIdentity): Promise<string> {
    if (identity.token) return identity.token;
    const { createToken } = await import('../functions/adapters/tokens.js');
    const { token } = await createToken([`target:${targetId}`], 'local-runtime', new Date(), { description: `Simulated agent of ${targetId}` });
    identity.token = token;
    await this.persist(targetId, identity);
    return token;
  }

  private identity(targetId: string, create: boolean): Promise<AgentIdentity | undefined> {
    const cached = this.identities.get(targetId);
    if (cached) return cached;
    const loading = (async () => {
      const saved = await this.load(targetId);
      if (saved || !create) return saved;
      const identity: AgentIdentity = { secretKey: generateKeyPair().secretKey };
      await this.persist(targetId, identity);
      return identity;
    })();
    // Only a found or created identity is cached, so a later createAgentKey can still create one.
    const guarded = loading.then((id) => {
      if (!id) this.identities.delete(targetId);
      return id;
    });
    this.identities.set(targetId, guarded as Promise<AgentIdentity>);
    return guarded;
  }

  private fileOf(targetId: string): string {
    return join(this.opts.dir!, `${targetId}.json`);
  }

  private async load(targetId: string): Promise<AgentIdentity | undefined> {
    if (!this.opts.dir) return undefined;
    try {
      const saved = JSON.parse(await readFile(this.fileOf(targetId), 'utf8')) as { secretKey: string; token?: string };
      return { secretKey: decodeBase64Strict(saved.secretKey, SECRET_SEED_LENGTH), ...(saved.token ? { token: saved.token } : {}) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private async persist(targetId: string, identity: AgentIdentity): Promise<void> {
    if (!this.opts.dir) return;
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    const file = this.fileOf(targetId);
    const tmp = `${file}.${process.pid}.tmp`;
    const saved = { secretKey: encodeBase64(identity.secretKey), ...(identity.token ? { token: identity.token } : {}) };
    await writeFile(tmp, JSON.stringify(saved), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  }
}

/** A plausible output per command type, so execution histories read like a real agent's. */
function outputFor(command: AgentCommand): Record<string, unknown> {
  switch (command.type) {
    case 'validate-runtime':
      return { message: 'Runtime matches the release and policy.' };
    case 'install-secrets':
      // No X25519 private key here: the encrypted values are acknowledged, not decrypted.
      return { message: 'Secrets received (simulated agent: not decrypted).', secrets: secretNames(command.payload) };
    case 'run-migrations':
      return { message: 'Migrations applied.' };
    case 'seed-foundation-data':
      return { message: 'Foundation data seeded.' };
    case 'install-license':
      return { message: 'License installed.' };
    case 'install-release':
      return { message: 'Release installed.', releaseId: command.payload.releaseId ?? null };
    case 'run-health-checks':
      return { message: 'All health checks passed.', healthy: true };
    case 'lock-installer':
      return { message: 'Installer locked.', installerLocked: true };
    case 'unlock-installer':
      return { message: 'Installer unlocked.', installerLocked: false };
    case 'enable-maintenance':
      return { message: 'Maintenance mode on.', maintenanceMode: true };
    case 'disable-maintenance':
      return { message: 'Maintenance mode off.', maintenanceMode: false };
    case 'verify-backup':
      return { message: 'A fresh successful backup exists.', lastBackupAt: new Date().toISOString() };
    case 'shift-traffic':
      return { message: 'Traffic shifted.' };
    case 'rollback':
      return { message: 'Rolled back to the retained release.' };
  }
}

function secretNames(payload: Record<string, unknown>): string[] {
  const secrets = payload.secrets;
  if (Array.isArray(secrets)) return secrets.map((s) => (s && typeof s === 'object' && 'name' in s ? String((s as { name: unknown }).name) : String(s)));
  if (secrets && typeof secrets === 'object') return Object.keys(secrets);
  return [];
}
