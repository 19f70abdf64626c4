// The Lambda bundles the local runtime runs: every function entry of the template bundled by esbuild with the
// production settings (infra/bundling.ts: ESM, createRequire banner, minified, the SDK bundled, the unused
// credential providers external), so what runs locally is the code that deploys, not the source tree.
// Cached under DCP_CACHE_DIR/bundles by the hash of the function sources and the lockfile.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESM_REQUIRE_BANNER, EXTERNAL_MODULES } from '../infra/bundling.js';
import { PROJECT_ROOT, cacheDir, hashSources } from './deployment.js';

const BUNDLE_SOURCES = ['functions', 'package-lock.json', 'infra/bundling.ts'];

/** Entry (relative to the project root) → absolute path of its bundle (`.mjs`). */
export type BundleMap = Record<string, string>;

function outputName(entry: string): string {
  return entry.replace(/\.ts$/, '.mjs');
}

let building: Map<string, Promise<BundleMap>> | undefined;

/** Bundles of `entries`, built once per source hash (concurrent callers share one build). */
export async function lambdaBundles(entries: readonly string[]): Promise<BundleMap> {
  const sorted = [...new Set(entries)].sort();
  const hash = await hashSources(BUNDLE_SOURCES);
  const dir = join(cacheDir(), 'bundles', hash);
  const key = `${hash}:${sorted.join(',')}`;
  building ??= new Map();
  let pending = building.get(key);
  if (!pending) {
    pending = build(dir, sorted);
    building.set(key, pending);
    pending.catch(() => building?.delete(key));
  }
  return pending;
}

async function build(dir: string, entries: string[]): Promise<BundleMap> {
  const map: BundleMap = Object.fromEntries(entries.map((e) => [e, join(dir, outputName(e))]));
  const missing = entries.filter((e) => !existsSync(map[e]!));
  if (missing.length === 0) return map;
  const { build: esbuild } = await import('esbuild');
  // Built into a private folder and moved into place: a process that reads the cache never sees half a file.
  const tmp = `${dir}.${process.pid}.${Date.now()}.tmp`;
  await mkdir(tmp, { recursive: true });
  try {
    await esbuild({
      bundle: true,
      platform: 'node',
      format: 'esm',
      // Lambda's runtime is newer; the local runtime runs on the Node.js of this machine (>= 20).
      target: 'node20',
      mainFields: ['module', 'main'],
      minify: true,
      sourcemap: false,
      charset: 'utf8',
      external: EXTERNAL_MODULES,
      banner: { js: ESM_REQUIRE_BANNER },
      absWorkingDir: PROJECT_ROOT,
      entryPoints: missing,
      outdir: tmp,
      outbase: PROJECT_ROOT,
      entryNames: '[dir]/[name]',
      outExtension: { '.js': '.mjs' },
      logLevel: 'error',
    });
    await mkdir(dir, { recursive: true });
    for (const entry of missing) {
      const target = map[entry]!;
      await mkdir(join(target, '..'), { recursive: true });
      await rename(join(tmp, outputName(entry)), target).catch(async (e: NodeJS.ErrnoException) => {
        if (!existsSync(target)) throw e; // another process moved its copy first: the same bytes
      });
    }
    await writeFile(join(dir, '.complete'), '');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return map;
}
