// The compose driver: a release is a folder holding the release's compose file (with its image tags);
// `current` switches between them like the zip driver's. Install validates, pulls and brings the project
// up from the new file; the previous file — and the image tags it resolved to, saved as images.txt —
// stays as the rollback package, and rolling back brings the project up from it again without pulling.
import { execFile } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComposeDriverConfig } from '../config.js';
import { ReleaseDirs } from './releases.js';
import { INSTALLER_LOCK, MAINTENANCE_FLAG, type Driver, type InstallInput, type InstallOutcome } from './types.js';
import { RollbackPackageMissing } from './zip.js';

export const COMPOSE_FILE = 'compose.yaml';

export class ComposeDriver implements Driver {
  readonly kind = 'compose' as const;
  readonly artifactKind = 'compose' as const;
  readonly dirs: ReleaseDirs;

  constructor(private readonly config: ComposeDriverConfig) {
    this.dirs = new ReleaseDirs(config.root);
  }

  private docker(args: string[]): Promise<string> {
    const bin = this.config.docker ?? 'docker';
    return new Promise((resolve, reject) => {
      execFile(bin, args, { timeout: 15 * 60_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`${bin} ${args.join(' ')} failed: ${(stderr || err.message).trim().slice(-1000)}`));
        resolve(stdout);
      });
    });
  }

  private compose(file: string, ...args: string[]): Promise<string> {
    return this.docker(['compose', '--project-name', this.config.projectName, '--project-directory', this.config.root, '--file', file, ...args]);
  }

  installedVersion(): string | undefined {
    return this.dirs.currentVersion();
  }

  async install(input: InstallInput): Promise<InstallOutcome> {
    if (this.dirs.currentVersion() === input.version) {
      return { version: input.version, alreadyInstalled: true, releaseDir: this.dirs.dirOf(input.version) };
    }
    const staging = this.dirs.staging(input.version);
    copyFileSync(input.artifactPath, join(staging, COMPOSE_FILE));
    await this.compose(join(staging, COMPOSE_FILE), 'config', '--quiet');
    const previous = this.dirs.currentVersion();
    if (previous) {
      // Retain the image tags the running release resolved to, next to its compose file.
      const images = await this.compose(join(this.dirs.dirOf(previous), COMPOSE_FILE), 'config', '--images');
      writeFileSync(join(this.dirs.dirOf(previous), 'images.txt'), images, { mode: 0o644 });
    }
    const dir = this.dirs.commit(staging, { version: input.version, artifact: input.artifactName, sha256: input.sha256, installedAt: new Date().toISOString() });
    input.mark('extracted');
    await this.compose(join(dir, COMPOSE_FILE), 'pull', '--quiet');
    input.mark('pulled');
    this.dirs.switchTo(input.version);
    input.mark('switched', { from: previous ?? null, to: input.version });
    await this.compose(join(dir, COMPOSE_FILE), 'up', '--detach', '--remove-orphans');
    input.mark('up');
    this.dirs.prune([input.version, previous], 0);
    return { version: input.version, ...(previous ? { previous } : {}), releaseDir: dir };
  }

  async rollback(version: string, mark: (step: string) => void): Promise<{ from?: string; to: string }> {
    const from = this.dirs.currentVersion();
    if (!this.dirs.isComplete(version)) throw new RollbackPackageMissing(version);
    if (from !== version) {
      this.dirs.switchTo(version);
      mark('switched');
    }
    await this.compose(join(this.dirs.dirOf(version), COMPOSE_FILE), 'up', '--detach', '--remove-orphans');
    return { ...(from && from !== version ? { from } : {}), to: version };
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
