// Cron expressions and maintenance windows (functions/core/cron.ts): parsing against an independent model
// of each field, nextOpening against a minute-by-minute search, window membership at its edges, and the
// refusals of expressions that cannot be read or never match.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidCronError, isInsideWindow, nextOpening, parseCron, windowOpensAt } from '../../functions/core/cron.js';

const at = (iso: string) => new Date(iso);
const MINUTE = 60_000;

// ---------------------------------------------------------------------------------------------------------
// A model of a field: the items it is written from and the values they stand for, computed here, not by
// the parser.

type Item = { kind: 'value'; v: number } | { kind: 'range'; a: number; b: number; step?: number } | { kind: 'star'; step?: number };

function itemText(item: Item): string {
  if (item.kind === 'value') return String(item.v);
  if (item.kind === 'range') return `${item.a}-${item.b}${item.step ? `/${item.step}` : ''}`;
  return `*${item.step ? `/${item.step}` : ''}`;
}

function itemValues(item: Item, min: number, max: number): number[] {
  const out: number[] = [];
  const [a, b, step] = item.kind === 'value' ? [item.v, item.v, 1] : item.kind === 'range' ? [item.a, item.b, item.step ?? 1] : [min, max, item.step ?? 1];
  for (let v = a; v <= b; v += step) out.push(v);
  return out;
}

function itemArb(min: number, max: number): fc.Arbitrary<Item> {
  const span = max - min + 1;
  return fc.oneof(
    fc.integer({ min, max }).map((v): Item => ({ kind: 'value', v })),
    fc
      .tuple(fc.integer({ min, max }), fc.integer({ min, max }), fc.option(fc.integer({ min: 1, max: span }), { nil: undefined }))
      .map(([x, y, step]): Item => ({ kind: 'range', a: Math.min(x, y), b: Math.max(x, y), ...(step ? { step } : {}) })),
    fc.option(fc.integer({ min: 1, max: span }), { nil: undefined }).map((step): Item => ({ kind: 'star', ...(step ? { step } : {}) })),
  );
}

function fieldArb(min: number, max: number) {
  return fc.array(itemArb(min, max), { minLength: 1, maxLength: 3 }).map((items) => ({
    text: items.map(itemText).join(','),
    values: new Set(items.flatMap((i) => itemValues(i, min, max))),
    restricted: !items.map(itemText).join(',').startsWith('*'),
  }));
}

/** An expression with its model; months and days of month are all-inclusive so every one can match. */
const expressionArb = fc
  .record({
    minute: fieldArb(0, 59),
    hour: fieldArb(0, 23),
    dayOfWeek: fieldArb(0, 7),
  })
  .map((f) => ({
    text: `${f.minute.text} ${f.hour.text} * * ${f.dayOfWeek.text}`,
    minutes: f.minute.values,
    hours: f.hour.values,
    days: new Set([...f.dayOfWeek.values].map((d) => d % 7)),
  }));

function modelMatches(m: { minutes: Set<number>; hours: Set<number>; days: Set<number> }, d: Date): boolean {
  return m.minutes.has(d.getUTCMinutes()) && m.hours.has(d.getUTCHours()) && m.days.has(d.getUTCDay());
}

const instantArb = fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') }).map((ms) => new Date(ms));

describe('parseCron', () => {
  it('reads every field as its model says', () => {
    fc.assert(
      fc.property(fieldArb(0, 59), fieldArb(0, 23), fieldArb(1, 31), fieldArb(1, 12), fieldArb(0, 7), (mi, h, dom, mo, dow) => {
        // Expressions that can never match (e.g. "31 4": April has 30 days) are refused by design; the
        // test below covers that refusal, so they are not drawn here.
        const longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        const someDayExists = [...mo.values].some((m) => [...dom.values].some((d) => d <= longest[m - 1]!));
        fc.pre(someDayExists || (dom.restricted && dow.restricted));
        const s = parseCron(`${mi.text} ${h.text} ${dom.text} ${mo.text} ${dow.text}`);
        expect(new Set(s.minutes)).toEqual(mi.values);
        expect(new Set(s.hours)).toEqual(h.values);
        expect(s.daysOfMonth).toEqual(dom.values);
        expect(s.months).toEqual(mo.values);
        expect(s.daysOfWeek).toEqual(new Set([...dow.values].map((d) => d % 7)));
        expect(s.dayOfMonthRestricted).toBe(dom.restricted);
        expect(s.dayOfWeekRestricted).toBe(dow.restricted);
      }),
      { numRuns: 300 },
    );
  });

  it('accepts names, 7 for Sunday, `a/n` steps and surrounding whitespace', () => {
    const s = parseCron('  0/20 9-17 * jan,JUL-sep mon-FRI,7  ');
    expect(s.minutes).toEqual([0, 20, 40]);
    expect(s.hours).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(s.months).toEqual(new Set([1, 7, 8, 9]));
    expect(s.daysOfWeek).toEqual(new Set([0, 1, 2, 3, 4, 5]));
  });

  it.each([
    ['', /expected 5 fields .* found 0/],
    ['* * * *', /expected 5 fields .* found 4/],
    ['* * * * * *', /found 6/],
    ['60 * * * *', /minute field "60" has 60 outside 0-59/],
    ['* 24 * * *', /hour field "24" has 24 outside 0-23/],
    ['* * 0 * *', /day-of-month field "0" has 0 outside 1-31/],
    ['* * * 13 *', /month field "13" has 13 outside 1-12/],
    ['* * * * 8', /day-of-week field "8" has 8 outside 0-7/],
    ['5-1 * * * *', /runs backwards/],
    ['*/0 * * * *', /step 0 outside 1-60/],
    ['*/61 * * * *', /step 61 outside 1-60/],
    ['*/x * * * *', /step "x" that is not a positive integer/],
    ['1,,2 * * * *', /empty list item/],
    ['a * * * *', /"a", which is not a number/],
    ['* * * FOO *', /"FOO", which is not a number or a name such as JAN/],
    ['1--2 * * * *', /malformed range/],
    ['? * * * *', /"\?"/],
    ['0 0 30 2 *', /never matches/],
    ['0 0 31 4,6,9,11 *', /never matches/],
  ])('refuses %j', (expression, message) => {
    let error: unknown;
    try {
      parseCron(expression);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidCronError);
    expect((error as Error).name).toBe('InvalidCronError');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(JSON.stringify(expression));
  });

  it('accepts 29 February (leap years) and 31 in a list that has a long month', () => {
    expect(() => parseCron('0 0 29 2 *')).not.toThrow();
    expect(() => parseCron('0 0 31 2,3 *')).not.toThrow();
  });
});

describe('nextOpening', () => {
  it.each([
    ['0 3 * * 6', '2026-11-27T12:00:00Z', '2026-11-28T03:00:00.000Z'], // Friday → Saturday 03:00
    ['0 3 * * 6', '2026-11-28T03:00:00Z', '2026-12-05T03:00:00.000Z'], // strictly after
    ['0 3 * * 6', '2026-11-28T02:59:59.999Z', '2026-11-28T03:00:00.000Z'],
    ['*/15 * * * *', '2026-11-28T10:07:30Z', '2026-11-28T10:15:00.000Z'],
    ['*/15 * * * *', '2026-11-28T23:59:00Z', '2026-11-29T00:00:00.000Z'],
    ['30 23 31 12 *', '2026-12-31T23:30:00Z', '2027-12-31T23:30:00.000Z'], // year rollover
    ['0 0 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'], // next leap day
    ['0 0 * * 7', '2026-11-28T00:00:00Z', '2026-11-29T00:00:00.000Z'], // 7 = Sunday
    ['0 12 * * MON-FRI', '2026-11-28T00:00:00Z', '2026-11-30T12:00:00.000Z'], // Saturday → Monday
    ['0 0 13 * 5', '2026-11-01T00:00:00Z', '2026-11-06T00:00:00.000Z'], // 13th OR Friday: Friday 6th first
    ['0 0 13 * 5', '2026-11-07T00:00:00Z', '2026-11-13T00:00:00.000Z'], // the 13th (also a Friday)
    ['0 0 */10 * 1', '2026-11-01T00:00:00Z', '2026-12-21T00:00:00.000Z'], // `*`-day field: AND, day 1, 11, 21 or 31 that is a Monday
    ['15 4 1 JAN,JUL *', '2026-07-01T04:15:00Z', '2027-01-01T04:15:00.000Z'],
    ['0 0 29 2 1', '2026-01-01T00:00:00Z', '2026-02-02T00:00:00.000Z'], // OR: a Monday of February or 29 Feb
  ])('%s after %s is %s', (cron, after, expected) => {
    expect(nextOpening(cron, at(after)).toISOString()).toBe(expected);
  });

  it('with AND semantics finds rare days (years away)', () => {
    // Day-of-month starts with `*` (a step), so both day fields must hold: the 1st or 29th of February, a Monday.
    expect(nextOpening('0 0 */28 2 1', at('2026-01-01T00:00:00Z')).toISOString()).toBe('2027-02-01T00:00:00.000Z');
    expect(nextOpening('0 0 */28 2 1', at('2027-02-02T00:00:00Z')).toISOString()).toBe('2038-02-01T00:00:00.000Z');
    // 29 February, from a year after a leap year.
    expect(nextOpening('0 0 29 2 *', at('2029-01-01T00:00:00Z')).toISOString()).toBe('2032-02-29T00:00:00.000Z');
  });

  it('is the first matching minute strictly after the instant (against a minute-by-minute search)', () => {
    fc.assert(
      fc.property(expressionArb, instantArb, (m, after) => {
        const got = nextOpening(m.text, after);
        expect(modelMatches(m, got)).toBe(true);
        expect(got.getTime()).toBeGreaterThan(after.getTime());
        expect(got.getTime() % MINUTE).toBe(0);
        // Every whole minute after `after` and before `got` does not match (at most a week: every day of
        // the week and every hour/minute set is non-empty).
        for (let t = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE; t < got.getTime(); t += MINUTE) {
          if (modelMatches(m, new Date(t))) throw new Error(`${m.text}: ${new Date(t).toISOString()} matches before ${got.toISOString()}`);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('skips nothing: from any instant before the answer the answer is the same', () => {
    const fullArb = fc
      .tuple(fieldArb(0, 59), fieldArb(0, 23), fieldArb(1, 28), fieldArb(1, 12), fieldArb(0, 7))
      .map((f) => f.map((x) => x.text).join(' '));
    fc.assert(
      fc.property(fullArb, instantArb, fc.double({ min: 0, max: 1, noNaN: true }), (cron, after, fraction) => {
        const got = nextOpening(cron, after);
        const between = new Date(after.getTime() + Math.floor((got.getTime() - after.getTime()) * fraction * 0.999));
        expect(nextOpening(cron, between).toISOString()).toBe(got.toISOString());
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an invalid date', () => {
    expect(() => nextOpening('* * * * *', new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('maintenance windows', () => {
  const saturday = { cron: '0 3 * * 6', durationMinutes: 120 }; // Saturdays 03:00-05:00

  it.each([
    ['2026-11-28T02:59:59.999Z', false],
    ['2026-11-28T03:00:00.000Z', true],
    ['2026-11-28T04:59:59.999Z', true],
    ['2026-11-28T05:00:00.000Z', false],
    ['2026-11-29T04:00:00.000Z', false],
  ])('Saturday 03:00 for 2 h: %s inside = %s', (now, inside) => {
    expect(isInsideWindow(saturday, at(now))).toBe(inside);
  });

  it('a window that spans midnight is open after it', () => {
    const nightly = { cron: '0 23 * * *', durationMinutes: 120 };
    expect(isInsideWindow(nightly, at('2026-11-29T00:30:00Z'))).toBe(true);
    expect(isInsideWindow(nightly, at('2026-11-29T01:00:00Z'))).toBe(false);
  });

  it('windowOpensAt is now inside a window and the next opening outside one', () => {
    expect(windowOpensAt(saturday, at('2026-11-28T04:00:00Z')).toISOString()).toBe('2026-11-28T04:00:00.000Z');
    expect(windowOpensAt(saturday, at('2026-11-28T05:00:00Z')).toISOString()).toBe('2026-12-05T03:00:00.000Z');
    expect(windowOpensAt(saturday, at('2026-11-27T10:00:00Z')).toISOString()).toBe('2026-11-28T03:00:00.000Z');
  });

  it('windowOpensAt is never before now and always inside a window', () => {
    fc.assert(
      fc.property(expressionArb, fc.integer({ min: 1, max: 24 * 60 }), instantArb, (m, durationMinutes, now) => {
        const w = { cron: m.text, durationMinutes };
        const opens = windowOpensAt(w, now);
        expect(opens.getTime()).toBeGreaterThanOrEqual(now.getTime());
        expect(isInsideWindow(w, opens)).toBe(true);
        expect(opens.getTime() === now.getTime()).toBe(isInsideWindow(w, now));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a duration that is not a positive whole number of minutes', () => {
    expect(() => isInsideWindow({ cron: '* * * * *', durationMinutes: 0 }, at('2026-11-28T00:00:00Z'))).toThrow(RangeError);
    expect(() => isInsideWindow({ cron: '* * * * *', durationMinutes: 1.5 }, at('2026-11-28T00:00:00Z'))).toThrow(/positive whole number/);
  });

  it('refuses an invalid expression with the parse error', () => {
    expect(() => windowOpensAt({ cron: '0 0 30 2 *', durationMinutes: 60 }, at('2026-11-28T00:00:00Z'))).toThrow(InvalidCronError);
  });
});
