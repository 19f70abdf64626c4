import * as z from 'zod';
import { deploymentMode } from '../policies.js';
import { identifier, isoTimestamp } from './common.js';

/** License features: lower-case words joined by "-". */
export const featureName = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case words joined by "-"');

export const createLicenseBody = z.strictObject({
  id: identifier.optional(),
  customerId: identifier,
  entitlements: z.strictObject({
    modes: z.array(deploymentMode).min(1).max(4).refine((m) => new Set(m).size === m.length, 'modes must not repeat'),
    maxTargets: z.number().int().min(1).max(1_000_000),
    features: z.array(featureName).max(32).default([]),
  }),
  expiresAt: isoTimestamp,
});
export type CreateLicenseBody = z.infer<typeof createLicenseBody>;
