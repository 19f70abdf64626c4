// Plan rollout: the first step of a rollout started by the ReleasePublished rule or by the schedule. It
// plans exactly as POST /rollouts does (createRolloutPlan), under an id derived from the event so a
// redelivered event answers the same rollout, and records this execution as the rollout's.
import { createRolloutPlan, listRollouts } from '../adapters/rollouts.js';
import { getChannelHead, getRelease } from '../adapters/releases.js';
import { ProblemError } from '../core/problems.js';
import { rolloutIdForEvent } from '../core/rollouts.js';
import { rolloutError, ROLLOUT_NOT_STARTED } from './lib/rollout.js';

interface PlanPayload {
  /** The execution input: an EventBridge event ({id, detail: {releaseId}}) or the schedule's {schedule: {channel}}. */
  event: { id?: string; detail?: { releaseId?: string }; schedule?: { channel?: string } };
  executionArn: string;
}

export async function handler(payload: PlanPayload): Promise<{ id: string; status: string; summary: string }> {
  const now = new Date();
  let releaseId = payload.event.detail?.releaseId;
  const channel = payload.event.schedule?.channel;
  if (!releaseId && channel) releaseId = (await getChannelHead(channel))?.version;
  if (!releaseId) throw rolloutError(ROLLOUT_NOT_STARTED, JSON.stringify({ reason: 'the event names no release, and its channel has none' }));
  // The schedule catches up on lost ReleasePublished events: a release that already had a rollout (running,
  // halted by an operator, or ended) had its event, so the schedule leaves it alone.
  // A revoked head is never rolled out: its publication's event started nothing either.
  if (!payload.event.id && channel) {
    if ((await listRollouts(releaseId, 1)).items.length > 0) {
      return { id: '', status: 'SKIPPED', summary: `Release ${releaseId} (newest on ${channel}) already had a rollout: nothing to catch up` };
    }
    if ((await getRelease(releaseId))?.status === 'revoked') {
      return { id: '', status: 'SKIPPED', summary: `Release ${releaseId} (newest on ${channel}) is revoked: nothing to catch up` };
    }
  }
  // The execution's own name is unique per event delivery chain; the id keeps a re-delivered event idempotent.
  const basis = payload.event.id ?? payload.executionArn;
  const id = rolloutIdForEvent(basis);
  try {
    const { rollout } = await createRolloutPlan(releaseId, { id, executionArn: payload.executionArn }, payload.event.id ? 'events:ReleasePublished' : 'events:schedule', now);
    return { id: rollout.id, status: rollout.status, summary: `Planned rollout ${rollout.id} of ${releaseId}: ${rollout.waveCount} wave(s), ${rollout.counts.planned} target(s) to update, ${rollout.counts.blocked} blocked` };
  } catch (e) {
    if (e instanceof ProblemError && e.status < 500) {
      throw rolloutError(ROLLOUT_NOT_STARTED, JSON.stringify({ releaseId, code: e.code, detail: e.detail }));
    }
    throw e;
  }
}
