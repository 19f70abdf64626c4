// `npm run bench [-- <section id>...]`: runs the benchmark sections, prints each as markdown and rewrites its
// part of BENCHMARKS.md (sections not run keep their previous results). Exits non-zero if a section reports
// a failure, e.g. a Lambda bundle over its size limit, or throws; a failing section does not stop the others.
//
// A section is a module exporting a Bench; add it to BENCHES below.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundles } from './bundles.js';
import { cedarBench } from './cedar.js';
import { decisions } from './decisions.js';
import { ed25519 } from './ed25519.js';
import { httpDecision } from './http-decision.js';
import { provisioning } from './provisioning.js';
import { rolloutPlan } from './rollout-plan.js';
import { agentInstall } from './agent.js';

export interface BenchContext {
  /** Repository root. */
  readonly root: string;
  /** Progress output (stderr), not part of the report. */
  log(message: string): void;
}

export interface BenchResult {
  /** Markdown body of the section (without its heading). */
  readonly markdown: string;
  /** Human-readable reasons to fail the run; empty when all is well. */
  readonly failures: readonly string[];
}

export interface Bench {
  /** Stable id: selects the section on the command line and marks it in BENCHMARKS.md. */
  readonly id: string;
  readonly title: string;
  run(context: BenchContext): Promise<BenchResult>;
}

const BENCHES: readonly Bench[] = [bundles, decisions, cedarBench, httpDecision, ed25519, rolloutPlan, provisioning, agentInstall];

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const REPORT = join(ROOT, 'BENCHMARKS.md');

const HEADER = `# Benchmarks

Produced by \`npm run bench\` (one section: \`npm run bench -- <id>\`); each section says when and on what
machine it was measured. Sections: ${BENCHES.map((bench) => `\`${bench.id}\``).join(', ')}.
`;

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((id) => !BENCHES.some((bench) => bench.id === id));
  if (unknown.length > 0) {
    throw new Error(`Unknown section(s) ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.id).join(', ')}`);
  }
  const selected = wanted.length > 0 ? BENCHES.filter((bench) => wanted.includes(bench.id)) : BENCHES;
  const context: BenchContext = { root: ROOT, log: (message) => process.stderr.write(`${message}\n`) };
  const machine = describeMachine();

  const sections = new Map(parseSections(existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : ''));
  const failures: string[] = [];
  for (const bench of selected) {
    context.log(`[bench] ${bench.id}: ${bench.title}`);
    const result = await runSection(bench, context);
    const body = `## ${bench.title}\n\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machine}.\n\n${result.markdown.trim()}\n`;
    process.stdout.write(`\n${body}`);
    sections.set(bench.id, body);
    failures.push(...result.failures.map((failure) => `${bench.id}: ${failure}`));
  }

  // Known sections in BENCHES order, then any others an older run left.
  const order = [...BENCHES.map((bench) => bench.id), ...[...sections.keys()].filter((id) => !BENCHES.some((b) => b.id === id))];
  const parts = order
    .filter((id) => sections.has(id))
    .map((id) => `<!-- bench:${id} -->\n${sections.get(id)!.trim()}\n<!-- /bench:${id} -->`);
  await writeFile(REPORT, `${HEADER}\n${parts.join('\n\n')}\n`);
  context.log(`[bench] wrote ${REPORT}`);

  if (failures.length > 0) {
    process.stderr.write(`\nFAILED:\n${failures.map((failure) => `- ${failure}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

/** A section that throws is reported as failed (in BENCHMARKS.md too) and the run goes on with the next. */
async function runSection(bench: Bench, context: BenchContext): Promise<BenchResult> {
  try {
    return await bench.run(context);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    context.log(`[bench] ${bench.id} failed: ${error instanceof Error ? (error.stack ?? message) : message}`);
    return { markdown: `**Not measured:** the section failed: ${message.split('\n')[0]}`, failures: [`failed: ${message.split('\n')[0]}`] };
  }
}

function parseSections(text: string): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  const pattern = /<!-- bench:([\w-]+) -->\n([\s\S]*?)\n<!-- \/bench:\1 -->/g;
  for (const match of text.matchAll(pattern)) found.push([match[1]!, match[2]!]);
  return found;
}

function describeMachine(): string {
  let cores = String(availableParallelism());
  try {
    cores = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // no coreutils: keep Node's count
  }
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    // not Linux
  }
  return `${model}, ${cores} cores (nproc), Node ${process.version}, ${process.platform}/${process.arch}`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
