// Table-driven blocker codes (SPEC §4): each fault raises exactly its code wherever the code applies, is
// silent everywhere else, and the operator's fix turns the decision back to allow.
import { describe, expect, it } from 'vitest';
import { BLOCKER_CODES, blockerSpec, modesOf } from '../../../functions/core/blockers.js';
import { decide, decideFor } from '../../../functions/core/decisions.js';
import { DEFAULT_POLICIES } from '../../../functions/core/policies.js';
import { ACTIONS, FAULTS, MODES, baseline, build, faultActions, faultApplies, faultModes } from './fixtures.js';

const codes = (input: Parameters<typeof decide>[0]) => decide(input).blockers.map((b) => b.code);

describe('baseline fixtures', () => {
  for (const mode of MODES) {
    for (const action of ACTIONS) {
      it(`${mode} may ${action}`, () => {
        expect(decide(baseline(mode, action))).toEqual({ decision: 'allow', blockers: [] });
      });
    }
  }
});

describe('fault table', () => {
  it('covers every registered code', () => {
    expect(new Set(FAULTS.map((f) => f.code))).toEqual(new Set(BLOCKER_CODES));
  });

  it.each(FAULTS.map((f) => [`${f.code}: ${f.name}`, f] as const))('%s stays inside the registry scope', (_, fault) => {
    const spec = blockerSpec(fault.code);
    for (const mode of faultModes(fault)) expect(modesOf(spec, DEFAULT_POLICIES)).toContain(mode);
    for (const action of faultActions(fault)) expect(spec.actions).toContain(action);
  });
});

for (const fault of FAULTS) {
  describe(`${fault.code}: ${fault.name}`, () => {
    for (const mode of MODES) {
      for (const action of ACTIONS) {
        if (faultApplies(fault, mode, action)) {
          it(`${mode} ${action}: raised alone`, () => {
            const input = build(mode, action, [fault]);
            const decision = decide(input);
            expect(decision.decision).toBe('deny');
            expect(decision.blockers.map((b) => b.code)).toEqual([fault.code]);
            const [blocker] = decision.blockers;
            expect(blocker!.message.length).toBeGreaterThan(10);
            expect(blocker!.message).not.toMatch(/undefined|\{\w+\}/);
            expect(blocker!.remediation).toBeTruthy();
            // The owning policy reports it; no other policy does.
            const owner = blockerSpec(fault.code).owner;
            expect(decideFor(owner, input).blockers.map((b) => b.code)).toEqual([fault.code]);
            for (const kind of ['target', 'provisioning', 'secrets', 'attestation'] as const) {
              if (kind !== owner) expect(decideFor(kind, input)).toEqual({ decision: 'allow', blockers: [] });
            }
          });
          if (fault.fix) {
            it(`${mode} ${action}: fixed → allow`, () => {
              const input = build(mode, action, [fault]);
              fault.fix!(input);
              expect(decide(input)).toEqual({ decision: 'allow', blockers: [] });
            });
          }
        } else {
          it(`${mode} ${action}: not raised`, () => {
            expect(codes(build(mode, action, [fault]))).toEqual([]);
          });
        }
      }
    }
  });
}
