// The update client and license heartbeat client of a customer-run target (SPEC §7.3): heartbeats with
// backoff and jitter (the application never depends on them), signed attestations, and the command loop
// that executes every command type through a driver and hook scripts, journaling each step durably and
// answering with results signed by the agent key.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import semver from 'semver';
import { signStatement } from '../../functions/core/crypto/signed-statement.js';
import { openSecrets, SecretBoxError, type SecretBox } from '../../functions/core/secret-box.js';
import type { CommandType } from '../../functions/core/workflows.js';
import { ApiClient, ApiUnavailable } from './client.js';
import { loadConfig, loadIdentity, loadToken, paths, type AgentConfig, type Identity } from './config.js';
import { ComposeDriver } from './drivers/compose.js';
import type { Driver } from './drivers/types.js';
import { RollbackPackageMissing, ZipDriver } from './drivers/zip.js';
import { backoffMs, readJsonFile, sleep, writeFileDurable } from './fsutil.js';
import { runHealthChecks } from './health.js';
import { hookPath, runHook } from './hooks.js';
import { Journal } from './journal.js';
import { createLogger, type Logger } from './log.js';
import { probeRuntime } from './probes.js';
import { verifyReleaseManifest } from './verify.js';

export interface AgentCommand {
  id: string;
  targetId: string;
  type: CommandType;
  payload: Record<string, any>;
  createdAt: string;
  status?: string;
}

export interface CommandOutcome {
  status: 'succeeded' | 'failed';
  output?: Record<string, unknown>;
  error?: { name: string; message: string };
}

export interface AgentState {
  installed?: string;
  rollback?: string;
  license?: { status?: string; expiresAt?: string; checkedAt: string; licenseId?: string };
  lastHeartbeat?: { at: string; ok: boolean; error?: string };
  lastAttestation?: { at: string; result?: string; releaseVersion?: string; error?: string };
  lastCommand?: { id: string; type: string; status: string; at: string };
  /** Recently answered command ids (so a command listed again while its result travels is not re-run). */
  answered: string[];
}

/** Where the agent gets a release's signed manifest and its artifacts' short-lived download URLs. */
export interface ReleaseSource {
  release(releaseId: string): Promise<{ manifest: unknown; artifacts: { name: string; url: string }[] }>;
}

export function apiReleaseSource(api: ApiClient, targetId: string): ReleaseSource {
  return {
    async release(releaseId) {
      const r = await api.call('GET', `/targets/${encodeURIComponent(targetId)}/releases/${encodeURIComponent(releaseId)}/download`);
      if (r.status !== 200) throw new Refused('ARTIFACT_UNAVAILABLE', `The control plane answered ${r.status} for release ${releaseId}: ${r.body?.code ?? ''} ${r.body?.detail ?? ''}`.trim());
      return r.body;
    },
  };
}

class Refused extends Error {
  override readonly name = 'Refused';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

class Transient extends Error {
  override readonly name = 'Transient';
}

const MAX_ANSWERED = 500;

export interface AgentOptions {
  dir: string;
  log?: Logger;
  /** Replace the control plane as release source (tests). */
  releaseSource?: ReleaseSource;
  now?: () => Date;
}

export class Agent {
  readonly config: AgentConfig;
  readonly driver: Driver;
  readonly log: Logger;
  private readonly identity: Identity;
  private readonly api: ApiClient;
  private readonly journal: Journal;
  private readonly releases: ReleaseSource;
  private readonly now: () => Date;
  private state: AgentState;
  private stopper = new AbortController();
  private loops: Promise<void>[] = [];
  private busy: Promise<void> = Promise.resolve();

  constructor(readonly opts: AgentOptions) {
    this.config = loadConfig(opts.dir);
    this.identity = loadIdentity(opts.dir);
    this.log = opts.log ?? createLogger();
    this.api = new ApiClient(this.config.api, loadToken(opts.dir), this.config.httpTimeoutMs);
    this.driver = this.config.driver.kind === 'zip' ? new ZipDriver(this.config.driver) : new ComposeDriver(this.config.driver);
    this.journal = new Journal(paths(opts.dir).journal);
    this.releases = opts.releaseSource ?? apiReleaseSource(this.api, this.config.targetId);
    this.now = opts.now ?? (() => new Date());
    this.state = readJsonFile<AgentState>(paths(opts.dir).state) ?? { answered: [] };
  }

  get targetId(): string {
    return this.config.targetId;
  }

  snapshot(): AgentState {
    return JSON.parse(JSON.stringify({ ...this.state, installed: this.driver.installedVersion(), rollback: this.state.rollback })) as AgentState;
  }

  private saveState(patch: Partial<AgentState>): void {
    this.state = { ...this.state, ...patch };
    writeFileDurable(paths(this.opts.dir).state, JSON.stringify(this.state, null, 2));
  }

  // ----------------------------------------------------------------------------------------------------
  // Life cycle

  /** Recover from the journal, then run the heartbeat, attestation and command loops until stop(). */
  async start(): Promise<void> {
    await this.recover();
    const signal = this.stopper.signal;
    this.loops = [
      this.every(this.config.intervals.heartbeatMs, () => this.heartbeat(), signal, 'heartbeat'),
      this.every(this.config.intervals.attestationMs, () => this.attest(), signal, 'attestation'),
      this.every(this.config.intervals.pollMs, () => this.pollOnce(), signal, 'commands'),
    ];
    this.log('info', 'agent started', { targetId: this.targetId, driver: this.driver.kind, installed: this.driver.installedVersion() ?? null });
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await Promise.allSettled(this.loops);
    await this.busy.catch(() => undefined);
    this.journal.close();
  }

  /** Run `fn` every `intervalMs`; while the control plane is unreachable wait with backoff and jitter. */
  private async every(intervalMs: number, fn: () => Promise<unknown>, signal: AbortSignal, name: string): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let wait = intervalMs;
      try {
        await fn();
        if (failures > 0) this.log('info', `${name}: control plane reachable again`, { after: failures });
        failures = 0;
      } catch (e) {
        failures++;
        const hinted = e instanceof ApiUnavailable ? e.retryAfterMs : undefined;
        wait = Math.max(hinted ?? 0, backoffMs(failures, Math.min(intervalMs, 500), this.config.intervals.backoffCapMs));
        this.log(failures === 1 ? 'warn' : 'debug', `${name} failed; retrying`, { error: (e as Error).message, attempt: failures, retryInMs: wait });
      }
      await sleep(wait, signal);
    }
  }

  // ----------------------------------------------------------------------------------------------------
  // Heartbeat (license) and attestation

  async heartbeat(): Promise<void> {
    const { runtime } = await probeRuntime(this.config.probes);
    try {
      const r = await this.api.call('POST', `/targets/${encodeURIComponent(this.targetId)}/heartbeat`, { runtime });
      if (r.status !== 200) throw new Error(`heartbeat answered ${r.status}: ${r.body?.code ?? ''}`);
      this.saveState({
        lastHeartbeat: { at: this.now().toISOString(), ok: true },
        license: { ...this.state.license, status: r.body.license?.status, expiresAt: r.body.license?.expiresAt, checkedAt: this.now().toISOString() },
      });
    } catch (e) {
      // The last license answer is kept: licensing never stops production.
      this.saveState({ lastHeartbeat: { at: this.state.lastHeartbeat?.at ?? '', ok: false, error: (e as Error).message } });
      throw e;
    }
  }

  async attest(): Promise<{ result?: string; reasons?: string[] }> {
    const { runtime } = await probeRuntime(this.config.probes);
    const releaseVersion = this.driver.installedVersion();
    const statement = {
      _type: 'attestation' as const,
      targetId: this.targetId,
      issuedAt: this.now().toISOString(),
      runtime,
      ...(releaseVersion ? { releaseVersion } : {}),
      flags: { appDebug: this.appDebug() },
    };
    const r = await this.api.call('POST', `/targets/${encodeURIComponent(this.targetId)}/attestations`, signStatement(statement, this.identity.attestationKey));
    if (r.status !== 201) throw new Error(`attestation answered ${r.status}: ${r.body?.code ?? ''}`);
    this.saveState({ lastAttestation: { at: statement.issuedAt, result: r.body.result, ...(releaseVersion ? { releaseVersion } : {}) } });
    if (r.body.result !== 'passed') this.log('warn', 'attestation failed the policy', { reasons: r.body.reasons });
    return r.body;
  }

  private appDebug(): boolean {
    try {
      return /^APP_DEBUG\s*=\s*"?(true|1)"?\s*$/m.test(readFileSync(this.config.envFile, 'utf8'));
    } catch {
      return false;
    }
  }

  // ----------------------------------------------------------------------------------------------------
  // Commands

  /** List open commands and handle each in order; undelivered results are posted first. */
  async pollOnce(): Promise<number> {
    let handled = 0;
    const run = async () => {
      await this.flushResults();
      const r = await this.api.call('GET', `/targets/${encodeURIComponent(this.targetId)}/commands?status=open&limit=50`);
      if (r.status !== 200) throw new Error(`listing commands answered ${r.status}: ${r.body?.code ?? ''}`);
      const items = (r.body.items as AgentCommand[]).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
      for (const command of items) {
        if (this.stopper.signal.aborted) break;
        if (this.state.answered.includes(command.id)) continue;
        await this.handle(command);
        handled++;
      }
    };
    const p = this.busy.then(run);
    this.busy = p.catch(() => undefined);
    await p;
    return handled;
  }

  /** Execute one command with its journal entries, sign the result, deliver it. */
  async handle(command: AgentCommand): Promise<CommandOutcome> {
    this.journal.begin(command.id, command.type);
    this.log('info', 'command started', { commandId: command.id, type: command.type });
    const beat = setInterval(() => {
      this.api.call('POST', `/commands/${encodeURIComponent(command.id)}/heartbeat`, {}).catch(() => undefined);
    }, this.config.intervals.commandHeartbeatMs);
    let outcome: CommandOutcome;
    try {
      outcome = await this.execute(command);
    } finally {
      clearInterval(beat);
    }
    const statement = {
      _type: 'command-result' as const,
      commandId: command.id,
      targetId: this.targetId,
      status: outcome.status,
      ...(outcome.output ? { output: outcome.output } : {}),
      ...(outcome.error ? { error: { name: outcome.error.name.slice(0, 100), message: outcome.error.message.slice(0, 2000) } } : {}),
      issuedAt: this.now().toISOString(),
    };
    const body = signStatement(statement, this.identity.agentKey);
    this.journal.append({ op: 'result', id: command.id, body });
    this.remember(command, outcome.status);
    this.log(outcome.status === 'succeeded' ? 'info' : 'warn', 'command finished', { commandId: command.id, type: command.type, status: outcome.status, error: outcome.error?.message });
    await this.deliver(command.id, body).catch((e: unknown) => this.log('warn', 'result not delivered yet; kept in the journal', { commandId: command.id, error: (e as Error).message }));
    if (outcome.status === 'succeeded' && (command.type === 'install-release' || command.type === 'rollback')) {
      await this.attest().catch((e: unknown) => this.log('warn', 'attestation after install failed', { error: (e as Error).message }));
    }
    return outcome;
  }

  private remember(command: AgentCommand, status: string): void {
    const answered = [...this.state.answered.filter((id) => id !== command.id), command.id].slice(-MAX_ANSWERED);
    this.saveState({ answered, lastCommand: { id: command.id, type: command.type, status, at: this.now().toISOString() } });
  }

  private async deliver(id: string, body: { statement: Record<string, unknown>; signature: string }): Promise<void> {
    const r = await this.api.call('POST', `/commands/${encodeURIComponent(id)}/result`, body);
    // 409: already completed (or this very result already received); 404: the run is gone. Either way done.
    if (r.status === 200 || r.status === 409 || r.status === 404) {
      if (r.status !== 200) this.log('info', 'result not needed any more', { commandId: id, status: r.status, code: r.body?.code });
      this.journal.append({ op: 'posted', id });
      return;
    }
    this.journal.append({ op: 'posted', id });
    throw new Error(`result refused with ${r.status}: ${r.body?.code ?? ''} ${r.body?.detail ?? ''}`);
  }

  private async flushResults(): Promise<void> {
    const { unposted } = Journal.pending(Journal.read(paths(this.opts.dir).journal));
    for (const u of unposted) await this.deliver(u.id, u.body);
  }

  /** After a restart: clean what an interrupted command left, so its re-delivery starts from a complete release. */
  async recover(): Promise<void> {
    const { open } = Journal.pending(Journal.read(paths(this.opts.dir).journal));
    const removed = this.driver.recover();
    for (const o of open) {
      const switched = o.marks.some((m) => m.step === 'switched');
      const action = switched
        ? `${o.type} had switched current to ${this.driver.installedVersion() ?? '?'}; it is finished when the command is delivered again`
        : `${o.type} was interrupted before current changed; partial files removed (${removed.join(', ') || 'none'}), current stays ${this.driver.installedVersion() ?? 'empty'}`;
      this.journal.append({ op: 'recovered', id: o.id, action });
      // Not answered: the command is still open, so it is delivered and run again (idempotently).
      this.saveState({ answered: this.state.answered.filter((id) => id !== o.id) });
      this.log('warn', 'recovered an interrupted command', { commandId: o.id, type: o.type, action });
      this.recovered.push({ id: o.id, type: o.type, action });
    }
    this.journal.compact();
  }

  readonly recovered: { id: string; type: string; action: string }[] = [];

  /** What a command does on this host. Never throws: every failure is a failed outcome. */
  async execute(command: AgentCommand): Promise<CommandOutcome> {
    try {
      const recovered = this.recovered.find((r) => r.id === command.id);
      const output = await this.run(command);
      return { status: 'succeeded', output: recovered ? { ...output, recovered: recovered.action } : output };
    } catch (e) {
      if (e instanceof Refused) {
        return { status: 'failed', output: { refused: e.code, changedOnDisk: false }, error: { name: e.code, message: e.message } };
      }
      if (e instanceof StepFailed) return { status: 'failed', output: e.output, error: { name: e.code, message: e.message } };
      if (e instanceof Transient || e instanceof ApiUnavailable) return { status: 'failed', error: { name: 'Transient.AgentError', message: e.message } };
      return { status: 'failed', error: { name: (e as Error).name === 'Error' ? 'AgentError' : (e as Error).name, message: (e as Error).message } };
    }
  }

  private async hook(command: AgentCommand, extra: Record<string, unknown> = {}): Promise<Record<string, unknown> | undefined> {
    const file = hookPath(this.config.hooksDir, command.type);
    if (!file) return undefined;
    const { sealed: _sealed, ...payload } = command.payload;
    void _sealed;
    const current = this.driver.installedVersion();
    const input = {
      command: { id: command.id, type: command.type, payload },
      targetId: this.targetId,
      driver: this.driver.kind,
      root: this.driver.dirs.root,
      currentRelease: current ?? null,
      releaseDir: current ? this.driver.dirs.dirOf(current) : null,
      envFile: this.config.envFile,
      ...extra,
    };
    const out = await runHook(file, input, {
      timeoutMs: this.config.hookTimeoutMs,
      env: { DCP_COMMAND: command.type, DCP_ENV_FILE: this.config.envFile, DCP_ROOT: this.driver.dirs.root, ...(current ? { DCP_RELEASE_DIR: this.driver.dirs.dirOf(current) } : {}) },
      onStderr: (text) => this.log('info', 'hook stderr', { hook: command.type, stderr: text }),
    });
    if (!out.ok) {
      if (out.transient) throw new Transient(out.message ?? 'hook failed');
      throw new StepFailed('HookFailed', out.message ?? 'hook failed', { hook: command.type, exitCode: out.exitCode ?? null, ...out.output });
    }
    return { hook: command.type, ...out.output };
  }

  private async run(command: AgentCommand): Promise<Record<string, unknown>> {
    const p = command.payload;
    switch (command.type) {
      case 'validate-runtime':
        return this.validateRuntime(command);
      case 'install-secrets':
        return this.installSecrets(command);
      case 'run-migrations':
      case 'seed-foundation-data':
      case 'shift-traffic': {
        const out = await this.hook(command);
        return out ?? { message: `No ${command.type} hook on this host; nothing to do.` };
      }
      case 'install-license': {
        this.saveState({ license: { ...this.state.license, licenseId: p.licenseId, expiresAt: p.expiresAt, checkedAt: this.now().toISOString() } });
        return { message: `License ${p.licenseId} installed.`, ...(await this.hook(command)) };
      }
      case 'install-release':
        return this.installRelease(command);
      case 'run-health-checks':
        return this.healthChecks(command);
      case 'lock-installer':
        this.driver.setInstallerLocked(true);
        return { message: 'Installer locked.', installerLocked: true, ...(await this.hook(command)) };
      case 'unlock-installer':
        this.driver.setInstallerLocked(false);
        return { message: 'Installer unlocked.', installerLocked: false, ...(await this.hook(command)) };
      case 'enable-maintenance': {
        this.driver.setMaintenance(true);
        return { message: 'Maintenance mode on.', maintenanceMode: true, ...(await this.hook(command)) };
      }
      case 'disable-maintenance': {
        const out = await this.hook(command);
        this.driver.setMaintenance(false);
        return { message: 'Maintenance mode off.', maintenanceMode: false, ...out };
      }
      case 'verify-backup':
        return this.verifyBackup(command);
      case 'rollback':
        return this.rollback(command);
    }
  }

  private async validateRuntime(command: AgentCommand): Promise<Record<string, unknown>> {
    const p = command.payload as { requiredComponents?: string[]; supportedVersions?: Record<string, string>; releaseRuntime?: Record<string, string> };
    const { runtime, failures } = await probeRuntime(this.config.probes);
    const problems: string[] = [...failures];
    for (const required of p.requiredComponents ?? []) {
      const alternatives = required.split('|');
      if (!alternatives.some((c) => runtime[c] !== undefined)) problems.push(`${required} is not present`);
    }
    const ranges = [...Object.entries(p.supportedVersions ?? {}), ...Object.entries(p.releaseRuntime ?? {})];
    for (const [component, range] of ranges) {
      const version = runtime[component];
      if (version === undefined) continue;
      const v = semver.coerce(version);
      if (!v || !semver.satisfies(v, range)) problems.push(`${component} ${version} does not satisfy ${range}`);
    }
    if (problems.length > 0) throw new StepFailed('UnsupportedRuntime', problems.join('; '), { runtime, problems });
    return { message: 'Runtime matches the release and policy.', runtime, ...(await this.hook(command, { runtime })) };
  }

  private async installSecrets(command: AgentCommand): Promise<Record<string, unknown>> {
    const p = command.payload as { secrets?: { name: string; source: string }[]; sealed?: SecretBox };
    const names = (p.secrets ?? []).map((s) => s.name);
    let written: string[] = [];
    if (p.sealed) {
      let values: Record<string, string>;
      try {
        values = openSecrets(p.sealed, this.identity.encryptionKey);
      } catch (e) {
        if (e instanceof SecretBoxError) throw new StepFailed('SecretsUnreadable', 'The sealed secrets do not open with this host\'s encryption key.', {});
        throw e;
      }
      written = writeEnvValues(this.config.envFile, values);
    }
    const customer = (p.secrets ?? []).filter((s) => s.source === 'customer-provided').map((s) => s.name);
    return {
      message: `${written.length} secrets written to the env file (mode 0600).`,
      secrets: names,
      written,
      ...(customer.length ? { customerProvided: customer } : {}),
      envFile: this.config.envFile,
      ...(await this.hook(command, { secrets: names })),
    };
  }

  private async verifyBackup(command: AgentCommand): Promise<Record<string, unknown>> {
    const out = await this.hook(command);
    if (out) return { message: 'The backup hook verified a fresh backup.', ...out };
    const p = command.payload as { maxAgeSeconds?: number; lastBackupAt?: string };
    const age = p.lastBackupAt ? (this.now().getTime() - Date.parse(p.lastBackupAt)) / 1000 : Infinity;
    if (!(age <= (p.maxAgeSeconds ?? 86400))) {
      throw new StepFailed('BackupStale', p.lastBackupAt ? `The last backup (${p.lastBackupAt}) is older than ${p.maxAgeSeconds} s.` : 'No backup is known and no verify-backup hook is installed.', {});
    }
    return { message: 'The last recorded backup is fresh (no verify-backup hook on this host).', lastBackupAt: p.lastBackupAt };
  }

  /** Verify manifest and artifact completely, then install through the driver, then the hook. */
  async installRelease(command: AgentCommand): Promise<Record<string, unknown>> {
    const releaseId = String(command.payload.releaseId);
    const installed = this.driver.installedVersion();
    if (installed === releaseId) {
      const out = await this.hook(command, { previousRelease: this.state.rollback ?? null });
      return { message: `Release ${releaseId} is installed.`, releaseId, alreadyInstalled: true, ...out };
    }
    const { manifest, artifacts } = await this.releases.release(releaseId);
    const verified = verifyReleaseManifest(manifest, {
      pinned: this.config.trustedKeys,
      threshold: this.config.threshold,
      now: this.now(),
      expectedVersion: releaseId,
      ...(installed ? { installedVersion: installed } : {}),
    });
    if (!verified.ok) throw new Refused(verified.code, verified.message);
    const pkg = verified.signed.artifacts.find((a) => a.kind === this.driver.artifactKind);
    if (!pkg) throw new Refused('ARTIFACT_MISSING', `Release ${releaseId} has no ${this.driver.artifactKind} artifact for the ${this.driver.kind} driver.`);
    const url = artifacts.find((a) => a.name === pkg.name)?.url;
    if (!url) throw new Refused('ARTIFACT_UNAVAILABLE', `No download URL for ${pkg.name}.`);
    const file = await this.download(url, pkg.name, pkg.size, pkg.sha256.toLowerCase());
    this.journal.mark(command.id, 'verified', { releaseId, artifact: pkg.name, sha256: pkg.sha256.toLowerCase() });
    try {
      const outcome = await this.driver.install({
        version: releaseId,
        artifactPath: file,
        artifactName: pkg.name,
        sha256: pkg.sha256.toLowerCase(),
        mark: (step, data) => this.journal.mark(command.id, step, data),
      });
      if (outcome.previous) this.saveState({ rollback: outcome.previous });
      this.saveState({ installed: releaseId });
      let hookOut: Record<string, unknown> | undefined;
      try {
        hookOut = await this.hook(command, { previousRelease: outcome.previous ?? null });
      } catch (e) {
        if (outcome.previous) {
          await this.driver.rollback(outcome.previous, (s) => this.journal.mark(command.id, `hook-failed-${s}`));
          this.saveState({ installed: outcome.previous });
          throw new StepFailed('InstallHookFailed', `${(e as Error).message}; rolled back to ${outcome.previous}`, { rolledBack: true, releaseId: outcome.previous });
        }
        throw e;
      }
      return {
        message: `Release ${releaseId} installed (${this.driver.kind} driver)${outcome.previous ? `; ${outcome.previous} retained as rollback package` : ''}.`,
        releaseId,
        signers: verified.signers,
        artifact: { name: pkg.name, sha256: pkg.sha256.toLowerCase(), size: pkg.size },
        ...(outcome.previous ? { rollbackRelease: outcome.previous } : {}),
        ...hookOut,
      };
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Stream an artifact to the download folder, refusing it (and removing it) unless size and sha256 match. */
  private async download(url: string, name: string, size: number, sha256: string): Promise<string> {
    const dir = join(this.opts.dir, 'downloads');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${createHash('sha256').update(name).digest('hex').slice(0, 16)}.part`);
    rmSync(file, { force: true });
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      if (url.startsWith('data:')) {
        // Inline artifacts (tests, air-gapped imports): same size and digest checks.
        const data = Buffer.from(await (await fetch(url)).arrayBuffer());
        if (data.length > size) throw new Refused('ARTIFACT_INTEGRITY', `${name} is larger than the ${size} bytes the signed manifest names.`);
        bytes = data.length;
        hash.update(data);
        writeFileSync(file, data, { mode: 0o600 });
      } else await new Promise<void>((resolve, reject) => {
        const get = url.startsWith('https:') ? httpsGet : url.startsWith('http:') ? httpGet : undefined;
        if (!get) return reject(new Refused('ARTIFACT_UNAVAILABLE', `unsupported download URL scheme for ${name}`));
        const req = get(url, { agent: false, timeout: 60_000 }, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            return reject(new Transient(`download of ${name} answered ${res.statusCode}`));
          }
          const out = createWriteStream(file, { mode: 0o600 });
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > size) {
              res.destroy();
              out.destroy();
              return reject(new Refused('ARTIFACT_INTEGRITY', `${name} is larger than the ${size} bytes the signed manifest names.`));
            }
            hash.update(chunk);
            if (!out.write(chunk)) {
              res.pause();
              out.once('drain', () => res.resume());
            }
          });
          res.on('error', (e) => reject(new Transient(`download of ${name} failed: ${e.message}`)));
          res.on('end', () => out.end(() => resolve()));
          out.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', (e) => reject(new Transient(`download of ${name} failed: ${e.message}`)));
      });
    } catch (e) {
      rmSync(file, { force: true });
      throw e;
    }
    const digest = hash.digest('hex');
    if (bytes !== size || digest !== sha256) {
      rmSync(file, { force: true });
      throw new Refused('ARTIFACT_INTEGRITY', `${name} does not match the signed manifest (${bytes} bytes, sha256 ${digest.slice(0, 16)}…; expected ${size} bytes, ${sha256.slice(0, 16)}…).`);
    }
    return file;
  }

  private async healthChecks(command: AgentCommand): Promise<Record<string, unknown>> {
    const results = await runHealthChecks(this.config.healthChecks);
    const hookOut = await this.hook(command, { checks: results }).catch((e: unknown) => {
      if (e instanceof StepFailed) return { hookFailed: e.message };
      throw e;
    });
    const failed = results.filter((r) => !r.healthy);
    if (failed.length === 0 && !(hookOut && 'hookFailed' in hookOut)) {
      return { message: `All ${results.length} health checks passed.`, healthy: true, checks: results, ...hookOut };
    }
    const reason = [...failed.map((r) => `${r.name} (${r.url}): ${r.error ?? `HTTP ${r.status}`} after ${r.attempts} attempts`), ...(hookOut && 'hookFailed' in hookOut ? [String(hookOut.hookFailed)] : [])].join('; ');
    // Back to the retained package at once, so the site does not stay on a release that failed its checks.
    const current = this.driver.installedVersion();
    const to = this.state.rollback;
    let rolledBack: Record<string, unknown> = { rolledBack: false };
    if (to && current && current !== to && current === command.payload.releaseId) {
      try {
        await this.driver.rollback(to, (s) => this.journal.mark(command.id, `rollback-${s}`));
        this.saveState({ installed: to });
        rolledBack = { rolledBack: true, from: current, to };
      } catch (e) {
        rolledBack = { rolledBack: false, rollbackError: (e as Error).message };
      }
    }
    throw new StepFailed('HealthCheckFailed', `Health checks failed: ${reason}${rolledBack.rolledBack ? `; rolled back to ${to}` : ''}.`, { healthy: false, checks: results, ...rolledBack });
  }

  private async rollback(command: AgentCommand): Promise<Record<string, unknown>> {
    const to = String(command.payload.toRelease ?? this.state.rollback ?? '');
    if (!to) throw new StepFailed('RollbackPackageMissing', 'No release to roll back to.', {});
    try {
      const r = await this.driver.rollback(to, (s) => this.journal.mark(command.id, s));
      this.saveState({ installed: to });
      const out = await this.hook(command, { toRelease: to });
      return { message: r.from ? `Rolled back from ${r.from} to ${to}.` : `Release ${to} is current (already rolled back).`, toRelease: to, ...(r.from ? { fromRelease: r.from } : {}), ...out };
    } catch (e) {
      if (e instanceof RollbackPackageMissing) throw new StepFailed('RollbackPackageMissing', e.message, {});
      throw e;
    }
  }
}

class StepFailed extends Error {
  constructor(readonly code: string, message: string, readonly output: Record<string, unknown>) {
    super(message);
  }
}

/** Set `values` in a KEY=value env file (mode 0600, written atomically), keeping other lines. */
export function writeEnvValues(file: string, values: Readonly<Record<string, string>>): string[] {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
  const pending = new Map(Object.entries(values));
  const quote = (v: string) => (/^[A-Za-z0-9_./:@+=-]*$/.test(v) ? v : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  const out = lines.map((line) => {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (m && pending.has(m[1]!)) {
      const v = pending.get(m[1]!)!;
      pending.delete(m[1]!);
      return `${m[1]}=${quote(v)}`;
    }
    return line;
  });
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  for (const [k, v] of pending) out.push(`${k}=${quote(v)}`);
  writeFileDurable(file, `${out.join('\n')}\n`, 0o600);
  return Object.keys(values).sort();
}
