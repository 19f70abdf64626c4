// Detached-signature statements `{statement, signature}`: the signature is base64 Ed25519 over the RFC 8785
// bytes of `statement`. Targets sign attestations this way and agents sign command results (SPEC §5, §7.3).
import { canonicalBytes, CanonicalizationError } from './canonical.js';
import { decodeBase64Strict, encodeBase64 } from './base64.js';
import { parsePublicKey, sign, SIGNATURE_LENGTH, verify } from './ed25519.js';

export interface SignedStatement<S = unknown> {
  statement: S;
  signature: string;
}

export type StatementVerification =
  | { ok: true }
  | {
      ok: false;
      /**
       * `malformed-signature`: not strict base64 of 64 bytes; `malformed-key`: the public key is not a usable
       * base64 Ed25519 key; `not-canonicalizable`: the statement is not I-JSON; `bad-signature`: well-formed
       * but does not verify.
       */
      reason: 'malformed-signature' | 'malformed-key' | 'not-canonicalizable' | 'bad-signature';
      message: string;
    };

/** Sign `statement` with a 32-byte secret seed; returns the pair as it travels. */
export function signStatement<S>(statement: S, secretKey: Uint8Array): SignedStatement<S> {
  return { statement, signature: encodeBase64(sign(canonicalBytes(statement), secretKey)) };
}

/** Verify a signed statement against a base64 Ed25519 public key. Never throws. */
export function verifySignedStatement(
  input: { statement: unknown; signature: unknown },
  publicKeyBase64: string,
): StatementVerification {
  let publicKey: Uint8Array;
  try {
    publicKey = parsePublicKey(publicKeyBase64);
  } catch (error) {
    return { ok: false, reason: 'malformed-key', message: `The public key is not usable: ${(error as Error).message}` };
  }
  let signature: Uint8Array;
  try {
    signature = decodeBase64Strict(input.signature as string, SIGNATURE_LENGTH);
  } catch (error) {
    return { ok: false, reason: 'malformed-signature', message: `The signature is malformed: ${(error as Error).message}` };
  }
  let message: Uint8Array;
  try {
    message = canonicalBytes(input.statement);
  } catch (error) {
    if (!(error instanceof CanonicalizationError)) throw error;
    return { ok: false, reason: 'not-canonicalizable', message: `The statement is not I-JSON: ${error.message}` };
  }
  if (!verify(signature, message, publicKey)) {
    return { ok: false, reason: 'bad-signature', message: 'The signature does not verify with the given key.' };
  }
  return { ok: true };
}
