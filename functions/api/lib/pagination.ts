// List routes: page size and opaque cursors bound to the query they came from.
import { decodeCursor, encodeCursor, queryFingerprint, type CursorKey } from '../../core/cursor.js';

export const DEFAULT_PAGE_SIZE = 25;

export interface PageRequest {
  limit: number;
  startKey?: CursorKey;
  fingerprint: string;
}

/** Resolve `limit` and `cursor` for a query identified by `queryParts` over a key with `keyNames`. */
export function pageRequest(query: { limit?: number; cursor?: string }, queryParts: readonly unknown[], keyNames: readonly string[]): PageRequest {
  const fingerprint = queryFingerprint(queryParts);
  return {
    limit: query.limit ?? DEFAULT_PAGE_SIZE,
    fingerprint,
    ...(query.cursor ? { startKey: decodeCursor(query.cursor, fingerprint, keyNames) } : {}),
  };
}

export function pageResponse<T>(items: T[], lastKey: Record<string, unknown> | undefined, page: PageRequest) {
  return {
    items,
    cursor: lastKey ? encodeCursor(lastKey as CursorKey, page.fingerprint) : null,
  };
}
