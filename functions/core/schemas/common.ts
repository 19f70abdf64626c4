// Schemas shared by several routes: pagination, identifiers, reasons, timestamps.
import * as z from 'zod';

export const MAX_PAGE_SIZE = 100;

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

/** Identifiers chosen by clients: safe in URLs, DynamoDB keys and Step Functions execution names. */
export const identifier = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and use only letters, digits, ".", "_" and "-"');

export const isoTimestamp = z.iso.datetime({ offset: true });

export const reasonBody = z.strictObject({
  reason: z.string().trim().min(1).max(1000),
});
