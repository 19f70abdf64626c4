// List routes: page size and opaque cursors bound to the query they came from, authenticated with the
// deployment's cursor secret.
import { decodeCursor, encodeCursor, queryFingerprint, type CursorKey, type CursorShape } from '../../core/cursor.js';
import { cursorSecret } from '../../adapters/cursor-secret.js';

export const DEFAULT_PAGE_SIZE = 25;

export interface PageRequest {
  limit: number;
  startKey?: CursorKey;
  fingerprint: string;
  secret: Uint8Array;
}

/**
 * Resolve `limit` and `cursor` for a query identified by `queryParts` over a key with `keyNames`; `fixed`
 * names the key attributes the query itself fixes (its partition), which a cursor must carry unchanged.
 */
export async function pageRequest(
  query: { limit?: number; cursor?: string },
  queryParts: readonly unknown[],
  keyNames: readonly string[],
  fixed?: CursorShape['fixed'],
  types?: CursorShape['types'],
): Promise<PageRequest> {
  const fingerprint = queryFingerprint(queryParts);
  const secret = await cursorSecret();
  return {
    limit: query.limit ?? DEFAULT_PAGE_SIZE,
    fingerprint,
    secret,
    ...(query.cursor ? { startKey: decodeCursor(query.cursor, fingerprint, { names: keyNames, ...(fixed ? { fixed } : {}), ...(types ? { types } : {}) }, secret) } : {}),
  };
}

export function pageResponse<T>(items: T[], lastKey: Record<string, unknown> | undefined, page: PageRequest) {
  return {
    items,
    cursor: lastKey ? encodeCursor(lastKey as CursorKey, page.fingerprint, page.secret) : null,
  };
}
