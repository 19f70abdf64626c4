// Runtime judgement (SPEC §2.1): which runtime a decision looks at, how component versions are read, and
// which required components or version ranges it fails. Pure; decisions.ts turns the problems into
// UNSUPPORTED_RUNTIME.
import semver from 'semver';
import { BoundedMemo } from './memo.js';
import type { AttestationRecord, Runtime, TargetRecord } from './records.js';

export interface JudgedRuntime {
  readonly runtime: Runtime;
  readonly source: 'attestation' | 'reported';
  /** When the runtime was stated: the attestation's issuedAt or the target's runtimeReportedAt. */
  readonly at: string;
}

/** An attestation whose runtime can be believed: it passed when received and verified for this target. */
export function isPassingAttestation(target: Pick<TargetRecord, 'id'>, attestation: AttestationRecord | undefined): attestation is AttestationRecord {
  return (
    attestation !== undefined &&
    attestation.result === 'passed' &&
    attestation.signatureValid &&
    attestation.statement.targetId === target.id
  );
}

/**
 * The runtime a decision judges. SPEC §2.1 names the latest passing attestation's runtime, and the latest
 * reported runtime where the mode requires no attestation and none exists. Facts hold only the `latest`
 * attestation item (one BatchGetItem, no Query), so:
 * - latest attestation passed → its runtime (it is signed by the target, so it wins over reported data);
 * - otherwise (none, or the latest failed) → the reported runtime. In modes that require attestation that
 *   case is already a deny through ATTESTATION_MISSING / ATTESTATION_FAILED, so the reported runtime is only
 *   judged to give the operator every problem at once, never to allow on unsigned data.
 * A stale but passing attestation is still the judged runtime; staleness is ATTESTATION_STALE's business.
 */
export function judgedRuntime(target: TargetRecord, attestation: AttestationRecord | undefined): JudgedRuntime {
  if (isPassingAttestation(target, attestation)) {
    return { runtime: attestation.statement.runtime, source: 'attestation', at: attestation.statement.issuedAt };
  }
  return { runtime: target.runtime, source: 'reported', at: target.runtimeReportedAt };
}

// First identifiers that mark a real pre-release (`8.4.0RC1`, `3.0.0-beta.1`). Any other suffix is a
// distribution or build flavour (`1.24.0-alpine`, `15.4-1.pgdg120+1`, `7.2.4-bookworm`) and is dropped:
// under semver it would sort *below* the release (1.24.0-alpine < 1.24.0) and fail `>=1.24` wrongly.
const PRERELEASE_LABEL = /^(alpha|beta|rc|pre|preview|dev|snapshot|canary|nightly|next|ea|a|b)$/;
// A suffix follows a separator or starts with a letter (`8.4.0RC1`); digits running on are not a suffix.
const VERSION_TEXT =
  /^\s*[vV=]?\s*(\d{1,15})(?:\.(\d{1,15}))?(?:\.(\d{1,15}))?(?:[-_.~]([0-9A-Za-z][0-9A-Za-z.-]*)|([A-Za-z][0-9A-Za-z.-]*))?(?:\+[0-9A-Za-z.+-]*)?(?:\s.*)?$/;

// Reported versions repeat across targets and decisions: coerceVersion is memoized by the raw text ('' marks
// "not a version", which no coerced version can be).
const NOT_A_VERSION = '';
const COERCED = new BoundedMemo<string>(4096);

/**
 * A reported component version as a semver version, or undefined when it is not a version at all
 * (`latest`, `abc`, empty). `8.3` → `8.3.0`, `v20` → `20.0.0`, `8.3.1-beta` → `8.3.1-beta`,
 * `8.4.0RC1` → `8.4.0-rc.1`, `1.24.0-alpine` → `1.24.0`, `15.4 (Debian 15.4-1)` → `15.4.0`.
 */
export function coerceVersion(raw: string): string | undefined {
  const version = COERCED.get(raw) ?? COERCED.set(raw, readVersion(raw) ?? NOT_A_VERSION);
  return version === NOT_A_VERSION ? undefined : version;
}

function readVersion(raw: string): string | undefined {
  const m = VERSION_TEXT.exec(raw);
  if (!m) return undefined;
  const [, major, minor = '0', patch = '0', separated, attached] = m;
  const suffix = separated ?? attached;
  let version = `${Number(major)}.${Number(minor)}.${Number(patch)}`;
  if (suffix) {
    // Split letter/digit runs so `rc1` and `RC.1` both become `rc.1` and order numerically.
    const ids = suffix
      .toLowerCase()
      .split(/[.-]/)
      .flatMap((part) => part.match(/[a-z]+|\d+/g) ?? [])
      .map((id) => (/^\d+$/.test(id) ? id.replace(/^0+(?=\d)/, '') : id));
    if (ids.length > 0 && PRERELEASE_LABEL.test(ids[0]!)) version += `-${ids.join('.')}`;
  }
  return semver.valid(version) ?? undefined;
}

/**
 * Does `version` (already coerced) satisfy `range`? Pre-releases count against ordinary ranges
 * (`8.4.0-rc.1` satisfies `>=8.2`) but still sort below their release (`8.3.1-beta` fails `>=8.3.1`).
 * Undefined when the range itself does not parse.
 */
export function satisfiesRange(version: string, range: string): boolean | undefined {
  const checks = rangeChecks(range);
  if (checks === undefined) return undefined;
  const hit = checks.satisfiedBy.get(version);
  return hit ?? checks.satisfiedBy.set(version, semver.satisfies(version, range, RANGE_OPTIONS));
}

const RANGE_OPTIONS = { includePrerelease: true } as const;

/** What is remembered about one range: whether coerced versions satisfy it, and the outcome per reported text. */
interface RangeChecks {
  readonly satisfiedBy: BoundedMemo<boolean>;
  readonly outcomeOf: BoundedMemo<RangeOutcome>;
}

type RangeOutcome = 'ok' | Exclude<RuntimeProblemKind, 'missing'>;

// Policies and manifests name few distinct ranges; each one is parsed (validRange) once. `null`: invalid.
const RANGES = new BoundedMemo<RangeChecks | null>(512);

function rangeChecks(range: string): RangeChecks | undefined {
  let checks = RANGES.get(range);
  if (checks === undefined) {
    checks = RANGES.set(
      range,
      semver.validRange(range, RANGE_OPTIONS) === null
        ? null
        : { satisfiedBy: new BoundedMemo<boolean>(1024), outcomeOf: new BoundedMemo<RangeOutcome>(1024) },
    );
  }
  return checks ?? undefined;
}

/** How a reported (raw) version fares against a range: the runtimeProblems check of one component. */
function rangeOutcome(reported: string, range: string): RangeOutcome {
  const checks = rangeChecks(range);
  const hit = checks?.outcomeOf.get(reported);
  if (hit !== undefined) return hit;
  const version = coerceVersion(reported);
  const outcome: RangeOutcome =
    version === undefined
      ? 'unparseable-version'
      : checks === undefined
        ? 'invalid-range'
        : satisfiesRange(version, range)
          ? 'ok'
          : 'out-of-range';
  return checks ? checks.outcomeOf.set(reported, outcome) : outcome;
}

export type RuntimeProblemKind = 'missing' | 'unparseable-version' | 'out-of-range' | 'invalid-range';

export interface RuntimeProblem {
  readonly kind: RuntimeProblemKind;
  /** The component, or `a|b` for a missing alternative. */
  readonly component: string;
  readonly version?: string;
  readonly range?: string;
  /** Who set the range: `target policy` or `release <id>`. */
  readonly rangeSource?: string;
  readonly message: string;
}

export interface RangeSet {
  /** Human name of who demands the ranges, used in messages. */
  readonly source: string;
  readonly ranges: Readonly<Record<string, string>>;
}

function present(runtime: Runtime, component: string): boolean {
  const v = runtime[component];
  return typeof v === 'string' && (startsVisibly(v) || v.trim() !== '');
}

/**
 * Whether the text starts with a character `trim()` keeps: codes 33–159 are never whitespace (every
 * whitespace or line terminator JS trims is ≤ 32 or ≥ 160). A cheap answer for the usual `8.3`.
 */
function startsVisibly(text: string): boolean {
  return !isTrimmable(text.charCodeAt(0));
}

/** Might `trim()` remove this character? False for codes 33–159; NaN (no character) counts as true. */
function isTrimmable(code: number): boolean {
  return !(code > 32 && code < 160);
}

/**
 * Problems of a runtime: each required component (`a|b` = either) must be present, and every *present*
 * component that a range set names must have a version inside the range. Ranges of absent components are
 * not checked — `mysql >=8.0` says nothing to a PostgreSQL install, and a release's `php` range says
 * nothing to a SaaS runtime whose components are services. A version that cannot be read fails any range.
 * Order is deterministic: missing components in the required list's order, then range problems by range set
 * and component name.
 */
export function runtimeProblems(
  runtime: Runtime,
  required: readonly string[],
  rangeSets: readonly RangeSet[],
): RuntimeProblem[] {
  const problems: RuntimeProblem[] = [];
  for (const entry of required) {
    if (!entry.includes('|')) {
      // One component (the usual entry): no alternatives to parse.
      const component = startsVisibly(entry) && !isTrimmable(entry.charCodeAt(entry.length - 1)) ? entry : entry.trim();
      if (component !== '' && !present(runtime, component)) {
        problems.push({ kind: 'missing', component: entry, message: `${component} is missing` });
      }
      continue;
    }
    const { alternatives, message } = requiredEntry(entry);
    if (alternatives.length === 0) continue;
    let found = false;
    for (const c of alternatives) {
      if (present(runtime, c)) {
        found = true;
        break;
      }
    }
    if (!found) problems.push({ kind: 'missing', component: entry, message });
  }
  for (const set of rangeSets) {
    const first = problems.length;
    // Components in key order, then sorted by name below: only the (few) problems need sorting.
    for (const component of Object.keys(set.ranges)) {
      if (!present(runtime, component)) continue;
      const range = set.ranges[component]!;
      const reported = runtime[component]!;
      const outcome = rangeOutcome(reported, range);
      if (outcome === 'ok') continue;
      const source = set.source;
      problems.push({
        component,
        version: reported,
        range,
        rangeSource: source,
        kind: outcome,
        message:
          outcome === 'unparseable-version'
            ? `${component} "${reported}" is not a version (${source} requires ${range})`
            : outcome === 'invalid-range'
              ? `${component}: the ${source} range "${range}" is not a valid semver range`
              : `${component} ${reported} is outside ${range} (${source})`,
      });
    }
    if (problems.length - first > 1) {
      const sorted = problems.slice(first).sort((a, b) => (a.component < b.component ? -1 : a.component > b.component ? 1 : 0));
      problems.splice(first, sorted.length, ...sorted);
    }
  }
  return problems;
}

interface RequiredEntry {
  /** The component names of `a|b` (empty: the entry asks for nothing). */
  readonly alternatives: readonly string[];
  /** The problem message when none of them is present. */
  readonly message: string;
}

// `a|b` entries come from the target policy and repeat on every decision: parsed once each.
const REQUIRED_ENTRIES = new BoundedMemo<RequiredEntry>(1024);

function requiredEntry(entry: string): RequiredEntry {
  const hit = REQUIRED_ENTRIES.get(entry);
  if (hit !== undefined) return hit;
  const alternatives = entry.split('|').map((c) => c.trim()).filter((c) => c !== '');
  return REQUIRED_ENTRIES.set(entry, {
    alternatives,
    message: alternatives.length === 1 ? `${alternatives[0]} is missing` : `none of ${alternatives.join(' / ')} is present`,
  });
}
