// The zip driver: each release is a folder unpacked from the release's zip artifact; `current` is a
// symlink switched atomically; the previous release is the rollback package; `installer.lock` and
// `maintenance` are flag files in the root that the application (or its hooks) honour.
import { extractZip } from '../zip.js';
import type { ZipDriverConfig } from '../config.js';
import { ReleaseDirs } from './releases.js';
import { INSTALLER_LOCK, MAINTENANCE_FLAG, type Driver, type InstallInput, type InstallOutcome } from './types.js';

export class ZipDriver implements Driver {
  readonly kind = 'zip' as const;
  readonly artifactKind = 'zip' as const;
  readonly dirs: ReleaseDirs;

  constructor(private readonly config: ZipDriverConfig) {
    this.dirs = new ReleaseDirs(config.root);
  }

  installedVersion(): string | undefined {
    return this.dirs.currentVersion();
  }

  async install(input: InstallInput): Promise<InstallOutcome> {
    if (this.dirs.currentVersion() === input.version) {
      return { version: input.version, alreadyInstalled: true, releaseDir: this.dirs.dirOf(input.version) };
    }
    const staging = this.dirs.staging(input.version);
    input.mark('staging', { dir: staging });
    const files = extractZip(input.artifactPath, staging);
    await pauseIfAsked('extracted');
    const dir = this.dirs.commit(staging, { version: input.version, artifact: input.artifactName, sha256: input.sha256, installedAt: new Date().toISOString() });
    input.mark('extracted', { files });
    const previous = this.dirs.switchTo(input.version);
    input.mark('switched', { from: previous ?? null, to: input.version });
    this.dirs.prune([input.version, previous], this.config.keepExtra ?? 0);
    return { version: input.version, ...(previous ? { previous } : {}), releaseDir: dir, files };
  }

  async rollback(version: string, mark: (step: string) => void): Promise<{ from?: string; to: string }> {
    const from = this.dirs.currentVersion();
    if (from === version) return { to: version };
    if (!this.dirs.isComplete(version)) throw new RollbackPackageMissing(version);
    this.dirs.switchTo(version);
    mark('switched');
    return { ...(from ? { from } : {}), to: version };
  }

  setInstallerLocked(locked: boolean): void {
    this.dirs.flag(INSTALLER_LOCK, locked);
  }

  installerLocked(): boolean {
    return this.dirs.hasFlag(INSTALLER_LOCK);
  }

  setMaintenance(on: boolean): void {
    this.dirs.flag(MAINTENANCE_FLAG, on);
  }

  maintenance(): boolean {
    return this.dirs.hasFlag(MAINTENANCE_FLAG);
  }

  recover(): string[] {
    return this.dirs.cleanup();
  }
}

export class RollbackPackageMissing extends Error {
  override readonly name = 'RollbackPackageMissing';
  constructor(version: string) {
    super(`The rollback package ${version} is not on this host.`);
  }
}

/** Test seam: `DCP_AGENT_PAUSE_AT=<step>:<ms>` holds the install at that step (crash tests kill it there). */
export async function pauseIfAsked(step: string): Promise<void> {
  const spec = process.env.DCP_AGENT_PAUSE_AT;
  if (!spec) return;
  const [at, ms] = spec.split(':');
  if (at === step) await new Promise((r) => setTimeout(r, Number(ms ?? 60_000)));
}
