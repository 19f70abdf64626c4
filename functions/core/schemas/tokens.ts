import * as z from 'zod';
import { isoTimestamp } from './common.js';

/** `admin`, `operator`, `auditor`, `target:<id>`, `tenant:<tenantId>`. */
export const scopeString = z
  .string()
  .regex(/^(admin|operator|auditor|(target|tenant):[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/, 'must be admin, operator, auditor, target:<id> or tenant:<tenantId>');

export const createTokenBody = z.strictObject({
  scopes: z.array(scopeString).min(1).max(8),
  description: z.string().max(200).optional(),
  expiresAt: isoTimestamp.optional(),
});
export type CreateTokenBody = z.infer<typeof createTokenBody>;
