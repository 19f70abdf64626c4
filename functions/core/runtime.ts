// Runtime judgement (SPEC §2.1): which runtime a decision looks at, how component versions are read, and
// which required components or version ranges it fails. Pure; decisions.ts turns the problems into
// UNSUPPORTED_RUNTIME.
import semver from 'semver';
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

/**
 * A reported component version as a semver version, or undefined when it is not a version at all
 * (`latest`, `abc`, empty). `8.3` → `8.3.0`, `v20` → `20.0.0`, `8.3.1-beta` → `8.3.1-beta`,
 * `8.4.0RC1` → `8.4.0-rc.1`, `1.24.0-alpine` → `1.24.0`, `15.4 (Debian 15.4-1)` → `15.4.0`.
 */
export function coerceVersion(raw: string): string | undefined {
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
  if (semver.validRange(range, { includePrerelease: true }) === null) return undefined;
  return semver.satisfies(version, range, { includePrerelease: true });
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
  return typeof v === 'string' && v.trim() !== '';
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
    const alternatives = entry.split('|').map((c) => c.trim()).filter((c) => c !== '');
    if (alternatives.length > 0 && !alternatives.some((c) => present(runtime, c))) {
      problems.push({
        kind: 'missing',
        component: entry,
        message:
          alternatives.length === 1
            ? `${alternatives[0]} is missing`
            : `none of ${alternatives.join(' / ')} is present`,
      });
    }
  }
  for (const set of rangeSets) {
    for (const component of Object.keys(set.ranges).sort()) {
      if (!present(runtime, component)) continue;
      const range = set.ranges[component]!;
      const reported = runtime[component]!;
      const version = coerceVersion(reported);
      const base = { component, version: reported, range, rangeSource: set.source };
      if (version === undefined) {
        problems.push({ ...base, kind: 'unparseable-version', message: `${component} "${reported}" is not a version (${set.source} requires ${range})` });
        continue;
      }
      const ok = satisfiesRange(version, range);
      if (ok === undefined) {
        problems.push({ ...base, kind: 'invalid-range', message: `${component}: the ${set.source} range "${range}" is not a valid semver range` });
      } else if (!ok) {
        problems.push({ ...base, kind: 'out-of-range', message: `${component} ${reported} is outside ${range} (${set.source})` });
      }
    }
  }
  return problems;
}
