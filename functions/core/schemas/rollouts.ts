// Request shapes of the rollout routes (SPEC §5, §7.4).
import * as z from 'zod';
import { identifier, listQuery, reasonBody } from './common.js';
import { DEPLOYMENT_MODES, deploymentMode, provisioningPolicyDocument } from '../policies.js';

const rolloutSettings = provisioningPolicyDocument.shape.rollout.shape;

/** `POST /rollouts`: settings left out come from the provisioning policy's `rollout`. */
export const startRolloutBody = z.strictObject({
  releaseId: identifier,
  /** A subset of the release's modes; default: all of them. */
  modes: z
    .array(deploymentMode)
    .min(1)
    .max(DEPLOYMENT_MODES.length)
    .refine((m) => new Set(m).size === m.length, 'must not repeat a mode')
    .optional(),
  canarySize: rolloutSettings.canarySize.optional(),
  waveSize: rolloutSettings.waveSize.optional(),
  maxConcurrency: rolloutSettings.maxConcurrency.optional(),
  maxFailures: rolloutSettings.maxFailures.optional(),
});
export type StartRolloutBody = z.infer<typeof startRolloutBody>;

export const listRolloutsQuery = listQuery.extend({ releaseId: identifier });
export type ListRolloutsQuery = z.infer<typeof listRolloutsQuery>;

/** `GET /rollouts/{id}`: `limit` and `cursor` page through the per-target outcomes. */
export const getRolloutQuery = listQuery;

export const haltRolloutBody = reasonBody;
export type HaltRolloutBody = z.infer<typeof haltRolloutBody>;
