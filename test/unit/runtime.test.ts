// Runtime judgement (SPEC §2.1): reading component versions, ranges, `a|b` alternatives and which runtime
// is judged.
import fc from 'fast-check';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { CUSTOMER_RUN_COMPONENTS, DEFAULT_POLICIES, SAAS_COMPONENTS } from '../../functions/core/policies.js';
import {
  coerceVersion,
  judgedRuntime,
  runtimeProblems,
  satisfiesRange,
  type RangeSet,
} from '../../functions/core/runtime.js';
import { CUSTOMER_RUN_RUNTIME, NOW, SAAS_RUNTIME, baseline, makeAttestation } from './decisions/fixtures.js';

describe('coerceVersion', () => {
  it.each([
    ['8.3', '8.3.0'],
    ['8', '8.0.0'],
    ['v20.11.1', '20.11.1'],
    ['=1.24.0', '1.24.0'],
    ['08.03', '8.3.0'],
    ['8.3.1-beta', '8.3.1-beta'],
    ['8.3.1-beta.2', '8.3.1-beta.2'],
    ['8.4.0RC1', '8.4.0-rc.1'],
    ['3.0.0-rc.1+build.5', '3.0.0-rc.1'],
    ['1.24.0-alpine', '1.24.0'],
    ['7.2.4-alpine3.19', '7.2.4'],
    ['15.4 (Debian 15.4-1.pgdg120+1)', '15.4.0'],
    ['10.11.6-1ubuntu1', '10.11.6'],
    ['1.2.3.4', '1.2.3'],
    ['  20.11.1  ', '20.11.1'],
  ])('%s → %s', (raw, expected) => {
    expect(coerceVersion(raw)).toBe(expected);
  });

  it.each(['', 'latest', 'abc', 'v', 'x.y.z', '.8', '1'.repeat(20)])('%j is not a version', (raw) => {
    expect(coerceVersion(raw)).toBeUndefined();
  });

  it('keeps every plain semver version as it is', () => {
    fc.assert(
      fc.property(fc.nat({ max: 9999 }), fc.nat({ max: 9999 }), fc.nat({ max: 9999 }), (a, b, c) => {
        expect(coerceVersion(`${a}.${b}.${c}`)).toBe(`${a}.${b}.${c}`);
      }),
    );
  });

  it('never throws and answers a valid semver version or nothing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (raw) => {
        const v = coerceVersion(raw);
        if (v !== undefined) expect(semver.valid(v)).toBe(v);
      }),
      { numRuns: 500 },
    );
  });
});

describe('satisfiesRange', () => {
  it('lets a pre-release satisfy an ordinary range but sorts it below its release', () => {
    expect(satisfiesRange('8.4.0-rc.1', '>=8.2')).toBe(true);
    expect(satisfiesRange('8.3.1-beta', '>=8.3.1')).toBe(false);
    expect(satisfiesRange('8.3.1', '>=8.3.1')).toBe(true);
  });

  it('answers undefined for a range that does not parse', () => {
    expect(satisfiesRange('8.3.0', '>=eight')).toBeUndefined();
  });
});

describe('runtimeProblems', () => {
  const policy: RangeSet = { source: 'target policy', ranges: DEFAULT_POLICIES.target.supportedVersions };

  it('accepts the default customer-run and SaaS runtimes', () => {
    expect(runtimeProblems(CUSTOMER_RUN_RUNTIME, CUSTOMER_RUN_COMPONENTS, [policy])).toEqual([]);
    expect(runtimeProblems(SAAS_RUNTIME, SAAS_COMPONENTS, [policy])).toEqual([]);
  });

  it('accepts either side of an `a|b` alternative and reports the pair when both are absent', () => {
    const { postgresql: _, ...withoutPg } = CUSTOMER_RUN_RUNTIME;
    expect(runtimeProblems({ ...withoutPg, mysql: '8.0' }, CUSTOMER_RUN_COMPONENTS, [policy])).toEqual([]);
    expect(runtimeProblems(withoutPg, CUSTOMER_RUN_COMPONENTS, [policy])).toEqual([
      { kind: 'missing', component: 'postgresql|mysql', message: 'none of postgresql / mysql is present' },
    ]);
  });

  it('treats an empty version as missing', () => {
    expect(runtimeProblems({ ...CUSTOMER_RUN_RUNTIME, node: ' ' }, CUSTOMER_RUN_COMPONENTS, [policy]).map((p) => p.kind)).toEqual(['missing']);
  });

  it('checks the range of the alternative present (mysql below its own range)', () => {
    const { postgresql: _, ...withoutPg } = CUSTOMER_RUN_RUNTIME;
    expect(runtimeProblems({ ...withoutPg, mysql: '5.7.44' }, CUSTOMER_RUN_COMPONENTS, [policy])).toEqual([
      {
        kind: 'out-of-range',
        component: 'mysql',
        version: '5.7.44',
        range: '>=8.0',
        rangeSource: 'target policy',
        message: 'mysql 5.7.44 is outside >=8.0 (target policy)',
      },
    ]);
  });

  it('coerces versions before comparing (php 8.2 meets >=8.2, 8.1.99 does not)', () => {
    expect(runtimeProblems({ php: '8.2' }, [], [policy])).toEqual([]);
    expect(runtimeProblems({ php: '8.1.99' }, [], [policy]).map((p) => p.kind)).toEqual(['out-of-range']);
  });

  it('reports an unreadable version and an invalid range instead of passing them', () => {
    expect(runtimeProblems({ php: 'latest' }, [], [policy]).map((p) => p.kind)).toEqual(['unparseable-version']);
    expect(runtimeProblems({ php: '8.3' }, [], [{ source: 'release 9.9.9', ranges: { php: 'newest' } }])).toMatchObject([
      { kind: 'invalid-range', component: 'php', range: 'newest' },
    ]);
  });

  it('applies release ranges on top of the policy and ignores ranges of absent components', () => {
    const release: RangeSet = { source: 'release 2.4.0', ranges: { php: '>=8.3', postgresql: '>=15', mysql: '>=8.4' } };
    const problems = runtimeProblems({ php: '8.2.10', postgresql: '16' }, [], [policy, release]);
    expect(problems.map((p) => p.message)).toEqual(['php 8.2.10 is outside >=8.3 (release 2.4.0)']);
  });

  it('reports in a stable order: missing first (required order), then ranges by component', () => {
    const problems = runtimeProblems({ redis: '5', php: '7', nginx: '1.20' }, ['update-client', 'nginx', 'cdn-waf'], [policy]);
    expect(problems.map((p) => `${p.kind}:${p.component}`)).toEqual([
      'missing:update-client', 'missing:cdn-waf', 'out-of-range:nginx', 'out-of-range:php', 'out-of-range:redis',
    ]);
  });
});

describe('judgedRuntime', () => {
  const { facts } = baseline('self-hosted', 'update');

  it('takes the runtime of a passing attestation', () => {
    const attestation = makeAttestation(facts.target, NOW, { runtime: { php: '8.4' } });
    expect(judgedRuntime(facts.target, attestation)).toEqual({ runtime: { php: '8.4' }, source: 'attestation', at: attestation.statement.issuedAt });
  });

  it('takes the reported runtime when there is no attestation, it failed, or it is about another target', () => {
    const reported = { runtime: facts.target.runtime, source: 'reported', at: facts.target.runtimeReportedAt };
    expect(judgedRuntime(facts.target, undefined)).toEqual(reported);
    expect(judgedRuntime(facts.target, { ...makeAttestation(facts.target, NOW), result: 'failed' })).toEqual(reported);
    expect(judgedRuntime(facts.target, { ...makeAttestation(facts.target, NOW), signatureValid: false })).toEqual(reported);
    expect(judgedRuntime(facts.target, makeAttestation(facts.target, NOW, { targetId: 'other' }))).toEqual(reported);
  });
});
