// Lambda bundles: size and module init time of every Lambda entry, bundled the way the CDK stack bundles it
// (infra/function.ts). Fails when a bundle is over the size limit or cannot even be imported.
import { ESM_REQUIRE_BANNER, EXTERNAL_MODULES } from '../infra/bundling.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { TABLE_IDS, tableEnvVar } from '../functions/core/tables.js';
import type { Bench, BenchContext, BenchResult } from './index.js';

/** Minified bundle limit, 1 KB = 1000 bytes. */
export const MAX_BUNDLE_BYTES = 500_000;
const INIT_RUNS = 7;

/** Folders whose modules are Lambda entries when they export `handler` (functions/api/lib/ is not one). */
const ENTRY_DIRS = ['functions/api', 'functions/custom', 'functions/steps'];

/**
 * The production esbuild settings, mirrored from the NodejsFunction bundling in infra/function.ts (ESM,
 * module-first main fields, createRequire banner, minified, no source maps, SDK bundled, the unused credential
 * providers external (infra/bundling.ts),
 * UTF-8) with the target of its runtime (NODEJS_24_X). Keep the two in step.
 */
export const PRODUCTION_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: false,
  charset: 'utf8',
  external: EXTERNAL_MODULES,
  banner: { js: ESM_REQUIRE_BANNER },
};

interface BundleRow {
  readonly entry: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly initMs?: number;
  readonly initError?: string;
  readonly largest: string;
}

export const bundles: Bench = {
  id: 'bundles',
  title: 'Lambda bundles',
  run,
};

async function run(context: BenchContext): Promise<BenchResult> {
  const candidates = await findCandidates(context.root);
  const outdir = join(context.root, '.cache', 'bench', 'bundles');
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });

  context.log(`[bench] bundling ${candidates.length} candidate entries`);
  const result = await build({
    ...PRODUCTION_BUNDLING,
    absWorkingDir: context.root,
    entryPoints: candidates,
    outdir,
    outbase: context.root,
    entryNames: '[dir]/[name]',
    outExtension: { '.js': '.mjs' },
    metafile: true,
    logLevel: 'warning',
  });
  // Kept for a closer look: npx esbuild --analyze is not needed, https://esbuild.github.io/analyze/ reads it.
  await writeFile(join(outdir, 'metafile.json'), JSON.stringify(result.metafile));

  const entries: Array<{ entry: string; file: string; output: Metafile['outputs'][string] }> = [];
  const skipped: string[] = [];
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (!output.entryPoint) continue;
    if (output.exports.includes('handler')) entries.push({ entry: output.entryPoint, file: join(context.root, file), output });
    else skipped.push(output.entryPoint);
  }
  entries.sort((a, b) => a.entry.localeCompare(b.entry));

  const env = lambdaLikeEnv();
  const empty = join(outdir, 'empty.mjs');
  await writeFile(empty, '');
  context.log(`[bench] init time: ${INIT_RUNS} fresh processes per bundle`);
  const emptyMs = median(await repeat(INIT_RUNS, () => importTime(empty, env)));

  const rows: BundleRow[] = [];
  for (const { entry, file, output } of entries) {
    const code = await readFile(file);
    let initMs: number | undefined;
    let initError: string | undefined;
    try {
      initMs = median(await repeat(INIT_RUNS, () => importTime(file, env)));
    } catch (error) {
      initError = error instanceof Error ? error.message : String(error);
    }
    rows.push({
      entry,
      bytes: code.length,
      gzipBytes: gzipSync(code).length,
      initMs,
      initError,
      largest: largestInputs(output.inputs),
    });
    context.log(`[bench]   ${entry}: ${kb(code.length)}, init ${initMs === undefined ? 'FAILED' : ms(initMs)}`);
  }

  const failures = [
    ...rows
      .filter((row) => row.bytes > MAX_BUNDLE_BYTES)
      .map((row) => `${row.entry} is ${kb(row.bytes)}, over the ${kb(MAX_BUNDLE_BYTES)} limit`),
    ...rows.filter((row) => row.initError).map((row) => `${row.entry} fails to load: ${row.initError}`),
  ];
  return { markdown: render(rows, emptyMs, skipped), failures };
}

async function findCandidates(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of ENTRY_DIRS) {
    const abs = join(root, dir);
    if (!existsSync(abs)) continue;
    for (const entry of await readdir(abs, { withFileTypes: true })) {
      // Only the folder's own files: functions/api/lib/** holds shared code, not entries.
      if (!entry.isFile() || !entry.name.endsWith('.ts') || /\.(test|d)\.ts$/.test(entry.name)) continue;
      found.push(`${dir}/${entry.name}`);
    }
  }
  return found.sort();
}

/** What a Lambda function sees at init: its table names, a region, credentials (never used at init). */
function lambdaLikeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NODE_ENV: 'production',
  };
  for (const id of TABLE_IDS) env[tableEnvVar(id)] = `bench-${id}`;
  return env;
}

// Measures only the import inside the fresh process, not Node's own start-up.
const IMPORT_TIMER =
  'const t = performance.now(); await import(process.env.BENCH_MODULE); ' +
  'process.stdout.write(String(performance.now() - t));';

function importTime(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolveTime, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', IMPORT_TIMER], {
      env: { ...env, BENCH_MODULE: pathToFileURL(file).href },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const value = Number(out);
      if (code === 0 && Number.isFinite(value) && out !== '') resolveTime(value);
      else reject(new Error(firstErrorLine(err) ?? `exit code ${code}`));
    });
  });
}

function firstErrorLine(stderr: string): string | undefined {
  return stderr.split('\n').find((line) => /Error/.test(line))?.trim() ?? stderr.trim().split('\n')[0];
}

async function repeat<T>(times: number, task: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < times; i++) results.push(await task()); // one at a time: parallel runs skew timings
  return results;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The three biggest contributors to a bundle: npm packages (scopes folded, except SDK clients) or our folders. */
function largestInputs(inputs: Metafile['outputs'][string]['inputs']): string {
  const bySource = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const key = sourceOf(path);
    bySource.set(key, (bySource.get(key) ?? 0) + bytesInOutput);
  }
  return [...bySource.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([source, bytes]) => `${source} ${kb(bytes)}`)
    .join(', ');
}

function sourceOf(path: string): string {
  const marker = 'node_modules/';
  const at = path.lastIndexOf(marker);
  if (at === -1) return path.split('/').slice(0, 2).join('/'); // e.g. functions/core
  const [first = '', second = ''] = path.slice(at + marker.length).split('/');
  if (!first.startsWith('@')) return first;
  if (first === '@aws-sdk' && second.startsWith('client-')) return `${first}/${second}`;
  return `${first}/*`;
}

function render(rows: readonly BundleRow[], emptyMs: number, skipped: readonly string[]): string {
  const lines = [
    'Each Lambda entry (the modules of `functions/api`, `functions/custom` and `functions/steps` that export',
    '`handler`) bundled with the production esbuild settings of `infra/function.ts`: ESM, minified,',
    'platform node, target node24, AWS SDK bundled, no source maps. *Init* is the time of `await import()`',
    `of the bundle in a fresh \`node\` process (median of ${INIT_RUNS}), next to the same for an empty module;`,
    `Node start-up itself is excluded. Limit: ${kb(MAX_BUNDLE_BYTES)} minified (1 KB = 1000 bytes).`,
    '',
    '| entry | minified | gzip | init | largest inputs |',
    '|---|---:|---:|---:|---|',
    ...rows.map(
      (row) =>
        `| \`${row.entry}\` | ${kb(row.bytes)}${row.bytes > MAX_BUNDLE_BYTES ? ' **over limit**' : ''} | ` +
        `${kb(row.gzipBytes)} | ${row.initMs === undefined ? `**fails:** ${escapeCell(row.initError ?? '')}` : ms(row.initMs)} | ` +
        `${row.largest} |`,
    ),
    `| *(empty module)* | 0 KB | – | ${ms(emptyMs)} | |`,
  ];
  if (rows.length === 0) lines.push('', 'No Lambda entries found.');
  if (skipped.length > 0) {
    lines.push('', `Not entries (no \`handler\` export): ${skipped.map((entry) => `\`${entry}\``).join(', ')}.`);
  }
  return lines.join('\n');
}

function kb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} KB`;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').slice(0, 200);
}

