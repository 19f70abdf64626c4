// `dcp`: the offline command-line side of release signing (SPEC §6) and config checks (SPEC §5). It runs
// the same core code as the control plane, so a manifest that verifies here verifies on publish, apart
// from what only the server knows (the key registry's state, published versions, the policy threshold).
//
// Key files hold one line of standard base64: `<prefix>.key` the 32-byte RFC 8032 secret seed (mode 0600),
// `<prefix>.pub` the 32-byte raw public key, exactly the `publicKey` that `POST /signing-keys` takes.
// Exit status: 0 success, 1 a check failed or a file could not be used, 2 a usage error.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeBase64Strict, encodeBase64 } from '../functions/core/crypto/base64.js';
import { generateKeyPair, keyIdOf, parsePublicKey, publicKeyFromSecret, SECRET_SEED_LENGTH } from '../functions/core/crypto/ed25519.js';
import { validateConfig } from '../functions/core/config-validation.js';
import { JsonSyntaxError, parseJsonStrict } from '../functions/core/json.js';
import { checkSignedContent, signManifest, verifyManifest, type ManifestRejection } from '../functions/core/manifest.js';
import { DEPLOYMENT_MODES, type DeploymentMode } from '../functions/core/policies.js';
import type { SigningKeyRecord } from '../functions/core/records.js';
import { releaseUpload, UPLOAD_HELP } from './upload.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  now(): Date;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  now: () => new Date(),
};

/** A failure the user can act on; the message is printed as is. */
class CliError extends Error {
  override readonly name = 'CliError';
  constructor(message: string, readonly exitCode: 1 | 2 = 1) {
    super(message);
  }
}

const usage = (message: string) => new CliError(`${message}\nRun "dcp --help" for usage.`, 2);

const HELP = `dcp — Deployment Control Plane command-line tool (works offline)

Usage:
  dcp keys generate [--out <prefix>] [--force]
      Create an Ed25519 release-signing key pair: <prefix>.key (secret seed, mode 0600) and <prefix>.pub.
      Prints the keyId and the public key to register with POST /signing-keys. Default prefix:
      release-signing. Existing files are kept unless --force is given.
  dcp keys id <key.pub>
      Print the keyId (lowercase hex SHA-256 of the raw public key).
  dcp release sign <manifest.json> --key <file.key> [--out <file> | --out -]
      Check the manifest's signed content, then add this key's signature (replacing an earlier one by the
      same key). The input may be an envelope {signed, signatures} or a bare signed object. Writes the
      file in place unless --out is given ("-" for standard output).
  dcp release verify <manifest.json> --pub <file.pub> [--pub <file.pub> ...] [--threshold <n>]
      Verify signatures (strict RFC 8032 over RFC 8785 bytes), expiry, config, migrations and artifacts,
      trusting only the given keys. Default threshold: 1.
${UPLOAD_HELP}
  dcp package validate-config <file> --mode <mode>
      Validate a .env file (or a JSON object of strings, for *.json) for a deployment mode:
      ${DEPLOYMENT_MODES.join(', ')}.

Key files hold one line of standard base64 (32 bytes). Exit status: 0 ok, 1 check failed, 2 usage error.`;

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

function parse<const O extends OptionSpec>(args: string[], options: O) {
  const config = { args, options: { ...options, help: { type: 'boolean', short: 'h' } } as const, allowPositionals: true, strict: true } as const;
  try {
    return parseArgs(config);
  } catch (error) {
    throw usage((error as Error).message);
  }
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`Cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function readKeyLine(path: string, what: string): Uint8Array {
  const text = readText(path, what).replace(/\r?\n$/, '');
  try {
    return decodeBase64Strict(text, 32);
  } catch (error) {
    throw new CliError(`${path} is not a ${what} file (one line of base64, 32 bytes): ${(error as Error).message}`);
  }
}

function readJson(path: string): unknown {
  const text = readText(path, 'manifest');
  try {
    return parseJsonStrict(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new CliError(`${path} is not valid JSON: ${error.message}`);
    throw error;
  }
}

function reportRejection(rejection: ManifestRejection): never {
  const lines = [`${rejection.code}: ${rejection.detail}`, ...(rejection.errors ?? []).map((e) => `  ${e.path || '/'}: ${e.message}`)];
  throw new CliError(lines.join('\n'));
}

function keysGenerate(io: CliIo, args: string[]): number {
  const { values, positionals } = parse(args, { out: { type: 'string', short: 'o' }, force: { type: 'boolean' } });
  if (values.help) return help(io);
  if (positionals.length > 0) throw usage(`Unexpected argument: ${positionals[0]}`);
  const prefix = (values.out as string | undefined) ?? 'release-signing';
  const { secretKey, publicKey } = generateKeyPair();
  const flag = values.force ? 'w' : 'wx';
  try {
    writeFileSync(`${prefix}.key`, `${encodeBase64(secretKey)}\n`, { mode: 0o600, flag });
    writeFileSync(`${prefix}.pub`, `${encodeBase64(publicKey)}\n`, { mode: 0o644, flag });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(code === 'EEXIST' ? `${prefix}.key or ${prefix}.pub already exists; use --force to replace it.` : `Cannot write key files: ${code ?? (error as Error).message}`);
  }
  io.out(`keyId: ${keyIdOf(publicKey)}`);
  io.out(`publicKey: ${encodeBase64(publicKey)}`);
  io.out(`wrote ${prefix}.key (secret, mode 0600) and ${prefix}.pub`);
  return 0;
}

function keysId(io: CliIo, args: string[]): number {
  const { values, positionals } = parse(args, {});
  if (values.help) return help(io);
  if (positionals.length !== 1) throw usage('keys id takes one public key file');
  const publicKey = readKeyLine(positionals[0]!, 'public key');
  io.out(keyIdOf(publicKey));
  return 0;
}

function releaseSign(io: CliIo, args: string[]): number {
  const { values, positionals } = parse(args, { key: { type: 'string', short: 'k' }, out: { type: 'string', short: 'o' } });
  if (values.help) return help(io);
  if (positionals.length !== 1) throw usage('release sign takes one manifest file');
  if (typeof values.key !== 'string') throw usage('release sign needs --key <file.key>');
  const path = positionals[0]!;
  const input = readJson(path);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new CliError(`${path} does not hold a JSON object.`);
  const record = input as Record<string, unknown>;
  let manifest: { signed: Record<string, unknown>; signatures: { keyId: string; sig: string }[] };
  if ('signed' in record) {
    const extra = Object.keys(record).filter((k) => k !== 'signed' && k !== 'signatures');
    if (extra.length > 0) throw new CliError(`The manifest envelope has unexpected members: ${extra.join(', ')}.`);
    const signed = record.signed;
    if (signed === null || typeof signed !== 'object' || Array.isArray(signed)) throw new CliError('"signed" must be an object.');
    const signatures = record.signatures ?? [];
    if (!Array.isArray(signatures) || signatures.some((s) => typeof s?.keyId !== 'string' || typeof s?.sig !== 'string')) {
      throw new CliError('"signatures" must be a list of {keyId, sig}.');
    }
    manifest = { signed: signed as Record<string, unknown>, signatures: signatures as { keyId: string; sig: string }[] };
  } else {
    manifest = { signed: record, signatures: [] };
  }
  const content = checkSignedContent(manifest.signed);
  if (!content.ok) reportRejection(content);
  if (Date.parse(content.value.expiresAt) <= io.now().getTime()) io.err(`warning: the release expired at ${content.value.expiresAt}; publishing it will fail.`);

  const secretKey = readKeyLine(values.key, 'secret key');
  warnIfExposed(io, values.key);
  if (secretKey.length !== SECRET_SEED_LENGTH) throw new CliError('A secret key is a 32-byte seed.');
  const publicKey = publicKeyFromSecret(secretKey);
  const signed = signManifest(manifest, secretKey, publicKey);
  const text = `${JSON.stringify(signed, null, 2)}\n`;
  const out = (values.out as string | undefined) ?? path;
  if (out === '-') {
    process.stdout.write(text);
    io.err(`signed ${content.value.version} with key ${keyIdOf(publicKey)}`);
  } else {
    try {
      writeFileSync(out, text);
    } catch (error) {
      throw new CliError(`Cannot write ${out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    io.out(`signed ${content.value.version} with key ${keyIdOf(publicKey)} (${signed.signatures.length} signature${signed.signatures.length === 1 ? '' : 's'}) -> ${out}`);
  }
  return 0;
}

function warnIfExposed(io: CliIo, path: string): void {
  try {
    if ((statSync(path).mode & 0o077) !== 0) io.err(`warning: ${path} is readable by other users; chmod 600 it.`);
  } catch {
    // Already read successfully; a failing stat only loses the warning.
  }
}

function releaseVerify(io: CliIo, args: string[]): number {
  const { values, positionals } = parse(args, {
    pub: { type: 'string', short: 'p', multiple: true },
    threshold: { type: 'string', short: 't' },
  });
  if (values.help) return help(io);
  if (positionals.length !== 1) throw usage('release verify takes one manifest file');
  const pubs = (values.pub as string[] | undefined) ?? [];
  if (pubs.length === 0) throw usage('release verify needs at least one --pub <file.pub>');
  const threshold = values.threshold === undefined ? 1 : Number(values.threshold);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 16) throw usage('--threshold must be an integer from 1 to 16');
  const keys: SigningKeyRecord[] = pubs.map((file) => {
    const raw = readKeyLine(file, 'public key');
    let publicKey: string;
    try {
      publicKey = encodeBase64(parsePublicKey(encodeBase64(raw)));
    } catch (error) {
      throw new CliError(`${file}: ${(error as Error).message}`);
    }
    return { keyId: keyIdOf(raw), publicKey, status: 'active', notBefore: new Date(0).toISOString(), createdAt: new Date(0).toISOString() };
  });
  const result = verifyManifest(readJson(positionals[0]!), { trustedKeys: keys, threshold, now: io.now(), channelVersions: [] });
  if (!result.ok) reportRejection(result);
  io.out(`verified ${result.release.version} (channel ${result.release.channel}): ${result.validSignerKeyIds.length} valid signature(s), threshold ${threshold}`);
  for (const keyId of result.validSignerKeyIds) io.out(`  signed by ${keyId}`);
  return 0;
}

function packageValidateConfig(io: CliIo, args: string[]): number {
  const { values, positionals } = parse(args, { mode: { type: 'string', short: 'm' } });
  if (values.help) return help(io);
  if (positionals.length !== 1) throw usage('package validate-config takes one file');
  const mode = values.mode as string | undefined;
  if (!mode || !(DEPLOYMENT_MODES as readonly string[]).includes(mode)) throw usage(`--mode must be one of: ${DEPLOYMENT_MODES.join(', ')}`);
  const path = positionals[0]!;
  let env: Record<string, string> | string;
  if (path.endsWith('.json')) {
    const value = readJson(path);
    if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
      throw new CliError(`${path} must hold a JSON object of string values.`);
    }
    env = value as Record<string, string>;
  } else {
    env = readText(path, 'config file');
  }
  const result = validateConfig(mode as DeploymentMode, env);
  if (result.valid) {
    io.out(`${path}: valid for ${mode}`);
    return 0;
  }
  const lines = result.violations.map((v) => `  ${v.line !== undefined ? `line ${v.line}: ` : ''}${v.key} ${v.code}: ${v.message}`);
  throw new CliError([`${path}: ${result.violations.length} violation(s) for ${mode}`, ...lines].join('\n'));
}

function help(io: CliIo): number {
  io.out(HELP);
  return 0;
}

const COMMANDS: Record<string, (io: CliIo, args: string[]) => number> = {
  'keys generate': keysGenerate,
  'keys id': keysId,
  'release sign': releaseSign,
  'release verify': releaseVerify,
  'package validate-config': packageValidateConfig,
};

/** Like main, with the commands that talk to the control plane (`release upload`). */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  if (argv[0] === 'release' && argv[1] === 'upload') {
    try {
      return await releaseUpload(io, argv.slice(2));
    } catch (error) {
      io.err(`dcp: upload failed: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  }
  return main(argv, io);
}

/** Run one command line; answers the exit status instead of exiting, so tests can call it in process. */
export function main(argv: readonly string[], io: CliIo = processIo): number {
  const [group, command, ...rest] = argv;
  if (group === undefined || group === '--help' || group === '-h' || group === 'help') return help(io);
  try {
    const run = command === undefined ? undefined : COMMANDS[`${group} ${command}`];
    if (!run) {
      if (command === '--help' || command === '-h') return help(io);
      throw usage(`Unknown command: dcp ${[group, command].filter(Boolean).join(' ')}`);
    }
    return run(io, rest);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`dcp: ${error.message}`);
      return error.exitCode;
    }
    io.err(`dcp: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
