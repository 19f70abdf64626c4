// Properties of the decision function over random modes, actions, clocks and fault sets: it is
// deterministic, reads no clock but the one passed in, never improves when a fault is added, and reports
// blockers once each, in registry order, only where the registry says they apply.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCKER_CODES, appliesTo, blockerSpec, type BlockerCode } from '../../../functions/core/blockers.js';
import { decide } from '../../../functions/core/decisions.js';
import { ACTIONS, FAULTS, MODES, build, faultApplies, sampleFactSets } from './fixtures.js';

const clock = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true });
const faultIndexes = fc.uniqueArray(fc.nat({ max: FAULTS.length - 1 }), { maxLength: 6 });

const world = fc.record({
  mode: fc.constantFrom(...MODES),
  action: fc.constantFrom(...ACTIONS),
  now: clock,
  picks: faultIndexes,
});

/** Faults applied in table order (a fixed order, so a set means one world). */
function inScope(mode: (typeof MODES)[number], action: (typeof ACTIONS)[number], picks: number[]) {
  return [...picks].sort((a, b) => a - b).map((i) => FAULTS[i]!).filter((f) => faultApplies(f, mode, action));
}

describe('decide (properties)', () => {
  it('is deterministic and does not touch its input', () => {
    fc.assert(
      fc.property(world, ({ mode, action, now, picks }) => {
        const faults = picks.map((i) => FAULTS[i]!);
        const input = build(mode, action, faults, now);
        const copy = structuredClone(input);
        const first = decide(input);
        expect(input).toEqual(copy);
        expect(decide(copy)).toEqual(first);
        expect(decide(input)).toEqual(first);
      }),
      { numRuns: 150 },
    );
  });

  it('depends on time only through the clock passed in', () => {
    fc.assert(
      fc.property(world, clock, ({ mode, action, now, picks }, later) => {
        const faults = inScope(mode, action, picks);
        const codes = (at: Date) => decide(build(mode, action, faults, at)).blockers.map((b) => b.code);
        expect(codes(later)).toEqual(codes(now));
      }),
      { numRuns: 100 },
    );
  });

  it('denies whenever a fault in scope is present, and adding one never turns deny into allow', () => {
    fc.assert(
      fc.property(world, fc.nat({ max: FAULTS.length - 1 }), ({ mode, action, now, picks }, extra) => {
        const faults = inScope(mode, action, picks);
        const before = decide(build(mode, action, faults, now));
        const more = inScope(mode, action, [...new Set([...picks, extra])]);
        const after = decide(build(mode, action, more, now));
        expect(before.decision).toBe(faults.length > 0 ? 'deny' : 'allow');
        if (before.decision === 'deny') expect(after.decision).toBe('deny');
      }),
      { numRuns: 200 },
    );
  });

  it('reports each code at most once, in registry order, only where it applies', () => {
    fc.assert(
      fc.property(world, ({ mode, action, now, picks }) => {
        const input = build(mode, action, picks.map((i) => FAULTS[i]!), now);
        const codes = decide(input).blockers.map((b) => b.code as BlockerCode);
        const positions = codes.map((c) => BLOCKER_CODES.indexOf(c));
        expect(positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!))).toBe(true);
        for (const code of codes) expect(appliesTo(blockerSpec(code), mode, action, input.policies)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

describe('sampleFactSets', () => {
  it('is reproducible from its seed and mixes allow and deny', () => {
    const a = sampleFactSets(60, 7);
    expect(sampleFactSets(60, 7)).toEqual(a);
    expect(sampleFactSets(60, 8)).not.toEqual(a);
    const decisions = a.map((input) => decide(input).decision);
    expect(decisions).toContain('allow');
    expect(decisions).toContain('deny');
  });
});
