import * as z from 'zod';
import { deploymentMode } from '../policies.js';
import { identifier, isoTimestamp } from './common.js';

export const createLicenseBody = z.strictObject({
  id: identifier.optional(),
  customerId: identifier,
  entitlements: z.strictObject({
    modes: z.array(deploymentMode).min(1).max(4).refine((m) => new Set(m).size === m.length, 'modes must not repeat'),
    maxTargets: z.number().int().min(1).max(1_000_000),
    features: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/)).max(32).default([]),
  }),
  expiresAt: isoTimestamp,
});
export type CreateLicenseBody = z.infer<typeof createLicenseBody>;
