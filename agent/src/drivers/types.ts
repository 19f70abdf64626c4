// What the agent asks of a driver: unpack a verified package as a release, switch to it, go back to the
// retained one, and the host-level switches (installer lock, maintenance flag). Site-specific work is done
// by hook scripts around these calls, not by drivers.
import type { ReleaseDirs } from './releases.js';

export interface InstallInput {
  version: string;
  /** The verified artifact file (size and sha256 already checked). */
  artifactPath: string;
  artifactName: string;
  sha256: string;
  /** Durable progress marks (journal). */
  mark(step: string, data?: Record<string, unknown>): void;
}

export interface InstallOutcome {
  version: string;
  previous?: string;
  alreadyInstalled?: boolean;
  releaseDir: string;
  files?: number;
}

export interface Driver {
  readonly kind: 'zip' | 'compose';
  /** The artifact kind this driver installs from. */
  readonly artifactKind: 'zip' | 'compose';
  readonly dirs: ReleaseDirs;
  installedVersion(): string | undefined;
  install(input: InstallInput): Promise<InstallOutcome>;
  /** Make `version` (a complete retained release) current again. */
  rollback(version: string, mark: (step: string) => void): Promise<{ from?: string; to: string }>;
  setInstallerLocked(locked: boolean): void;
  installerLocked(): boolean;
  setMaintenance(on: boolean): void;
  maintenance(): boolean;
  /** After a crash: remove partial state so `current` is a complete release; answers what was done. */
  recover(): string[];
}

export const INSTALLER_LOCK = 'installer.lock';
export const MAINTENANCE_FLAG = 'maintenance';
