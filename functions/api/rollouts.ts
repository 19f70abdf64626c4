// Rollouts (SPEC §5, §7.4): plan and start one, list a release's rollouts, read one with its waves and
// per-target outcomes, halt one. A rollout spans every tenant on its channel, so tokens restricted to one
// tenant may not use these routes.
import { rolloutRoutes } from '../core/routes/rollouts.js';
import { actorOf, type Principal } from '../core/principal.js';
import { problems } from '../core/problems.js';
import type { RolloutItem } from '../core/rollouts.js';
import type { HaltRolloutBody, ListRolloutsQuery, StartRolloutBody } from '../core/schemas/rollouts.js';
import {
  createRolloutPlan,
  getRollout,
  haltRollout,
  listRollouts,
  listTargetOutcomes,
  listWaves,
  ROLLOUT_LIST_KEYS,
  TARGET_PAGE_KEYS,
} from '../adapters/rollouts.js';
import { createApiHandler, type ApiRequest } from './lib/http.js';
import { pageRequest, pageResponse } from './lib/pagination.js';

function allTenants(principal: Principal): void {
  if (principal.tenant !== undefined) {
    throw problems.forbidden(`Rollouts span every tenant of a channel; this token is restricted to tenant ${principal.tenant}.`);
  }
}

/** The API shape of a stored item: keys that only serve the table are left out. */
function view<T extends { sk?: unknown }>(item: T): Omit<T, 'sk'> {
  const { sk: _sk, ...rest } = item;
  void _sk;
  return rest;
}

const location = (id: string) => `/api/v1/deployment-server/rollouts/${encodeURIComponent(id)}`;

export const handler = createApiHandler(
  'rollouts',
  {
    async startRollout(req: ApiRequest<StartRolloutBody>) {
      allTenants(req.principal);
      const { releaseId, ...options } = req.body;
      const { rollout } = await createRolloutPlan(releaseId, options, actorOf(req.principal), req.now);
      const c = rollout.counts;
      return {
        status: 202,
        body: {
          id: rollout.id,
          status: rollout.status,
          waves: rollout.waveCount,
          planned: c.planned,
          skipped: c.blocked + c.skipped,
          blocked: c.blocked,
          waitingWindow: c.waitingWindow,
          settings: rollout.settings,
          adjustments: rollout.adjustments,
        },
        headers: { location: location(rollout.id) },
      };
    },

    async listRollouts(req: ApiRequest<unknown, ListRolloutsQuery>) {
      allTenants(req.principal);
      const q = req.query;
      const page = await pageRequest(q, ['rollouts', q.releaseId], ROLLOUT_LIST_KEYS, { releaseId: q.releaseId });
      const { items, lastKey } = await listRollouts(q.releaseId, page.limit, page.startKey);
      return { status: 200, body: pageResponse(items.map(view), lastKey, page) };
    },

    async getRollout(req: ApiRequest<unknown, { limit?: number; cursor?: string }>) {
      allTenants(req.principal);
      const id = req.params.id!;
      const page = await pageRequest(req.query, ['rollout-targets', id], TARGET_PAGE_KEYS, { id });
      const rollout = await getRollout(id);
      if (!rollout) throw problems.notFound('ROLLOUT_NOT_FOUND', `No rollout ${id}.`);
      const [waves, targets] = await Promise.all([listWaves(id), listTargetOutcomes(id, page.limit, page.startKey)]);
      return {
        status: 200,
        body: {
          ...view<RolloutItem>(rollout),
          waves: waves.map((w) => {
            const { id: _id, ...rest } = view(w);
            void _id;
            return rest;
          }),
          targets: pageResponse(
            targets.items.map((t) => {
              const { id: _id, ...rest } = view(t);
              void _id;
              return rest;
            }),
            targets.lastKey,
            page,
          ),
        },
      };
    },

    async haltRollout(req: ApiRequest<HaltRolloutBody>) {
      allTenants(req.principal);
      const { rollout, stopped } = await haltRollout(req.params.id!, req.body.reason, actorOf(req.principal), req.now);
      return { status: 200, body: { ...view(rollout), stopped } };
    },
  },
  rolloutRoutes,
);
