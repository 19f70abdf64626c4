// Opaque pagination cursors: base64url of {k: DynamoDB key, q: query fingerprint} and an HMAC-SHA256 tag
// under the deployment's cursor secret (functions/adapters/cursor-secret.ts). A cursor that was altered, or
// that belongs to another query, decodes to a 400 problem, never a 500: without the secret no one can make
// a tag for an edited key, and the decoded key is still checked against the query it continues (its
// attribute names and types, and the partition the query reads).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { problems } from './problems.js';
import { TABLES, type AttributeType } from './tables.js';

/** The environment variable naming the cursor secret (a Secrets Manager ARN) in AWS. */
export const CURSOR_SECRET_ENV = 'DCP_CURSOR_SECRET_ARN';

type KeyValue = string | number;
export type CursorKey = Record<string, KeyValue>;

/** What a continued query's start key must look like. */
export interface CursorShape {
  /** Attribute names of the table and index keys, exactly. */
  readonly names: readonly string[];
  /** Attributes whose value is fixed by the query (its partition). */
  readonly fixed?: Readonly<Record<string, KeyValue>>;
  /** Types of names that are not table key attributes (e.g. a service's own page token). */
  readonly types?: Readonly<Record<string, 'S' | 'N'>>;
}

/** The type of every key attribute name of every table and index (names mean one type throughout). */
const KEY_TYPES: ReadonlyMap<string, AttributeType> = (() => {
  const types = new Map<string, AttributeType>();
  for (const spec of Object.values(TABLES)) {
    const attrs = [spec.partitionKey, spec.sortKey, ...(spec.indexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey])];
    for (const a of attrs) {
      if (!a) continue;
      const seen = types.get(a.name);
      if (seen && seen !== a.type) throw new Error(`Key attribute ${a.name} has two types`);
      types.set(a.name, a.type);
    }
  }
  return types;
})();

function digest(text: string): string {
  return createHmac('sha256', 'dcp:query').update(text).digest('base64url').slice(0, 22);
}

function tag(payload: string, secret: Uint8Array): Buffer {
  return createHmac('sha256', secret).update('dcp:cursor:v2\n').update(payload).digest();
}

export function queryFingerprint(parts: readonly unknown[]): string {
  return digest(JSON.stringify(parts));
}

export function encodeCursor(key: CursorKey, fingerprint: string, secret: Uint8Array): string {
  const payload = Buffer.from(JSON.stringify({ k: key, q: fingerprint }), 'utf8').toString('base64url');
  return `${payload}.${tag(payload, secret).toString('base64url')}`;
}

/** Decode a cursor for a query: authenticated with `secret`, bound to `fingerprint`, shaped like `shape`. */
export function decodeCursor(cursor: string, fingerprint: string, shape: CursorShape, secret: Uint8Array): CursorKey {
  const dot = cursor.indexOf('.');
  if (dot <= 0) throw problems.badCursor();
  const payload = cursor.slice(0, dot);
  const mac = cursor.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(payload) || !/^[A-Za-z0-9_-]{43}$/.test(mac)) throw problems.badCursor();
  const presented = Buffer.from(mac, 'base64url');
  const expected = tag(payload, secret);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw problems.badCursor();
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
  if (names.length !== shape.names.length || !shape.names.every((n) => names.includes(n))) throw problems.badCursor();
  for (const n of names) {
    const v = key[n];
    const type = shape.types?.[n] ?? KEY_TYPES.get(n);
    const ok =
      type === 'N'
        ? typeof v === 'number' && Number.isFinite(v)
        : type === 'S'
          ? typeof v === 'string' && v.length > 0 && Buffer.byteLength(v, 'utf8') <= 1024
          : false;
    if (!ok) throw problems.badCursor();
    const fixed = shape.fixed?.[n];
    if (fixed !== undefined && v !== fixed) throw problems.badCursor();
  }
  return key as CursorKey;
}
