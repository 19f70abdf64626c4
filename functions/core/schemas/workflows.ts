import * as z from 'zod';
import { identifier, isoTimestamp, listQuery } from './common.js';

export const startRunBody = z.strictObject({
  releaseId: z.string().min(1).max(128),
});
export type StartRunBody = z.infer<typeof startRunBody>;

/** Idempotency keys: opaque client strings, printable ASCII. */
export const idempotencyKey = z.string().min(8).max(128).regex(/^[\x21-\x7e]+$/, 'must be 8-128 printable ASCII characters without spaces');

export const commandResultStatement = z.strictObject({
  _type: z.literal('command-result'),
  commandId: z.string().min(1).max(200),
  targetId: identifier,
  status: z.enum(['succeeded', 'failed']),
  output: z.record(z.string(), z.unknown()).optional(),
  error: z.strictObject({ name: z.string().min(1).max(100), message: z.string().max(2000) }).optional(),
  issuedAt: isoTimestamp,
});
export const commandResultBody = z.strictObject({
  statement: commandResultStatement,
  signature: z.string().min(1).max(200),
});
export type CommandResultBody = z.infer<typeof commandResultBody>;

export const commandHeartbeatBody = z.strictObject({});

export const listCommandsQuery = listQuery.extend({ status: z.enum(['open', 'all']).optional() });
