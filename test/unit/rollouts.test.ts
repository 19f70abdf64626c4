// Rollout planning (functions/core/rollouts.ts): canary first, then batches by target id; denied targets
// recorded with their blockers and in no wave; inactive targets skipped; self-hosted maintenance windows;
// the bounds on waves; determinism; the wave verdict; and the items a plan is stored as.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_WAVE_SIZE,
  MAX_WAVES,
  newRolloutId,
  planRollout,
  rolloutItems,
  waveExecutionName,
  waveVerdict,
  type PlanTarget,
  type RolloutCandidate,
  type RolloutSettings,
} from '../../functions/core/rollouts.js';
import type { Decision } from '../../functions/core/decisions.js';
import type { DeploymentMode } from '../../functions/core/policies.js';

const NOW = new Date('2026-11-27T12:00:00Z'); // a Friday
const RELEASE = { id: '2.0.0' };
const SETTINGS: RolloutSettings = { canarySize: 1, waveSize: 3, maxConcurrency: 2, maxFailures: 0 };
const ALLOW: Decision = { decision: 'allow', blockers: [] };
const deny = (code: string): Decision => ({ decision: 'deny', blockers: [{ code, message: `${code} message`, remediation: 'fix it' }] });

function target(id: string, overrides: Partial<PlanTarget> = {}): PlanTarget {
  return { id, mode: 'saas' as DeploymentMode, status: 'active', currentRelease: '1.0.0', ...overrides };
}
const allowed = (id: string, overrides: Partial<PlanTarget> = {}): RolloutCandidate => ({ target: target(id, overrides), decision: ALLOW });
const ids = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

const plan = (targets: RolloutCandidate[], settings: Partial<RolloutSettings> = {}, now = NOW) =>
  planRollout({ release: RELEASE, targets, settings: { ...SETTINGS, ...settings }, now });

describe('planRollout', () => {
  it('puts a canary wave of canarySize first, then batches of waveSize, by target id', () => {
    const p = plan(ids(8).reverse().map((id) => allowed(id)));
    expect(p.waves).toEqual([
      { index: 0, kind: 'canary', targetIds: ['t000'] },
      { index: 1, kind: 'batch', targetIds: ['t001', 't002', 't003'] },
      { index: 2, kind: 'batch', targetIds: ['t004', 't005', 't006'] },
      { index: 3, kind: 'batch', targetIds: ['t007'] },
    ]);
    expect(p.targets.map((t) => [t.targetId, t.wave, t.outcome])).toEqual(ids(8).map((id, i) => [id, i === 0 ? 0 : Math.ceil(i / 3), 'planned']));
    expect(p.counts).toEqual({ targets: 8, planned: 8, waitingWindow: 0, blocked: 0, skipped: 0, succeeded: 0, failed: 0 });
    expect(p.settings).toEqual(SETTINGS);
    expect(p.adjustments).toEqual([]);
  });

  it('a canary larger than the targets takes them all and leaves no batch', () => {
    const p = plan(ids(3).map((id) => allowed(id)), { canarySize: 5 });
    expect(p.waves).toEqual([{ index: 0, kind: 'canary', targetIds: ids(3) }]);
  });

  it('records denied targets with their blockers and puts them in no wave', () => {
    const p = plan([allowed('a'), { target: target('b'), decision: deny('LICENSE_REVOKED') }, allowed('c'), { target: target('d'), decision: deny('MISSING_BACKUP_POLICY') }]);
    expect(p.waves.flatMap((w) => w.targetIds)).toEqual(['a', 'c']);
    expect(p.waves[0]!.targetIds).toEqual(['a']);
    expect(p.targets.find((t) => t.targetId === 'b')).toEqual({
      targetId: 'b',
      mode: 'saas',
      wave: null,
      outcome: 'skipped-blocked',
      blockers: [{ code: 'LICENSE_REVOKED', message: 'LICENSE_REVOKED message', remediation: 'fix it' }],
    });
    expect(p.targets.find((t) => t.targetId === 'd')).toMatchObject({ wave: null, outcome: 'skipped-blocked', blockers: [{ code: 'MISSING_BACKUP_POLICY' }] });
    expect(p.counts).toMatchObject({ targets: 4, planned: 2, blocked: 2, skipped: 0 });
  });

  it('skips targets that are not active or already on the release, without needing a decision', () => {
    const p = plan([
      { target: target('reg', { status: 'registered', currentRelease: undefined }) },
      { target: target('busy', { status: 'updating' }) },
      { target: target('done', { currentRelease: RELEASE.id }) },
      allowed('ok'),
    ]);
    expect(p.waves).toEqual([{ index: 0, kind: 'canary', targetIds: ['ok'] }]);
    const byId = Object.fromEntries(p.targets.map((t) => [t.targetId, t]));
    expect(byId.reg).toMatchObject({ wave: null, outcome: 'skipped', skip: { code: 'TARGET_NOT_ACTIVE', message: expect.stringContaining('registered') } });
    expect(byId.busy).toMatchObject({ outcome: 'skipped', skip: { code: 'TARGET_NOT_ACTIVE', message: expect.stringContaining('updating') } });
    expect(byId.done).toMatchObject({ outcome: 'skipped', skip: { code: 'ALREADY_ON_RELEASE' } });
    expect(p.counts).toMatchObject({ targets: 4, planned: 1, skipped: 3, blocked: 0 });
  });

  it('refuses a candidate without its decision', () => {
    expect(() => plan([{ target: target('a') }])).toThrow(/no decision for target a/);
  });

  describe('maintenance windows (self-hosted only)', () => {
    const closed = { cron: '0 3 * * 6', durationMinutes: 120 }; // Saturday 03:00-05:00; NOW is Friday noon
    const open = { cron: '0 11 * * 5', durationMinutes: 120 }; // Friday 11:00-13:00: open at NOW

    it('a closed window keeps the target in its wave with windowOpensAt; an open one plans it now', () => {
      const p = plan([
        allowed('a-wait', { mode: 'self-hosted', maintenanceWindow: closed }),
        allowed('b-open', { mode: 'self-hosted', maintenanceWindow: open }),
        allowed('c-saas', { maintenanceWindow: closed }),
        allowed('d-plain', { mode: 'self-hosted' }),
      ]);
      const byId = Object.fromEntries(p.targets.map((t) => [t.targetId, t]));
      expect(byId['a-wait']).toEqual({
        targetId: 'a-wait',
        mode: 'self-hosted',
        wave: expect.any(Number),
        outcome: 'waiting-window',
        windowOpensAt: '2026-11-28T03:00:00.000Z',
        maintenanceWindow: closed,
      });
      expect(byId['b-open']).toMatchObject({ outcome: 'planned', windowOpensAt: NOW.toISOString(), maintenanceWindow: open });
      // SaaS updates do not wait for windows.
      expect(byId['c-saas']).toEqual({ targetId: 'c-saas', mode: 'saas', wave: expect.any(Number), outcome: 'planned' });
      expect(byId['d-plain']).not.toHaveProperty('windowOpensAt');
      expect(p.counts).toMatchObject({ planned: 4, waitingWindow: 1 });
      expect(p.waves.flatMap((w) => w.targetIds).sort()).toEqual(['a-wait', 'b-open', 'c-saas', 'd-plain']);
    });

    it('the canary takes targets that can update now before ones that wait for a window', () => {
      const p = plan(
        [allowed('a', { mode: 'self-hosted', maintenanceWindow: closed }), allowed('b', { mode: 'self-hosted', maintenanceWindow: closed }), allowed('c'), allowed('d')],
        { canarySize: 1, waveSize: 2 },
      );
      expect(p.waves).toEqual([
        { index: 0, kind: 'canary', targetIds: ['c'] },
        { index: 1, kind: 'batch', targetIds: ['a', 'b'] },
        { index: 2, kind: 'batch', targetIds: ['d'] },
      ]);
    });

    it('when every target waits, the canary still has canarySize of them', () => {
      const p = plan([allowed('a', { mode: 'self-hosted', maintenanceWindow: closed }), allowed('b', { mode: 'self-hosted', maintenanceWindow: closed })]);
      expect(p.waves[0]).toEqual({ index: 0, kind: 'canary', targetIds: ['a'] });
    });

    it('a window that cannot be read skips the target with the reason', () => {
      const p = plan([allowed('bad', { mode: 'self-hosted', maintenanceWindow: { cron: '0 0 30 2 *', durationMinutes: 60 } }), allowed('ok')]);
      expect(p.targets[0]).toMatchObject({
        targetId: 'bad',
        wave: null,
        outcome: 'skipped',
        skip: { code: 'MAINTENANCE_WINDOW_INVALID', message: expect.stringMatching(/never matches.*PATCH \/targets\/bad/) },
      });
      expect(p.waves.flatMap((w) => w.targetIds)).toEqual(['ok']);
    });
  });

  it('lowers canary and wave sizes above MAX_WAVE_SIZE and says so', () => {
    const p = plan(ids(5).map((id) => allowed(id)), { canarySize: MAX_WAVE_SIZE + 1, waveSize: 10_000 });
    expect(p.settings).toMatchObject({ canarySize: MAX_WAVE_SIZE, waveSize: MAX_WAVE_SIZE });
    expect(p.adjustments).toEqual([
      `canarySize ${MAX_WAVE_SIZE + 1} lowered to ${MAX_WAVE_SIZE}, the largest wave one child execution runs`,
      `waveSize 10000 lowered to ${MAX_WAVE_SIZE}, the largest wave one child execution runs`,
    ]);
  });

  it('raises waveSize when the batches would pass MAX_WAVES', () => {
    const n = MAX_WAVES * 2 + 1;
    const p = plan(ids(n, 'x').map((id) => allowed(id)), { canarySize: 1, waveSize: 1 });
    expect(p.waves.length).toBeLessThanOrEqual(MAX_WAVES);
    expect(p.settings.waveSize).toBe(Math.ceil((n - 1) / (MAX_WAVES - 1)));
    expect(p.adjustments).toEqual([`waveSize 1 raised to ${p.settings.waveSize} so the rollout has at most ${MAX_WAVES} waves`]);
    expect(p.waves.flatMap((w) => w.targetIds)).toHaveLength(n);
  });

  it('with nothing to update there are no waves', () => {
    const p = plan([{ target: target('a'), decision: deny('LICENSE_REVOKED') }]);
    expect(p.waves).toEqual([]);
    expect(p.counts).toMatchObject({ targets: 1, planned: 0, blocked: 1 });
  });

  // Property: for any mix of targets and settings, the plan is a partition of the allowed targets into a
  // canary and full batches (the last may be short), in id order, independent of the input order.
  const candidateArb = fc.record({
    id: fc.stringMatching(/^[a-z0-9]{1,6}$/),
    status: fc.constantFrom('active', 'active', 'active', 'registered', 'blocked'),
    onRelease: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    denied: fc.boolean(),
  });
  it('partitions the allowed targets deterministically (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(candidateArb, { selector: (c) => c.id, maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (specs, canarySize, waveSize, seed) => {
          const candidates: RolloutCandidate[] = specs.map((c) => ({
            target: target(c.id, { status: c.status as PlanTarget['status'], currentRelease: c.onRelease ? RELEASE.id : '1.0.0' }),
            decision: c.denied ? deny('LICENSE_REVOKED') : ALLOW,
          }));
          const p = plan(candidates, { canarySize, waveSize });
          // Same plan from a shuffled input.
          const shuffled = [...candidates].sort((a, b) => ((hash(a.target.id, seed) - hash(b.target.id, seed)) || 0));
          expect(plan(shuffled, { canarySize, waveSize })).toEqual(p);

          const eligible = specs
            .filter((c) => c.status === 'active' && !c.onRelease && !c.denied)
            .map((c) => c.id)
            .sort();
          expect(p.waves.flatMap((w) => w.targetIds)).toEqual(eligible);
          if (eligible.length > 0) {
            expect(p.waves[0]).toMatchObject({ index: 0, kind: 'canary' });
            expect(p.waves[0]!.targetIds).toHaveLength(Math.min(canarySize, eligible.length));
          }
          const batches = p.waves.slice(1);
          batches.forEach((w, i) => {
            expect(w.kind).toBe('batch');
            expect(w.index).toBe(i + 1);
            if (i < batches.length - 1) expect(w.targetIds).toHaveLength(waveSize);
            else expect(w.targetIds.length).toBeLessThanOrEqual(waveSize);
          });
          for (const t of p.targets) {
            const wave = p.waves.find((w) => w.targetIds.includes(t.targetId));
            expect(t.wave).toBe(wave ? wave.index : null);
            expect(t.outcome === 'planned').toBe(wave !== undefined);
          }
          expect(p.counts.planned + p.counts.blocked + p.counts.skipped).toBe(specs.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});

function hash(s: string, seed: number): number {
  let h = seed >>> 0;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 2654435761) >>> 0;
  return h;
}

describe('waveVerdict', () => {
  it.each([
    [0, 0, 'continue'],
    [1, 0, 'halt'],
    [2, 2, 'continue'],
    [3, 2, 'halt'],
  ] as const)('%i failures with maxFailures %i: %s', (failures, maxFailures, verdict) => {
    expect(waveVerdict(failures, maxFailures)).toBe(verdict);
  });
});

describe('names and items', () => {
  it('rollout ids and wave execution names are valid Step Functions names', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 128 }), fc.integer({ min: 0, max: MAX_WAVES - 1 }), (releaseId, index) => {
        const id = newRolloutId(releaseId || '1.0.0', NOW, 'a1b2c3d4');
        const wave = waveExecutionName(id, index);
        for (const name of [id, wave]) {
          expect(name.length).toBeLessThanOrEqual(80);
          expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
        }
      }),
    );
    expect(newRolloutId('3.0.0-beta.1', NOW, 'a1b2c3d4')).toBe('ro-3_0_0-beta_1-20261127120000-a1b2c3d4');
    expect(waveExecutionName('ro-x', 7)).toBe('ro-x-w0007');
  });

  it('only the plan item carries releaseId and createdAt (the byRelease index lists rollouts)', () => {
    const p = plan([allowed('a'), allowed('b'), { target: target('c'), decision: deny('LICENSE_REVOKED') }]);
    const items = rolloutItems({ id: 'ro-1', releaseId: RELEASE.id, channel: 'stable', modes: ['saas'], policyVersion: 3, createdBy: 'token:x', now: NOW }, p);
    expect(items.rollout).toMatchObject({
      id: 'ro-1',
      sk: 'plan',
      releaseId: '2.0.0',
      createdAt: NOW.toISOString(),
      status: 'PLANNING',
      waveCount: 2,
      settings: SETTINGS,
      counts: { targets: 3, planned: 2, blocked: 1 },
    });
    expect(items.waves).toEqual([
      { id: 'ro-1', sk: 'wave#0000', index: 0, kind: 'canary', targetIds: ['a'], size: 1, status: 'PENDING', failures: 0, succeeded: 0 },
      { id: 'ro-1', sk: 'wave#0001', index: 1, kind: 'batch', targetIds: ['b'], size: 1, status: 'PENDING', failures: 0, succeeded: 0 },
    ]);
    expect(items.targets.map((t) => [t.sk, t.wave, t.outcome])).toEqual([
      ['target#a', 0, 'planned'],
      ['target#b', 1, 'planned'],
      ['target#c', null, 'skipped-blocked'],
    ]);
    for (const item of [...items.waves, ...items.targets]) {
      expect(item).not.toHaveProperty('releaseId');
      expect(item).not.toHaveProperty('createdAt');
    }
  });
});
