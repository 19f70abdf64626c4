// API token format and hashing. A token is `dcp_<id>.<secret>`; only SHA-256 of the whole token string
// is stored (the secret has 256 bits of entropy, so a fast hash is enough), compared in constant time.
// A bootstrap admin token chosen by an operator (DCP_ADMIN_TOKEN, or the stack's Secrets Manager value)
// may have any form: tokens not in the `dcp_` form are looked up under the id "bootstrap".
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const BOOTSTRAP_TOKEN_ID = 'bootstrap';
const TOKEN_RE = /^dcp_([a-z0-9]{20})\.([A-Za-z0-9_-]{43})$/;

export function hashTokenSecret(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): { id: string; token: string } {
  const id = randomBytes(10).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `dcp_${id}.${secret}` };
}

/** The token id to look up, or undefined when the header value cannot be a token at all. */
export function tokenIdOf(token: string): string | undefined {
  if (token.length < 16 || token.length > 512) return undefined;
  const m = TOKEN_RE.exec(token);
  if (m) return m[1];
  return BOOTSTRAP_TOKEN_ID;
}

export function hashesEqual(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}

/** `Authorization: Bearer <token>` → token, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

export interface TokenRecord {
  id: string;
  secretHash: string;
  scopes: string[];
  description?: string;
  createdAt: string;
  createdBy: string;
  expiresAt?: string;
  revokedAt?: string;
  revokedBy?: string;
}

export type TokenCheck =
  | { ok: true; record: TokenRecord }
  | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked' | 'expired' };

/** Pure judgement of a presented token against its stored record at time `now`. */
export function checkToken(token: string, record: TokenRecord | undefined, now: Date): TokenCheck {
  if (!record) return { ok: false, reason: 'unknown' };
  if (!hashesEqual(hashTokenSecret(token), record.secretHash)) return { ok: false, reason: 'mismatch' };
  if (record.revokedAt) return { ok: false, reason: 'revoked' };
  if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, record };
}

export type PublicToken = Omit<TokenRecord, 'secretHash'> & { status: 'active' | 'revoked' | 'expired' };

/** What listing shows of a token: everything but the hash, with its status at `now`. */
export function publicToken(r: TokenRecord, now: Date): PublicToken {
  const { secretHash: _hash, ...rest } = r;
  void _hash;
  const status = r.revokedAt ? 'revoked' : r.expiresAt && Date.parse(r.expiresAt) <= now.getTime() ? 'expired' : 'active';
  return { ...rest, status };
}
