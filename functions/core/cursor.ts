// Opaque pagination cursors: base64url of {k: DynamoDB key, q: query fingerprint} plus a checksum.
// A cursor that was altered, or that belongs to another query, decodes to a 400 problem, never a 500.
// (The checksum catches tampering and truncation; a cursor only positions a query the caller may run
// anyway, so it carries no authority that would need a secret key.)
import { createHash } from 'node:crypto';
import { problems } from './problems.js';

type KeyValue = string | number;
export type CursorKey = Record<string, KeyValue>;

function digest(payload: string): string {
  return createHash('sha256').update(payload).digest('base64url').slice(0, 16);
}

export function queryFingerprint(parts: readonly unknown[]): string {
  return digest(JSON.stringify(parts));
}

export function encodeCursor(key: CursorKey, fingerprint: string): string {
  const payload = Buffer.from(JSON.stringify({ k: key, q: fingerprint }), 'utf8').toString('base64url');
  return `${payload}.${digest(payload)}`;
}

/**
 * Decode a cursor for a query; `keyNames` are the attribute names the key must have (table and index keys).
 */
export function decodeCursor(cursor: string, fingerprint: string, keyNames: readonly string[]): CursorKey {
  const dot = cursor.indexOf('.');
  if (dot <= 0) throw problems.badCursor();
  const payload = cursor.slice(0, dot);
  if (!/^[A-Za-z0-9_-]+$/.test(payload) || digest(payload) !== cursor.slice(dot + 1)) throw problems.badCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw problems.badCursor();
  }
  if (!parsed || typeof parsed !== 'object') throw problems.badCursor();
  const { k, q } = parsed as { k?: unknown; q?: unknown };
  if (q !== fingerprint || !k || typeof k !== 'object' || Array.isArray(k)) throw problems.badCursor();
  const key = k as Record<string, unknown>;
  const names = Object.keys(key);
  if (names.length !== keyNames.length || !keyNames.every((n) => names.includes(n))) throw problems.badCursor();
  for (const n of names) {
    const v = key[n];
    if (!((typeof v === 'string' && v.length > 0 && v.length <= 1024) || (typeof v === 'number' && Number.isFinite(v)))) {
      throw problems.badCursor();
    }
  }
  return key as CursorKey;
}
