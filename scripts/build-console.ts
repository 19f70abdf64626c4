// `npm run build:console`: builds the operator console (console/) with Vite into console/dist and records a
// hash of its sources there. With --if-stale (npm start, the test run, cdk bundling) it builds only when
// dist is missing or was built from other sources or dependencies than the ones checked out now.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CONSOLE = join(ROOT, 'console');
const DIST = join(CONSOLE, 'dist');
const STAMP = join(DIST, '.source-hash');
const INPUTS = ['index.html', 'vite.config.ts', 'tsconfig.json', 'src', 'public'];

function files(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(join(path, name)));
}

/** SHA-256 over every input file (path and content) and the lockfile (the versions of preact and vite). */
export function consoleSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [...INPUTS.flatMap((p) => files(join(CONSOLE, p))), join(ROOT, 'package-lock.json')]) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

export function consoleIsFresh(): boolean {
  try {
    return existsSync(join(DIST, 'index.html')) && readFileSync(STAMP, 'utf8').trim() === consoleSourceHash();
  } catch {
    return false;
  }
}

/** Build console/dist unless `ifStale` and it is current; answers whether it built. */
export async function buildConsole(opts: { ifStale?: boolean } = {}): Promise<boolean> {
  if (opts.ifStale && consoleIsFresh()) return false;
  const sourceHash = consoleSourceHash();
  const { build } = await import('vite');
  await build({ configFile: join(CONSOLE, 'vite.config.ts'), logLevel: 'warn' });
  writeFileSync(STAMP, `${sourceHash}\n`);
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const built = await buildConsole({ ifStale: process.argv.includes('--if-stale') });
  if (built) console.log(`Console built into ${relative(process.cwd(), DIST) || DIST} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
