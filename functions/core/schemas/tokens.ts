import * as z from 'zod';
import { ID_MAX_LENGTH, isoTimestamp, text } from './common.js';

/** `admin`, `operator`, `auditor`, `target:<id>`, `tenant:<tenantId>`. */
export const scopeString = z
  .string()
  .min(5)
  .max('target:'.length + ID_MAX_LENGTH.id)
  .regex(/^(admin|operator|auditor|(target|tenant):[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/, 'must be admin, operator, auditor, target:<id> or tenant:<tenantId>');

export const createTokenBody = z.strictObject({
  scopes: z.array(scopeString).min(1).max(8),
  description: text(200).optional(),
  expiresAt: isoTimestamp.optional(),
});
export type CreateTokenBody = z.infer<typeof createTokenBody>;
