// Ed25519 as RFC 8032 defines it strictly (the behaviour Wycheproof's vectors pin down): non-canonical
// point encodings, S >= L and small-order public keys are refused. @noble/ed25519 defaults to the more
// permissive ZIP-215 rules, so every verification here passes `zip215: false`.
import { createHash } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { Base64Error, decodeBase64Strict, encodeBase64 } from './base64.js';

export const PUBLIC_KEY_LENGTH = 32;
export const SECRET_SEED_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

// The synchronous API needs a SHA-512; node:crypto's is native and always present.
if (ed.hashes.sha512 === undefined) {
  ed.hashes.sha512 = (message) => new Uint8Array(createHash('sha512').update(message).digest());
}

export interface Ed25519KeyPair {
  /** The 32-byte RFC 8032 secret seed. */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** Lowercase hex SHA-256 of the 32-byte raw public key: how manifests and the key registry name keys. */
export function keyIdOf(publicKey: Uint8Array): string {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) throw new RangeError(`An Ed25519 public key has ${PUBLIC_KEY_LENGTH} bytes`);
  return createHash('sha256').update(publicKey).digest('hex');
}

export function generateKeyPair(): Ed25519KeyPair {
  const { secretKey, publicKey } = ed.keygen();
  return { secretKey, publicKey };
}

export function publicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  return ed.getPublicKey(secretKey);
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed.sign(message, secretKey);
}

/** Strict RFC 8032 verification. Never throws: wrong lengths or undecodable points are simply invalid. */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Whether `publicKey` can ever verify a signature under the strict rules: 32 bytes, a canonical encoding
 * of a curve point, and not of small order (such keys "verify" forged signatures in lenient verifiers).
 */
export function isUsablePublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  try {
    return !ed.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** Decode a base64 public key strictly and check it is usable. Throws Base64Error with the reason. */
export function parsePublicKey(text: string): Uint8Array {
  const bytes = decodeBase64Strict(text, PUBLIC_KEY_LENGTH);
  if (!isUsablePublicKey(bytes)) throw new Base64Error('Not a usable Ed25519 public key (invalid or small-order point)');
  return bytes;
}

export function encodePublicKey(publicKey: Uint8Array): string {
  return encodeBase64(publicKey);
}
