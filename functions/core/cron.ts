// Five-field cron expressions (UTC) and the maintenance windows they open (SPEC §3, §7.4): a self-hosted
// target is updated only while a window is open. Pure: every function takes the time it judges.
//
// Fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 (or JAN-DEC), day of week 0-7 (0 and 7
// are Sunday, or SUN-SAT). Each field is `*` or a comma list of values, ranges `a-b` and steps `*/n`,
// `a-b/n`, `a/n`. As in Vixie cron, when both day fields are restricted (neither starts with `*`) a day
// matches if EITHER matches; otherwise both must.

export interface MaintenanceWindow {
  readonly cron: string;
  readonly durationMinutes: number;
}

/** A parsed expression: the values each field allows (minutes and hours sorted, for the search). */
export interface CronSchedule {
  readonly expression: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0-6, Sunday = 0 (a 7 in the expression is stored as 0). */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

/** A cron expression that cannot be parsed or can never match; `message` says which field and why. */
export class InvalidCronError extends Error {
  override readonly name = 'InvalidCronError';
  constructor(
    readonly expression: string,
    readonly reason: string,
  ) {
    super(`Invalid cron expression ${JSON.stringify(expression)}: ${reason}`);
  }
}

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Value names start at this number (JAN = 1, SUN = 0). */
  readonly namesFrom?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'], namesFrom: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], namesFrom: 0 },
];

const MINUTE_MS = 60_000;
/** Longest month by number (February may have 29 days). */
const MAX_DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/**
 * How far ahead an opening is looked for. A valid expression opens within a few years at most (e.g. 29
 * February that is a Monday: 28 years); the Gregorian calendar repeats every 400.
 */
const SEARCH_YEARS = 400;

export function parseCron(expression: string): CronSchedule {
  if (typeof expression !== 'string') throw new InvalidCronError(String(expression), 'it is not a string');
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5 || parts[0] === '') {
    throw new InvalidCronError(expression, `expected 5 fields (minute hour day-of-month month day-of-week), found ${parts[0] === '' ? 0 : parts.length}`);
  }
  const values = parts.map((part, i) => parseField(expression, part, FIELDS[i]!));
  const daysOfWeek = new Set([...values[4]!].map((d) => (d === 7 ? 0 : d)));
  const schedule: CronSchedule = {
    expression,
    minutes: [...values[0]!].sort((a, b) => a - b),
    hours: [...values[1]!].sort((a, b) => a - b),
    daysOfMonth: values[2]!,
    months: values[3]!,
    daysOfWeek,
    dayOfMonthRestricted: !parts[2]!.startsWith('*'),
    dayOfWeekRestricted: !parts[4]!.startsWith('*'),
  };
  // With only the day of month deciding, a day that no chosen month has (30 February) never comes.
  const onlyDayOfMonth = !(schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted) && daysOfWeek.size === 7;
  if (onlyDayOfMonth && ![...schedule.months].some((m) => [...schedule.daysOfMonth].some((d) => d <= MAX_DAYS_IN_MONTH[m]!))) {
    throw new InvalidCronError(expression, 'no chosen month has any of the chosen days of the month, so it never matches');
  }
  return schedule;
}

function parseField(expression: string, text: string, spec: FieldSpec): Set<number> {
  const fail = (why: string): never => {
    throw new InvalidCronError(expression, `${spec.name} field ${JSON.stringify(text)} ${why}`);
  };
  const out = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') fail('has an empty list item');
    const m = /^([^/]+)(?:\/(.+))?$/.exec(item);
    if (!m) fail(`has a malformed item ${JSON.stringify(item)}`);
    const [, range, stepText] = m!;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) fail(`has a step ${JSON.stringify(stepText)} that is not a positive integer`);
      step = Number(stepText);
      if (step < 1 || step > spec.max - spec.min + 1) fail(`has a step ${step} outside 1-${spec.max - spec.min + 1}`);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max;
    } else {
      const bounds = range!.split('-');
      if (bounds.length > 2 || bounds.some((b) => b === '')) fail(`has a malformed range ${JSON.stringify(range)}`);
      from = valueOf(bounds[0]!, spec, fail);
      // `a/n` runs from a to the end of the field.
      to = bounds.length === 2 ? valueOf(bounds[1]!, spec, fail) : stepText !== undefined ? spec.max : from;
      if (from > to) fail(`has a range ${JSON.stringify(range)} that runs backwards (wrap-around ranges are not supported)`);
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function valueOf(text: string, spec: FieldSpec, fail: (why: string) => never): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) fail(`has ${n} outside ${spec.min}-${spec.max}`);
    return n;
  }
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named < 0) fail(`has ${JSON.stringify(text)}, which is not a number${spec.names ? ' or a name such as ' + spec.names[0] : ''}`);
  return named + spec.namesFrom!;
}

// Parsing is cached: a rollout asks about thousands of targets that mostly share a few expressions.
const cache = new Map<string, CronSchedule>();
const CACHE_LIMIT = 1000;

function scheduleOf(cron: string | CronSchedule): CronSchedule {
  if (typeof cron !== 'string') return cron;
  let schedule = cache.get(cron);
  if (!schedule) {
    schedule = parseCron(cron);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(cron, schedule);
  }
  return schedule;
}

function dayMatches(s: CronSchedule, date: Date): boolean {
  const dom = s.daysOfMonth.has(date.getUTCDate());
  const dow = s.daysOfWeek.has(date.getUTCDay());
  return s.dayOfMonthRestricted && s.dayOfWeekRestricted ? dom || dow : dom && dow;
}

/** The smallest value of `sorted` that is >= `from`, or undefined. */
function firstAtLeast(sorted: readonly number[], from: number): number | undefined {
  for (const v of sorted) if (v >= from) return v;
  return undefined;
}

/** The first minute the expression names that is strictly after `after` (UTC). */
export function nextOpening(cron: string | CronSchedule, after: Date): Date {
  const s = scheduleOf(cron);
  const afterMs = after.getTime();
  if (Number.isNaN(afterMs)) throw new RangeError('nextOpening: after is not a valid date');
  // The first whole minute strictly after `after`.
  const t = new Date(Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  const lastYear = t.getUTCFullYear() + SEARCH_YEARS;
  while (t.getUTCFullYear() <= lastYear) {
    if (!s.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(s, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    const hour = firstAtLeast(s.hours, t.getUTCHours());
    if (hour === undefined) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (hour !== t.getUTCHours()) {
      t.setUTCHours(hour, 0, 0, 0);
    }
    const minute = firstAtLeast(s.minutes, t.getUTCMinutes());
    if (minute === undefined) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    t.setUTCMinutes(minute, 0, 0);
    return t;
  }
  throw new InvalidCronError(s.expression, `it never matches within ${SEARCH_YEARS} years`);
}

function durationMs(window: MaintenanceWindow): number {
  const d = window.durationMinutes;
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`maintenance window duration must be a positive whole number of minutes, not ${d}`);
  return d * MINUTE_MS;
}

/** Is a window open at `now`: did an opening happen in (now - duration, now]? */
export function isInsideWindow(window: MaintenanceWindow, now: Date): boolean {
  const opening = nextOpening(window.cron, new Date(now.getTime() - durationMs(window)));
  return opening.getTime() <= now.getTime();
}

/** When the target may next be updated: `now` while a window is open, else the next opening. */
export function windowOpensAt(window: MaintenanceWindow, now: Date): Date {
  return isInsideWindow(window, now) ? new Date(now.getTime()) : nextOpening(window.cron, now);
}
