// Schemas shared by several routes: pagination, identifiers, hashes, keys, free text, timestamps. Every
// string, integer and array a request carries is bounded here or next to its route, and the OpenAPI
// document is generated from these schemas, so the bounds the server enforces are the ones it documents.
import * as z from 'zod';

export const MAX_PAGE_SIZE = 100;
/** Cursors are opaque base64url texts of at most this many characters. */
export const MAX_CURSOR_LENGTH = 2048;

// ---------------------------------------------------------------------------------------------------------
// Identifiers: one alphabet, safe in URLs, DynamoDB keys and Step Functions execution names.

export const ID_ALPHABET = 'letters, digits, ".", "_" and "-", starting with a letter or digit';
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Longest id of each kind: client-chosen ids, run ids (Step Functions names), command ids. */
export const ID_MAX_LENGTH = { id: 64, run: 80, command: 200 } as const;

export function idSchema(maxLength: number) {
  return z
    .string()
    .min(1)
    .max(maxLength)
    .regex(ID_PATTERN, `must use only ${ID_ALPHABET}`)
    .describe(`Identifier: 1 to ${maxLength} ${ID_ALPHABET}`);
}

/**
 * Ids of targets, licenses, customers, tenants, billing accounts, tokens and releases (a release id is its
 * version, which this alphabet and length cover).
 */
export const identifier = idSchema(ID_MAX_LENGTH.id);
/** Ids of executions and rollouts (generated; Step Functions execution names are at most 80 characters). */
export const runId = idSchema(ID_MAX_LENGTH.run);
/** Ids of agent commands (generated from the run, the step and the attempt). */
export const commandId = idSchema(ID_MAX_LENGTH.command);

// ---------------------------------------------------------------------------------------------------------
// Hashes and keys

/** Lowercase hex of a digest of `bytes` bytes, e.g. a SHA-256 (32). */
export function hexDigest(bytes: number, message = `must be ${bytes * 2} lowercase hex digits`) {
  return z
    .string()
    .length(bytes * 2)
    .regex(/^[0-9a-f]+$/, message);
}
/** Signing-key ids: the lowercase hex SHA-256 of the raw public key. */
export const keyId = hexDigest(32, 'must be the lowercase hex SHA-256 of the raw public key');

/** Last base64 characters whose unused low bits are zero, by how many bits are unused (2 or 4). */
const ZERO_TAIL: Record<number, string> = { 2: 'AEIMQUYcgkosw048', 4: 'AQgw' };

/**
 * Canonical padded standard base64 of exactly `bytes` bytes (32-byte keys, 64-byte signatures). The
 * pattern is the whole rule for the shape; domain code decodes strictly and checks the bytes' meaning.
 */
export function base64Bytes(bytes: number) {
  const chars = Math.ceil(bytes / 3) * 4;
  const pad = (3 - (bytes % 3)) % 3;
  const pattern =
    pad === 0
      ? new RegExp(`^[A-Za-z0-9+/]{${chars}}$`)
      : new RegExp(`^[A-Za-z0-9+/]{${chars - pad - 1}}[${ZERO_TAIL[pad * 2]}]${'='.repeat(pad)}$`);
  return z.string().length(chars).regex(pattern, `must be ${bytes} bytes in canonical padded base64 (${chars} characters)`);
}
/** An Ed25519 signature (64 bytes) in canonical base64. */
export const signature = base64Bytes(64);

// ---------------------------------------------------------------------------------------------------------
// Text, timestamps, integers

const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

/** Free text (names, reasons, descriptions): at most `max` characters, no control characters. */
export function text(max: number, min = 0) {
  return z.string().min(min).max(max).regex(NO_CONTROL, 'must not contain control characters');
}

const TEXTUAL = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;

/** Text that may span lines (tab, LF and CR allowed; no other control characters). */
export function multilineText(max: number) {
  return z.string().max(max).regex(TEXTUAL, 'must not contain control characters other than tab and line breaks');
}

/** ISO 8601 date-time with an offset; at most 9 fractional digits (35 characters). */
export const isoTimestamp = z.iso.datetime({ offset: true }).max(35);

/**
 * `If-Match`: the ETag of a version (`"7"`, weakly `W/"7"`, or bare digits). A value of any other shape is
 * a 412 (it names no version), not a 400, so this schema documents the header rather than gating it.
 */
export const IF_MATCH_PATTERN = /^(?:W\/)?"(\d{1,12})"$|^(\d{1,12})$/;
export const ifMatchHeader = z.string().min(1).max(17).regex(IF_MATCH_PATTERN, 'must be the ETag of a version');

export const reasonBody = z.strictObject({
  reason: text(1000).trim().min(1),
});

/** An opaque page cursor, as an earlier page answered it. */
export const cursor = z
  .string()
  .min(1)
  .max(MAX_CURSOR_LENGTH)
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be a cursor from an earlier page');

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  cursor: cursor.optional(),
});
