// The agent's folder (mode 0700): its configuration, its three private keys and its target token
// (files mode 0600, generated on this host and never sent anywhere), its state and its journal.
//
//   agent.json           configuration written at enrollment (API, target, pinned release keys, driver…)
//   keys/attestation.key Ed25519 seed: signs attestations (the target's publicKey)
//   keys/agent.key       Ed25519 seed: signs command results (the target's agentPublicKey)
//   keys/encryption.key  X25519 private key: opens install-secrets boxes (the target's encryptionKey)
//   token                the target:<id> API token
//   state.json           installed and rollback release, license answer, last heartbeat…
//   journal.jsonl        the durable command journal
import { existsSync, mkdirSync, readFileSync, statSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBase64Strict, encodeBase64 } from '../../functions/core/crypto/base64.js';
import { encodePublicKey, generateKeyPair, keyIdOf, parsePublicKey, publicKeyFromSecret, SECRET_SEED_LENGTH } from '../../functions/core/crypto/ed25519.js';
import { generateRecipientKeyPair } from '../../functions/core/secret-box.js';
import { createPublicKey, createPrivateKey } from 'node:crypto';
import { readJsonFile, writeFileDurable } from './fsutil.js';

export interface HealthCheckSpec {
  name: string;
  url: string;
  /** Status codes that count as healthy (default 200-299). */
  expectStatus?: number[];
  /** Text the body must contain. */
  expectBody?: string;
  timeoutMs?: number;
  retries?: number;
  intervalMs?: number;
}

/** A runtime probe: run a command and read a version from its output, or report a fixed version. */
export interface ProbeSpec {
  component: string;
  command?: string[];
  /** Regular expression with one capture group for the version (default: the first x.y[.z]). */
  pattern?: string;
  version?: string;
}

export interface ZipDriverConfig {
  kind: 'zip';
  /** Folder with releases/, current, shared/ and the lock file. */
  root: string;
  /** Older releases kept besides current and the rollback package (default 0). */
  keepExtra?: number;
}

export interface ComposeDriverConfig {
  kind: 'compose';
  /** Folder holding the project's compose files (compose.yaml is the live one). */
  root: string;
  projectName: string;
  /** The docker binary (default `docker` on PATH). */
  docker?: string;
}

export type DriverConfig = ZipDriverConfig | ComposeDriverConfig;

export interface AgentConfig {
  /** Base URL of the API, e.g. https://api.example.com/prod/api/v1/deployment-server */
  api: string;
  targetId: string;
  /** Release-signing keys trusted by this host, pinned at enrollment. */
  trustedKeys: { keyId: string; publicKey: string }[];
  /** Distinct pinned keys that must have signed a release. */
  threshold: number;
  driver: DriverConfig;
  /** Folder of vendor hook scripts named after command types (e.g. run-migrations). */
  hooksDir?: string;
  /** The application's env file that install-secrets writes (mode 0600). */
  envFile: string;
  healthChecks: HealthCheckSpec[];
  probes: ProbeSpec[];
  intervals: { pollMs: number; heartbeatMs: number; attestationMs: number; commandHeartbeatMs: number; backoffCapMs: number };
  httpTimeoutMs: number;
  hookTimeoutMs: number;
}

export const DEFAULT_INTERVALS: AgentConfig['intervals'] = {
  pollMs: 5000,
  heartbeatMs: 60_000,
  attestationMs: 15 * 60_000,
  commandHeartbeatMs: 30_000,
  backoffCapMs: 5 * 60_000,
};

export interface Identity {
  attestationKey: Uint8Array;
  agentKey: Uint8Array;
  encryptionKey: string;
}

export interface PublicIdentity {
  publicKey: string;
  agentPublicKey: string;
  encryptionKey: string;
}

export const paths = (dir: string) => ({
  config: join(dir, 'agent.json'),
  keys: join(dir, 'keys'),
  attestationKey: join(dir, 'keys', 'attestation.key'),
  agentKey: join(dir, 'keys', 'agent.key'),
  encryptionKey: join(dir, 'keys', 'encryption.key'),
  token: join(dir, 'token'),
  state: join(dir, 'state.json'),
  journal: join(dir, 'journal.jsonl'),
  lock: join(dir, 'agent.pid'),
});

/** Generate the three key pairs on this host (once; existing keys are kept). Answers the public halves. */
export function initKeys(dir: string): PublicIdentity {
  const p = paths(dir);
  mkdirSync(p.keys, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  if (!existsSync(p.attestationKey)) writeFileDurable(p.attestationKey, `${encodeBase64(generateKeyPair().secretKey)}\n`);
  if (!existsSync(p.agentKey)) writeFileDurable(p.agentKey, `${encodeBase64(generateKeyPair().secretKey)}\n`);
  if (!existsSync(p.encryptionKey)) writeFileDurable(p.encryptionKey, `${generateRecipientKeyPair().privateKey}\n`);
  return publicIdentity(loadIdentity(dir));
}

function readSecretFile(file: string): string {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new Error(`${file} is readable by others (mode ${mode.toString(8)}); it must be 0600`);
  return readFileSync(file, 'utf8').trim();
}

export function loadIdentity(dir: string): Identity {
  const p = paths(dir);
  return {
    attestationKey: decodeBase64Strict(readSecretFile(p.attestationKey), SECRET_SEED_LENGTH),
    agentKey: decodeBase64Strict(readSecretFile(p.agentKey), SECRET_SEED_LENGTH),
    encryptionKey: readSecretFile(p.encryptionKey),
  };
}

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

export function publicIdentity(id: Identity): PublicIdentity {
  const priv = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, Buffer.from(decodeBase64Strict(id.encryptionKey, 32))]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return {
    publicKey: encodePublicKey(publicKeyFromSecret(id.attestationKey)),
    agentPublicKey: encodePublicKey(publicKeyFromSecret(id.agentKey)),
    encryptionKey: encodeBase64(new Uint8Array(spki.subarray(spki.length - 32))),
  };
}

export function loadToken(dir: string): string {
  return readSecretFile(paths(dir).token);
}

export function saveToken(dir: string, token: string): void {
  if (!/^\S{16,}$/.test(token)) throw new Error('the target token looks wrong (expected one word of 16+ characters)');
  writeFileDurable(paths(dir).token, `${token}\n`);
}

/** A pinned key from its base64 public key; its keyId is computed here, never trusted from input. */
export function pinKey(publicKeyBase64: string): { keyId: string; publicKey: string } {
  return { keyId: keyIdOf(parsePublicKey(publicKeyBase64)), publicKey: publicKeyBase64 };
}

export function loadConfig(dir: string): AgentConfig {
  const c = readJsonFile<AgentConfig>(paths(dir).config);
  if (!c) throw new Error(`${paths(dir).config} does not exist: run "dcp-agent enroll" first`);
  return { ...c, intervals: { ...DEFAULT_INTERVALS, ...c.intervals } };
}

export function saveConfig(dir: string, config: AgentConfig): void {
  writeFileDurable(paths(dir).config, `${JSON.stringify(config, null, 2)}\n`);
}
