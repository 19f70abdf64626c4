// `npm run check:grants`: least-privilege evidence for every function of the stack.
//
// 1. Runs the integration tests with the local runtime recording every IAM allow (local/iam.ts,
//    DCP_IAM_USAGE_FILE): which statement of which role allowed which action on which resource, in which test
//    file.
// 2. Writes docs/grants.md: per function, each statement of its synthesized policy, the actions the suite used
//    and the ones it did not, with the reason for each statement the suite never exercises.
// 3. Drops grants one at a time (DCP_IAM_DROP) and re-runs the test files that used it: each drop must make
//    a test fail. By default one exercised statement per function (every function covered); `--all` drops
//    every exercised statement; `--only <role logical id>` limits it to one role.
//
// Exit code 1 when a drop leaves every test passing (a grant no test depends on) or when a statement is neither
// exercised nor justified below.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PROJECT_ROOT, resolveDeployment, templateSnapshot, type LocalFunction, type PolicyStatement } from '../local/deployment.js';

/**
 * Statements the local runtime cannot exercise, because the caller is not the function's code but the Lambda
 * service itself on the function's behalf, and why they are needed.
 */
const SERVICE_USED: { match: (s: PolicyStatement) => boolean; why: string }[] = [
  { match: (s) => actions(s).every((a) => a.startsWith('logs:')), why: 'Lambda writes the function’s log lines to its log group with the role (no local CloudWatch Logs).' },
  { match: (s) => actions(s).every((a) => a.startsWith('xray:')), why: 'Active tracing: the Lambda service sends trace segments with the role (no local X-Ray).' },
];

/** Statements the suite does not reach on purpose, each with the reason it stays. */
const JUSTIFIED: { role: RegExp; match: (s: PolicyStatement) => boolean; why: string }[] = [
  {
    role: /BootstrapAdminProviderframework/,
    match: () => true,
    why: 'The CDK custom-resource provider framework calls the bootstrap function during deploys only.',
  },
  {
    role: /.*/,
    match: (s) => actions(s).includes('lambda:InvokeFunction') && JSON.stringify(s.Resource).includes('BootstrapAdmin'),
    why: 'CloudFormation invokes the bootstrap-token function during deploys only.',
  },
];

interface Usage {
  role: string;
  statement: string;
  action: string;
  resource: string;
  test?: string;
}

function actions(s: PolicyStatement): string[] {
  return [s.Action ?? []].flat();
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  const all = process.argv.includes('--all');
  const onlyIndex = process.argv.indexOf('--only');
  const only = onlyIndex > 0 ? process.argv[onlyIndex + 1] : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'dcp-grants-'));
  const usageFile = join(dir, 'usage.jsonl');
  await writeFile(usageFile, '');

  console.log('[check:grants] running the integration tests with IAM usage recorded');
  const code = await run('npx', ['vitest', 'run', 'test/integration'], { DCP_IAM_USAGE_FILE: usageFile });
  if (code !== 0) throw new Error(`the integration tests failed (${code}) before any grant was dropped`);
  const usage = (await readFile(usageFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Usage);

  const deployment = resolveDeployment(await templateSnapshot(), { tablePrefix: 'x_' });
  const byRole = new Map<string, LocalFunction[]>();
  for (const fn of deployment.functions) byRole.set(fn.role.logicalId, [...(byRole.get(fn.role.logicalId) ?? []), fn]);

  const lines = [
    '# Grants: used by the test suite vs granted',
    '',
    'Written by `npm run check:grants` (scripts/check-grants.ts) from the synthesized template and the IAM',
    'allows the local runtime recorded while `test/integration` ran. A statement is named `<policy>#<index>`.',
    '',
  ];
  const unexplained: string[] = [];
  const candidates: { role: string; statement: string; files: string[] }[] = [];
  for (const [roleId, fns] of [...byRole].sort()) {
    const role = fns[0]!.role;
    lines.push(`## ${fns.map((f) => f.entry ?? f.logicalId).join(', ')}`, '', `Role \`${roleId}\`.`, '', '| statement | actions | used by the suite | not used |', '|---|---|---|---|');
    for (const policy of role.policies) {
      policy.document.Statement.forEach((s, i) => {
        const id = `${policy.name}#${i}`;
        const used = usage.filter((u) => u.role === roleId && u.statement === id);
        const usedActions = [...new Set(used.map((u) => u.action))].sort();
        const unused = actions(s).filter((a) => !usedActions.includes(a));
        let note = unused.join(', ');
        if (used.length === 0) {
          const service = SERVICE_USED.find((x) => x.match(s));
          const justified = JUSTIFIED.find((x) => x.role.test(roleId) && x.match(s));
          if (service || justified) note = `${note} — ${(service ?? justified)!.why}`;
          else unexplained.push(`${roleId} ${id} ${actions(s).join(',')}`);
        } else {
          candidates.push({ role: roleId, statement: id, files: [...new Set(used.map((u) => u.test).filter(Boolean) as string[])] });
        }
        lines.push(`| ${id} | ${actions(s).join(', ')} | ${usedActions.join(', ') || '—'} | ${note || '—'} |`);
      });
    }
    lines.push('');
  }
  await writeFile(join(PROJECT_ROOT, 'docs', 'grants.md'), `${lines.join('\n')}\n`);
  console.log('[check:grants] wrote docs/grants.md');

  // One exercised statement per role (the one used by the fewest files: the cheapest to re-run), or all.
  const chosen = new Map<string, (typeof candidates)[number][]>();
  for (const c of candidates) {
    if (only && c.role !== only) continue;
    chosen.set(c.role, [...(chosen.get(c.role) ?? []), c]);
  }
  const drops = [...chosen.values()].flatMap((list) => (all ? list : [list.sort((a, b) => a.files.length - b.files.length)[0]!]));
  const survivors: string[] = [];
  for (const d of drops) {
    const files = d.files.map((f) => relative(PROJECT_ROOT, f));
    const exit = await run('npx', ['vitest', 'run', ...files], { DCP_IAM_DROP: `${d.role}:${d.statement}` });
    const verdict = exit === 0 ? 'NO TEST FAILED' : 'a test failed';
    console.log(`[check:grants] without ${d.role} ${d.statement}: ${verdict} (${files.join(' ')})`);
    if (exit === 0) survivors.push(`${d.role} ${d.statement}`);
  }
  await rm(dir, { recursive: true, force: true });
  if (unexplained.length > 0) console.error(`[check:grants] statements neither exercised nor justified:\n  ${unexplained.join('\n  ')}`);
  if (survivors.length > 0) console.error(`[check:grants] grants no test depends on:\n  ${survivors.join('\n  ')}`);
  console.log(`[check:grants] ${drops.length} grant(s) dropped in turn, ${drops.length - survivors.length} made a test fail`);
  if (unexplained.length > 0 || survivors.length > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
