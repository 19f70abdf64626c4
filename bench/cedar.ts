// The decision rules as Cedar policies (bench/cedar/decisions.cedar) evaluated by @cedar-policy/cedar-wasm,
// the engine behind Amazon Verified Permissions, next to decide() on the same fact sets in the same run.
// Before timing anything it checks that both give the same blocker codes for every fact set, so the rate
// compared is the rate of the same rules.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthorizationAnswer, CheckParseAnswer, DetailedError } from '@cedar-policy/cedar-wasm/nodejs';
import { BLOCKER_CODES, isBlockerCode } from '../functions/core/blockers.js';
import { decide, type DecideInput } from '../functions/core/decisions.js';
import { sampleFactSets } from '../test/unit/decisions/fixtures.js';
import { EXCLUDED_CODES, toCedarRequest, type CedarRequest } from './cedar/translate.js';
import { FACT_SET_SEED } from './decisions.js';
import {
  formatPerOp,
  formatRate,
  formatRatio,
  formatSpread,
  interleavedRates,
  roundRatio,
  verdict,
  type Contender,
  type RateResult,
} from './harness.js';
import type { Bench, BenchContext, BenchResult } from './index.js';

/** Goal: decide() at least this many times the Cedar rate. */
export const CEDAR_RATIO_GOAL = 10;
const FACT_SETS = 3000;
const POLICY_FILE = 'bench/cedar/decisions.cedar';
const POLICY_SET_ID = 'dcp-decisions';
const PERMIT_ID = 'allow';
/** A one-policy set: evaluating against it costs little beyond taking the request into Cedar. */
const BASELINE_SET_ID = 'permit-all';
const ROUNDS = 5;
const ROUND_MS = 400;

type CedarModule = typeof import('@cedar-policy/cedar-wasm/nodejs');

export const cedarBench: Bench = {
  id: 'cedar',
  title: 'Decisions as Cedar policies',
  run,
};

interface Case {
  readonly input: DecideInput;
  readonly request: CedarRequest;
}

async function run(context: BenchContext): Promise<BenchResult> {
  const cedar: CedarModule = await import('@cedar-policy/cedar-wasm/nodejs');
  const text = await readFile(join(context.root, POLICY_FILE), 'utf8');
  const policies = loadPolicies(cedar, text);
  const failures = [...policies.problems];
  if (failures.length > 0) return { markdown: `Policy set ${POLICY_FILE} is unusable.`, failures };
  const parsed = cedar.preparsePolicySet(POLICY_SET_ID, { staticPolicies: policies.byId });
  if (parsed.type !== 'success') {
    return { markdown: `Policy set ${POLICY_FILE} does not parse.`, failures: [`preparse: ${errorText(parsed)}`] };
  }
  const authorize = (request: CedarRequest): AuthorizationAnswer =>
    cedar.statefulIsAuthorized({ ...request, preparsedPolicySetId: POLICY_SET_ID });
  const baseline = cedar.preparsePolicySet(BASELINE_SET_ID, { staticPolicies: 'permit (principal, action, resource);' });
  if (baseline.type !== 'success') throw new Error(`permit-all policy set: ${errorText(baseline)}`);
  const ingest = (request: CedarRequest): AuthorizationAnswer =>
    cedar.statefulIsAuthorized({ ...request, preparsedPolicySetId: BASELINE_SET_ID });

  const inputs = sampleFactSets(FACT_SETS, FACT_SET_SEED);
  const cases: Case[] = inputs.map((input) => ({ input, request: toCedarRequest(input) }));

  // Same codes on both sides, every fact set, before any timing.
  context.log(`[bench] checking Cedar against decide() on ${cases.length} fact sets`);
  const excluded = new Set<string>(EXCLUDED_CODES);
  const mismatches: string[] = [];
  const codesSeen = new Set<string>();
  let excludedHits = 0;
  for (const [index, { input, request }] of cases.entries()) {
    const fromDecide = decide(input).blockers.map((b) => b.code);
    excludedHits += fromDecide.filter((code) => excluded.has(code)).length;
    const expected = fromDecide.filter((code) => !excluded.has(code)).sort();
    const answer = authorize(request);
    if (answer.type !== 'success') {
      mismatches.push(`fact set ${index}: Cedar failed: ${errorText(answer)}`);
      continue;
    }
    const { decision, diagnostics } = answer.response;
    if (diagnostics.errors.length > 0) {
      mismatches.push(`fact set ${index}: policy errors ${diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`).join('; ')}`);
      continue;
    }
    const actual = diagnostics.reason.filter((id) => id !== PERMIT_ID).sort();
    actual.forEach((code) => codesSeen.add(code));
    const expectedDecision = expected.length > 0 ? 'deny' : 'allow';
    if (actual.join() !== expected.join() || decision !== expectedDecision) {
      mismatches.push(
        `fact set ${index} (${input.facts.target.mode} ${input.action}): decide [${expected.join(', ')}], ` +
          `Cedar ${decision} [${actual.join(', ')}]`,
      );
    }
  }
  if (mismatches.length > 0) {
    failures.push(`${mismatches.length} of ${cases.length} fact sets differ, e.g. ${mismatches.slice(0, 5).join(' | ')}`);
    return { markdown: `Cedar and decide() disagree on ${mismatches.length} of ${cases.length} fact sets; not timed.`, failures };
  }
  const expressed = BLOCKER_CODES.filter((code) => !excluded.has(code));
  const neverRaised = expressed.filter((code) => !codesSeen.has(code));

  const hot = cases.filter((c) => c.input.action !== 'bind');
  context.log(`[bench] decide() vs Cedar: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms each`);
  const contenders: Contender<Case>[] = [
    { name: 'decide, provision + update', items: hot, run: (c) => decide(c.input).blockers.length },
    { name: 'Cedar, provision + update', items: hot, run: (c) => authorize(c.request).type },
    { name: 'translate + Cedar, provision + update', items: hot, run: (c) => authorize(toCedarRequest(c.input)).type },
    { name: 'Cedar permit-all, provision + update', items: hot, run: (c) => ingest(c.request).type },
    { name: 'decide, all actions', items: cases, run: (c) => decide(c.input).blockers.length },
    { name: 'Cedar, all actions', items: cases, run: (c) => authorize(c.request).type },
  ];
  const [decideHot, cedarHot, translatedHot, ingestHot, decideAll, cedarAll] = interleavedRates(contenders, {
    rounds: ROUNDS,
    roundMs: ROUND_MS,
  }) as [RateResult, RateResult, RateResult, RateResult, RateResult, RateResult];
  const ruleMicros = 1e6 / cedarHot.perSecond - 1e6 / ingestHot.perSecond;
  const requestBytes = hot.reduce((sum, c) => sum + JSON.stringify(c.request).length, 0) / hot.length;
  const ratioHot = roundRatio(decideHot, cedarHot);
  const ratioAll = roundRatio(decideAll, cedarAll);
  const row = (label: string, r: RateResult, ratio: string) =>
    `| ${label} | ${formatRate(r.perSecond)} | ${formatPerOp(r.perSecond)} | ${formatSpread(r)} | ${ratio} |`;

  const lines = [
    `The decision rules (docs/concepts.md) written as Cedar in \`${POLICY_FILE}\`: one \`forbid\` per blocker code with`,
    '`@id("CODE")`, and one `permit`; the determining forbid policies of a deny are its blocker codes. The',
    'policy set is parsed once (`preparsePolicySet`) and each request evaluated with `statefulIsAuthorized`',
    `of @cedar-policy/cedar-wasm ${cedar.getCedarVersion()} (the engine behind Amazon Verified Permissions), on the`,
    `same ${cases.length} fact sets as \`decisions\` (\`sampleFactSets(${FACT_SETS}, ${FACT_SET_SEED})\`).`,
    '`bench/cedar/translate.ts` turns each `DecideInput` into the request (principal `Target`, action, resource',
    '`Release`, context). *Cedar* rows time evaluation of requests translated beforehand; the *translate + Cedar*',
    'row includes building the request. Contenders ran interleaved in the same run on this shared machine;',
    '*decide / this* is the median over the rounds of the ratio within a round.',
    '',
    `Checked first: for all ${cases.length} fact sets the codes Cedar reports equal the codes of \`decide()\`, and so`,
    'does allow/deny (the bench fails otherwise).',
    '',
    '| contender | decisions/s | per decision | rounds (decisions/s) | decide / this |',
    '|---|---:|---:|---|---:|',
    row(`\`decide()\`, provision + update (${hot.length})`, decideHot, '1×'),
    row(`Cedar, provision + update (${hot.length})`, cedarHot, formatRatio(ratioHot)),
    row(`translate + Cedar, provision + update`, translatedHot, formatRatio(roundRatio(decideHot, translatedHot))),
    row(`Cedar with a one-policy permit-all set, provision + update`, ingestHot, formatRatio(roundRatio(decideHot, ingestHot))),
    row(`\`decide()\`, all actions (${cases.length})`, decideAll, '1×'),
    row(`Cedar, all actions (${cases.length})`, cedarAll, formatRatio(ratioAll)),
    '',
    `Goal: \`decide()\` ≥ ${CEDAR_RATIO_GOAL}× the Cedar rate — ${formatRatio(ratioHot)} for provision/update, ` +
      `${verdict(ratioHot >= CEDAR_RATIO_GOAL)}.`,
    'With bind in the mix `decide()` verifies Ed25519 signatures that the Cedar side does not, so the',
    'all-actions ratio is not like for like.',
    '',
    'Where the Cedar time goes: the same requests against a one-policy `permit` set cost',
    `${formatPerOp(ingestHot.perSecond)} each, most of the ${formatPerOp(cedarHot.perSecond)} of the real set: cedar-wasm converts the`,
    `JavaScript request (entities and context, ${(requestBytes / 1000).toFixed(1)} KB as JSON on average) into Cedar values on every call. Evaluating`,
    ...(ruleMicros > 0
      ? [
          `the ${Object.keys(policies.byId).length} policies adds about ${ruleMicros.toFixed(0)} µs on top; \`decide()\`, at ${formatPerOp(decideHot.perSecond)} for everything`,
          `(semver included, which the Cedar side gets precomputed), is ${formatRatio(ruleMicros * (decideHot.perSecond / 1e6))} faster than that part alone.`,
        ]
      : [`the ${Object.keys(policies.byId).length} policies added too little in this run to tell apart from the noise.`]),
    '',
    'What the translation precomputes, because Cedar cannot (the rules themselves are all in the .cedar file):',
    '',
    '- instants as epoch milliseconds, compared against `context.nowMs` (Cedar has no clock and the fact',
    '  timestamps are not in its `datetime` format); policy ages as milliseconds;',
    '- semver: for each runtime (reported and attested) the components whose version is unreadable or outside',
    "  the target policy's or the release's range; the release vs bound version order, the bound vs",
    '  `minUpgradeFrom` order, and which `requiredVersionsBefore` lie strictly between bound and new (Cedar has',
    '  no semver ordering and no quantifier over a set);',
    '- a required `a|b` runtime entry counts as provided when one alternative is present (no quantifier);',
    '- blank settings (empty strings, empty `sso` objects) are left out, so `has` means filled (no trim);',
    '- projections: ids of non-backward-compatible migrations, artifact kinds, secrets of the mode by source',
    '  (no filter, no lookup by a dynamic key).',
    '',
    `Not expressed in Cedar, excluded from both sides: ${EXCLUDED_CODES.map((c) => `\`${c}\``).join(', ')} — it counts`,
    "distinct trusted signers (status and validity window at receipt) against the policy's threshold (Cedar",
    'has no set size or iteration) and at bind re-verifies Ed25519 signatures. It was raised',
    `${excludedHits} times among these fact sets.`,
    ...(neverRaised.length > 0 ? ['', `Never raised in these fact sets (so not compared): ${neverRaised.map((c) => `\`${c}\``).join(', ')}.`] : []),
  ];
  return { markdown: lines.join('\n'), failures };
}

interface LoadedPolicies {
  readonly byId: Record<string, string>;
  readonly problems: string[];
}

/** Split the policy file into policies keyed by their @id, and check one forbid per expressed code. */
function loadPolicies(cedar: CedarModule, text: string): LoadedPolicies {
  const problems: string[] = [];
  const byId: Record<string, string> = {};
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') return { byId, problems: [`cannot split ${POLICY_FILE}: ${errorText(parts)}`] };
  for (const policy of parts.policies) {
    const json = cedar.policyToJson(policy);
    if (json.type !== 'success') {
      problems.push(`a policy does not parse: ${errorText(json)}`);
      continue;
    }
    const id = json.json.annotations?.id;
    if (!id) problems.push(`a policy has no @id: ${policy.slice(0, 80)}`);
    else if (byId[id] !== undefined) problems.push(`@id("${id}") is used twice`);
    else if (json.json.effect === 'forbid' && !isBlockerCode(id)) problems.push(`forbid @id("${id}") is not a blocker code`);
    else if (json.json.effect === 'permit' && id !== PERMIT_ID) problems.push(`permit @id("${id}") should be "${PERMIT_ID}"`);
    else byId[id] = policy;
  }
  const excluded = new Set<string>(EXCLUDED_CODES);
  for (const code of BLOCKER_CODES) {
    if (!excluded.has(code) && byId[code] === undefined) problems.push(`no forbid policy for ${code}`);
    if (excluded.has(code) && byId[code] !== undefined) problems.push(`${code} is excluded but has a policy`);
  }
  if (byId[PERMIT_ID] === undefined) problems.push(`no permit @id("${PERMIT_ID}")`);
  return { byId, problems };
}

function errorText(answer: CheckParseAnswer | { type: string; errors?: DetailedError[] }): string {
  return 'errors' in answer && answer.errors ? answer.errors.map((e) => e.message).join('; ') : answer.type;
}
