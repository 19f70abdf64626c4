import * as z from 'zod';
import { commandId, identifier, isoTimestamp, listQuery, signature, text } from './common.js';

export const startRunBody = z.strictObject({
  releaseId: identifier,
});
export type StartRunBody = z.infer<typeof startRunBody>;

/** Idempotency keys: opaque client strings, printable ASCII. */
export const idempotencyKey = z.string().min(8).max(128).regex(/^[\x21-\x7e]+$/, 'must be 8-128 printable ASCII characters without spaces');

export const commandResultStatement = z.strictObject({
  _type: z.literal('command-result'),
  commandId,
  targetId: identifier,
  status: z.enum(['succeeded', 'failed']),
  output: z.record(text(128, 1), z.unknown()).optional(),
  error: z.strictObject({ name: text(100, 1), message: text(2000) }).optional(),
  issuedAt: isoTimestamp,
});
export const commandResultBody = z.strictObject({
  statement: commandResultStatement,
  signature,
});
export type CommandResultBody = z.infer<typeof commandResultBody>;

export const commandHeartbeatBody = z.strictObject({});

export const listCommandsQuery = listQuery.extend({ status: z.enum(['open', 'all']).optional() });
