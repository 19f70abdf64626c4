// Release folders shared by the drivers: `releases/<version>/` unpacked completely (marker file last,
// fsync'd) before `current` is switched to it by renaming a fresh symlink over the old one — one atomic
// rename, so `current` is always the old or the new complete release, never half of one. The release
// that was current before stays as the rollback package.
import { existsSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, lstatSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fsyncDir, readJsonFile, writeFileDurable } from '../fsutil.js';

export const MARKER = '.dcp-release.json';

export interface ReleaseMarker {
  version: string;
  artifact: string;
  sha256: string;
  installedAt: string;
}

export class ReleaseDirs {
  readonly releases: string;
  readonly current: string;

  constructor(readonly root: string) {
    this.releases = join(root, 'releases');
    this.current = join(root, 'current');
    mkdirSync(this.releases, { recursive: true, mode: 0o755 });
  }

  dirOf(version: string): string {
    if (!/^[0-9A-Za-z.+-]{1,64}$/.test(version)) throw new Error(`unsafe version ${version}`);
    return join(this.releases, version);
  }

  isComplete(version: string): boolean {
    return readJsonFile<ReleaseMarker>(join(this.dirOf(version), MARKER))?.version === version;
  }

  /** The version `current` points at, if it is a complete release. */
  currentVersion(): string | undefined {
    try {
      const v = basename(readlinkSync(this.current));
      return this.isComplete(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** A fresh staging folder for `version` (any earlier one removed). */
  staging(version: string): string {
    const dir = join(this.releases, `.staging-${version}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o755 });
    return dir;
  }

  /** Seal a staged folder as the complete release `version` (marker, fsync, rename into place). */
  commit(staging: string, marker: ReleaseMarker): string {
    writeFileDurable(join(staging, MARKER), JSON.stringify(marker), 0o644);
    fsyncDir(staging);
    const dir = this.dirOf(marker.version);
    if (this.currentVersion() === marker.version) throw new Error(`release ${marker.version} is current; it is not replaced`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    fsyncDir(this.releases);
    return dir;
  }

  /** Point `current` at `version` with one rename; answers the version it pointed at before. */
  switchTo(version: string): string | undefined {
    if (!this.isComplete(version)) throw new Error(`release ${version} is not complete on disk`);
    const before = this.currentVersion();
    const tmp = join(this.root, `.current-${process.pid}-${Date.now()}`);
    symlinkSync(join('releases', version), tmp);
    renameSync(tmp, this.current);
    fsyncDir(this.root);
    return before;
  }

  /** Remove what an interrupted install left behind (staging folders, stray symlinks); answers what went. */
  cleanup(): string[] {
    const removed: string[] = [];
    for (const name of readdirSync(this.releases)) {
      if (name.startsWith('.staging-')) {
        rmSync(join(this.releases, name), { recursive: true, force: true });
        removed.push(`releases/${name}`);
      } else if (!this.isComplete(name)) {
        rmSync(join(this.releases, name), { recursive: true, force: true });
        removed.push(`releases/${name}`);
      }
    }
    for (const name of readdirSync(this.root)) {
      if (name.startsWith('.current-')) {
        rmSync(join(this.root, name), { force: true });
        removed.push(name);
      }
    }
    return removed;
  }

  /** Keep `keep` (current and rollback) and the newest `extra` others; remove the rest. */
  prune(keep: readonly (string | undefined)[], extra = 0): void {
    const keepSet = new Set(keep.filter(Boolean));
    const others = readdirSync(this.releases)
      .filter((n) => !n.startsWith('.') && !keepSet.has(n))
      .map((n) => ({ n, t: lstatSync(join(this.releases, n)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { n } of others.slice(extra)) rmSync(join(this.releases, n), { recursive: true, force: true });
  }

  hasCurrentLink(): boolean {
    return existsSync(this.current);
  }

  flag(name: string, on: boolean): void {
    const file = join(this.root, name);
    if (on) {
      writeFileSync(file, `${new Date().toISOString()}\n`, { mode: 0o644 });
      fsyncDir(this.root);
    } else if (existsSync(file)) {
      rmSync(file);
      fsyncDir(this.root);
    }
  }

  hasFlag(name: string): boolean {
    return existsSync(join(this.root, name));
  }
}
