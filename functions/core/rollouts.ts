import { createHash } from 'node:crypto';
// Rollouts (SPEC §7.4), pure: which targets of a release's channel and modes are updated, in which waves,
// and what happens to the rest; the items that record a rollout in the `rollouts` table; and the verdict
// after a wave. The plan is a deterministic function of the targets, their decisions and the time.
import { InvalidCronError, windowOpensAt, type MaintenanceWindow } from './cron.js';
import type { Decision } from './decisions.js';
import type { DeploymentMode, ProvisioningPolicy } from './policies.js';
import type { Blocker, ReleaseRecord, TargetRecord } from './records.js';

export type RolloutSettings = ProvisioningPolicy['rollout'];

/** PLANNING only while the plan's items are being written; the API's statuses are the other four. */
export type RolloutStatus = 'PLANNING' | 'RUNNING' | 'SUCCEEDED' | 'HALTED' | 'FAILED';
export type WaveStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'HALTED';
export type WaveKind = 'canary' | 'batch';

/**
 * What became of one target. At planning: `planned` (in a wave, may update as soon as its wave runs),
 * `waiting-window` (in a wave, but its maintenance window is closed: the wave waits for windowOpensAt),
 * `skipped-blocked` (the update decision denied it: never in a wave), `skipped` (not updatable at all:
 * see `skip`). The wave runner moves wave members on to `updating`, then `succeeded` / `failed`, or
 * `halted` when the rollout stops before it reaches them.
 */
export type TargetOutcome = 'planned' | 'waiting-window' | 'skipped-blocked' | 'skipped' | 'updating' | 'succeeded' | 'failed' | 'halted';

export const SKIP_CODES = ['TARGET_NOT_ACTIVE', 'ALREADY_ON_RELEASE', 'MAINTENANCE_WINDOW_INVALID'] as const;
export type SkipCode = (typeof SKIP_CODES)[number];

export interface SkipReason {
  readonly code: SkipCode;
  readonly message: string;
}

/**
 * A wave runs as one child execution whose history grows with its size (Step Functions: 25,000 events),
 * and its item lists its members (DynamoDB: 400 KB); the parent execution's history grows with the number
 * of waves. Settings beyond these bounds are brought inside them and the change is noted on the plan.
 */
export const MAX_WAVE_SIZE = 1000;
export const MAX_WAVES = 1000;

// ---------------------------------------------------------------------------------------------------------
// Items of the `rollouts` table: partition `id` (the rollout), sort key `sk`.

export const PLAN_SK = 'plan';
export const WAVE_SK_PREFIX = 'wave#';
export const TARGET_SK_PREFIX = 'target#';

export function waveSk(index: number): string {
  return `${WAVE_SK_PREFIX}${String(index).padStart(4, '0')}`;
}

export function targetSk(targetId: string): string {
  return `${TARGET_SK_PREFIX}${targetId}`;
}

export interface RolloutCounts {
  /** Targets of the channel and modes that were considered. */
  targets: number;
  /** Placed in a wave (includes waitingWindow). */
  planned: number;
  /** In a wave, but outside their maintenance window when planned. */
  waitingWindow: number;
  /** Denied by the update decision. */
  blocked: number;
  /** Not updatable (not active, already on the release, unreadable window). */
  skipped: number;
  /** Kept by the wave runner. */
  succeeded: number;
  failed: number;
}

/** `sk = 'plan'`: the rollout. Only this item carries releaseId and createdAt, so byRelease lists rollouts. */
export interface RolloutItem {
  id: string;
  sk: typeof PLAN_SK;
  releaseId: string;
  channel: string;
  modes: DeploymentMode[];
  status: RolloutStatus;
  /** The settings the waves use (after MAX_WAVE_SIZE / MAX_WAVES). */
  settings: RolloutSettings;
  /** Why the settings differ from what was asked for; empty when they do not. */
  adjustments: string[];
  waveCount: number;
  counts: RolloutCounts;
  /** Provisioning policy version the defaults came from. */
  policyVersion: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  executionArn?: string;
  haltedAt?: string;
  haltedBy?: string;
  haltReason?: string;
  failedAt?: string;
  failureReason?: string;
  finishedAt?: string;
}

/** `sk = 'wave#0000'…`: one wave, run as one child execution named waveExecutionName(id, index). */
export interface WaveItem {
  id: string;
  sk: string;
  index: number;
  kind: WaveKind;
  /** Members in update order (by target id). */
  targetIds: string[];
  size: number;
  status: WaveStatus;
  failures: number;
  succeeded: number;
  startedAt?: string;
  stoppedAt?: string;
  executionArn?: string;
}

/** `sk = 'target#<id>'`: one target's outcome. */
export interface RolloutTargetItem {
  id: string;
  sk: string;
  targetId: string;
  mode: DeploymentMode;
  /** Wave index, or null for targets in no wave (blocked, skipped). */
  wave: number | null;
  outcome: TargetOutcome;
  blockers?: Blocker[];
  skip?: SkipReason;
  /** Self-hosted targets with a maintenance window: when the update may start (planning time if open). */
  windowOpensAt?: string;
  maintenanceWindow?: MaintenanceWindow;
  /** The update run, once the wave started it. */
  executionId?: string;
  updatedAt: string;
}

// ---------------------------------------------------------------------------------------------------------
// Names

const unsafe = /[^A-Za-z0-9_-]/g;

/**
 * `ro-<release>-<yyyymmddhhmmss>-<random>`: readable in the console, sortable by time, and a valid Step
 * Functions execution name (at most 80 of [A-Za-z0-9_-]) with room for the wave suffix.
 */
export function newRolloutId(releaseId: string, now: Date, random: string): string {
  const stamp = now.toISOString().replace(/[-:TZ]/g, '').slice(0, 14);
  return `ro-${releaseId.replace(unsafe, '_').slice(0, 40)}-${stamp}-${random.replace(unsafe, '').slice(0, 8)}`;
}

/**
 * The rollout an event-started execution plans: derived from the event id (or, without one, the execution
 * ARN) so a redelivered event answers the same rollout and the reconciler can find it again.
 */
export function rolloutIdForEvent(basis: string): string {
  return `ro-evt-${createHash('sha256').update(basis).digest('hex').slice(0, 24)}`;
}

/** The child execution of one wave. */
export function waveExecutionName(rolloutId: string, index: number): string {
  return `${rolloutId}-w${String(index).padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------------------------------------
// Planning

/** The target fields a plan reads. */
export type PlanTarget = Pick<TargetRecord, 'id' | 'mode' | 'status' | 'currentRelease' | 'maintenanceWindow'>;

export interface RolloutCandidate {
  target: PlanTarget;
  /** The `update` decision for the release; needed for every target skipReason() lets through. */
  decision?: Decision;
}

export interface PlanInput {
  release: Pick<ReleaseRecord, 'id'>;
  targets: readonly RolloutCandidate[];
  settings: RolloutSettings;
  now: Date;
}

export interface PlannedWave {
  index: number;
  kind: WaveKind;
  targetIds: string[];
}

export type PlannedTarget = Omit<RolloutTargetItem, 'id' | 'sk' | 'updatedAt' | 'executionId'>;

export interface RolloutPlan {
  settings: RolloutSettings;
  adjustments: string[];
  waves: PlannedWave[];
  /** Every considered target, by id. */
  targets: PlannedTarget[];
  counts: RolloutCounts;
}

/**
 * Why a target is not updated at all, before any decision: only active targets are updated (a
 * provisioning, updating, blocked or decommissioned one is not), and one already on the release has
 * nothing to do. Targets this lets through need a decision.
 */
export function skipReason(target: Pick<TargetRecord, 'id' | 'status' | 'currentRelease'>, releaseId: string): SkipReason | undefined {
  if (target.status !== 'active') {
    return { code: 'TARGET_NOT_ACTIVE', message: `Target ${target.id} is ${target.status}; only active targets are updated by a rollout.` };
  }
  if (target.currentRelease === releaseId) {
    return { code: 'ALREADY_ON_RELEASE', message: `Target ${target.id} already runs release ${releaseId}.` };
  }
  return undefined;
}

/** Settings inside MAX_WAVE_SIZE, with a note for each change. */
export function boundedSettings(settings: RolloutSettings): { settings: RolloutSettings; adjustments: string[] } {
  const adjustments: string[] = [];
  const bound = (name: 'canarySize' | 'waveSize'): number => {
    if (settings[name] <= MAX_WAVE_SIZE) return settings[name];
    adjustments.push(`${name} ${settings[name]} lowered to ${MAX_WAVE_SIZE}, the largest wave one child execution runs`);
    return MAX_WAVE_SIZE;
  };
  return { settings: { ...settings, canarySize: bound('canarySize'), waveSize: bound('waveSize') }, adjustments };
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function planRollout(input: PlanInput): RolloutPlan {
  const now = input.now;
  if (Number.isNaN(now.getTime())) throw new RangeError('planRollout: now is not a valid date');
  const bounded = boundedSettings(input.settings);
  const settings = bounded.settings;
  const adjustments = [...bounded.adjustments];

  const seen = new Set<string>();
  const candidates = input.targets
    .filter(({ target }) => (seen.has(target.id) ? false : (seen.add(target.id), true)))
    .sort((a, b) => byId(a.target, b.target));

  const outcomes = new Map<string, PlannedTarget>();
  /** Targets that go into waves, by id, with when they may start (undefined: now). */
  const eligible: { id: string; waitsUntil?: string }[] = [];
  for (const { target, decision } of candidates) {
    const base = { targetId: target.id, mode: target.mode, wave: null };
    const skip = skipReason(target, input.release.id);
    if (skip) {
      outcomes.set(target.id, { ...base, outcome: 'skipped', skip });
      continue;
    }
    if (!decision) throw new Error(`planRollout: no decision for target ${target.id}`);
    if (decision.decision === 'deny') {
      outcomes.set(target.id, { ...base, outcome: 'skipped-blocked', blockers: decision.blockers });
      continue;
    }
    // SPEC §7.4: only self-hosted targets are updated inside their maintenance window.
    const window = target.mode === 'self-hosted' ? target.maintenanceWindow : undefined;
    if (!window) {
      outcomes.set(target.id, { ...base, outcome: 'planned' });
      eligible.push({ id: target.id });
      continue;
    }
    let opensAt: Date;
    try {
      opensAt = windowOpensAt(window, now);
    } catch (e) {
      if (!(e instanceof InvalidCronError) && !(e instanceof RangeError)) throw e;
      const message = `Target ${target.id} has a maintenance window that cannot be used (${e.message}); fix it with PATCH /targets/${target.id}.`;
      outcomes.set(target.id, { ...base, outcome: 'skipped', skip: { code: 'MAINTENANCE_WINDOW_INVALID', message } });
      continue;
    }
    const waits = opensAt.getTime() > now.getTime();
    const maintenanceWindow = { cron: window.cron, durationMinutes: window.durationMinutes };
    outcomes.set(target.id, { ...base, outcome: waits ? 'waiting-window' : 'planned', windowOpensAt: opensAt.toISOString(), maintenanceWindow });
    eligible.push({ id: target.id, ...(waits ? { waitsUntil: opensAt.toISOString() } : {}) });
  }

  // The canary should tell early whether the release is healthy, so it takes targets that can update now
  // (by id) before any that wait for a window. The rest follow in batches, by id.
  const readyFirst = [...eligible.filter((e) => !e.waitsUntil), ...eligible.filter((e) => e.waitsUntil)];
  const canary = readyFirst.slice(0, settings.canarySize).map((e) => e.id);
  const inCanary = new Set(canary);
  const rest = eligible.filter((e) => !inCanary.has(e.id)).map((e) => e.id);
  let waveSize = settings.waveSize;
  const batchCount = Math.ceil(rest.length / waveSize);
  if (batchCount + 1 > MAX_WAVES) {
    waveSize = Math.ceil(rest.length / (MAX_WAVES - 1));
    adjustments.push(`waveSize ${settings.waveSize} raised to ${waveSize} so the rollout has at most ${MAX_WAVES} waves`);
  }
  if (waveSize > MAX_WAVE_SIZE) {
    throw new RangeError(`planRollout: ${eligible.length} targets do not fit in ${MAX_WAVES} waves of ${MAX_WAVE_SIZE}`);
  }

  const waves: PlannedWave[] = [];
  if (canary.length > 0) waves.push({ index: 0, kind: 'canary', targetIds: canary });
  for (let i = 0; i < rest.length; i += waveSize) {
    waves.push({ index: waves.length, kind: 'batch', targetIds: rest.slice(i, i + waveSize) });
  }
  for (const wave of waves) for (const id of wave.targetIds) outcomes.get(id)!.wave = wave.index;

  const targets = [...outcomes.values()];
  const count = (o: TargetOutcome) => targets.filter((t) => t.outcome === o).length;
  return {
    settings: { ...settings, waveSize },
    adjustments,
    waves,
    targets,
    counts: {
      targets: targets.length,
      planned: eligible.length,
      waitingWindow: count('waiting-window'),
      blocked: count('skipped-blocked'),
      skipped: count('skipped'),
      succeeded: 0,
      failed: 0,
    },
  };
}

/** After a wave: go on, or halt because its failures passed the provisioning policy's maxFailures. */
export function waveVerdict(failures: number, maxFailures: number): 'continue' | 'halt' {
  return failures > maxFailures ? 'halt' : 'continue';
}

// ---------------------------------------------------------------------------------------------------------
// Items

export interface RolloutHeader {
  id: string;
  releaseId: string;
  channel: string;
  modes: DeploymentMode[];
  policyVersion: number;
  createdBy: string;
  now: Date;
}

/** The items that record a plan. The plan item starts PLANNING; its writer moves it on once the rest is written. */
export function rolloutItems(header: RolloutHeader, plan: RolloutPlan): { rollout: RolloutItem; waves: WaveItem[]; targets: RolloutTargetItem[] } {
  const at = header.now.toISOString();
  const rollout: RolloutItem = {
    id: header.id,
    sk: PLAN_SK,
    releaseId: header.releaseId,
    channel: header.channel,
    modes: header.modes,
    status: 'PLANNING',
    settings: plan.settings,
    adjustments: plan.adjustments,
    waveCount: plan.waves.length,
    counts: plan.counts,
    policyVersion: header.policyVersion,
    createdAt: at,
    createdBy: header.createdBy,
    updatedAt: at,
  };
  const waves = plan.waves.map(
    (w): WaveItem => ({
      id: header.id,
      sk: waveSk(w.index),
      index: w.index,
      kind: w.kind,
      targetIds: w.targetIds,
      size: w.targetIds.length,
      status: 'PENDING',
      failures: 0,
      succeeded: 0,
    }),
  );
  const targets = plan.targets.map((t): RolloutTargetItem => ({ id: header.id, sk: targetSk(t.targetId), ...t, updatedAt: at }));
  return { rollout, waves, targets };
}
