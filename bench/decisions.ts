// Pure decisions per second on one core: `decide()` over the reproducible fact sets of the decision tests
// (test/unit/decisions/fixtures.ts), per action, because a bind decision re-verifies every Ed25519 signature
// of the stored manifest while provision and update only re-judge the signers recorded at publish.
import { decide, type DecideInput } from '../functions/core/decisions.js';
import { sampleFactSets } from '../test/unit/decisions/fixtures.js';
import {
  formatPerOp,
  formatRate,
  formatSpread,
  interleavedRates,
  verdict,
  type Contender,
} from './harness.js';
import type { Bench, BenchContext, BenchResult } from './index.js';

/** Goal for provision and update decisions (the rollout hot path). */
export const DECISIONS_GOAL_PER_SECOND = 100_000;
export const FACT_SET_SEED = 20261201;
const FACT_SETS = 3000;
const ROUNDS = 5;
const ROUND_MS = 400; // 2 s per contender

export const decisions: Bench = {
  id: 'decisions',
  title: 'Pure decisions',
  run,
};

interface Group {
  readonly name: string;
  readonly items: readonly DecideInput[];
}

async function run(context: BenchContext): Promise<BenchResult> {
  const all = sampleFactSets(FACT_SETS, FACT_SET_SEED);
  const groups: Group[] = [
    { name: 'provision + update', items: all.filter((i) => i.action !== 'bind') },
    { name: 'provision', items: all.filter((i) => i.action === 'provision') },
    { name: 'update', items: all.filter((i) => i.action === 'update') },
    { name: 'bind', items: all.filter((i) => i.action === 'bind') },
    { name: 'all actions (mix)', items: all },
  ];
  context.log(`[bench] decide() on ${all.length} fact sets, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms per group`);
  const contenders: Contender<DecideInput>[] = groups.map((g) => ({ name: g.name, items: g.items, run: (i) => decide(i).blockers.length }));
  const results = interleavedRates(contenders, { rounds: ROUNDS, roundMs: ROUND_MS });

  const rows = groups.map((group, index) => {
    const result = results[index]!;
    const denied = group.items.filter((i) => decide(i).decision === 'deny').length;
    return { group, result, denyShare: denied / group.items.length };
  });
  const hot = rows[0]!.result.perSecond;
  const lines = [
    `\`decide()\` (functions/core/decisions.ts) in a loop on the main thread (one core) over ${all.length} fact sets from`,
    `\`sampleFactSets(${FACT_SETS}, ${FACT_SET_SEED})\` (test/unit/decisions/fixtures.ts: random mode, action and clock, each`,
    `applicable fault with probability 1/8). Each group ran for ${(ROUNDS * ROUND_MS) / 1000} s in ${ROUNDS} rounds interleaved with the`,
    'other groups, so a burst of noise on this shared machine hits them all; *rounds* is the lowest–highest',
    "rate of a single round. A bind decision re-verifies the stored manifest's Ed25519 signatures; provision",
    'and update only re-judge the signers recorded at publish against the trust set.',
    '',
    '| inputs | fact sets | denied | decisions/s | per decision | rounds (decisions/s) |',
    '|---|---:|---:|---:|---:|---|',
    ...rows.map(
      ({ group, result, denyShare }) =>
        `| ${group.name} | ${group.items.length} | ${(denyShare * 100).toFixed(0)}% | ${formatRate(result.perSecond)} | ` +
        `${formatPerOp(result.perSecond)} | ${formatSpread(result)} |`,
    ),
    '',
    `Goal: ≥ ${formatRate(DECISIONS_GOAL_PER_SECOND)} for provision/update on one core — ${formatRate(hot)} measured, ` +
      `${verdict(hot >= DECISIONS_GOAL_PER_SECOND)}.`,
  ];
  return { markdown: lines.join('\n'), failures: [] };
}
