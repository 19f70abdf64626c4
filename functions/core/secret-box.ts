// Sealed boxes for secrets on their way to a customer-run target (SPEC §7.3): only the holder of the
// target's X25519 private key can open them. An ephemeral key pair per box gives an ECDH shared secret
// with the recipient's key; HKDF-SHA256 turns it into an AES-256-GCM key, binding both public keys and a
// fixed context string, so a box cannot be re-addressed to another key or reused as another protocol's.
import {
  KeyObject,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import { decodeBase64Strict, encodeBase64 } from './crypto/base64.js';

export const SECRET_BOX_ALG = 'X25519-HKDF-SHA256-A256GCM';
const CONTEXT = 'dcp secret-box v1';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

// DER prefixes that wrap a raw 32-byte X25519 key as SPKI / PKCS#8 (RFC 8410, OID 1.3.101.110).
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A sealed box; every binary field is standard padded base64. */
export interface SecretBox {
  alg: typeof SECRET_BOX_ALG;
  /** The sender's ephemeral X25519 public key. */
  epk: string;
  nonce: string;
  ciphertext: string;
  tag: string;
}

/** A box that cannot be opened: wrong key, altered bytes, or not a box at all. Never says which. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

type KeyInput = string | Uint8Array | KeyObject;

function rawBytes(key: string | Uint8Array, what: string): Buffer {
  try {
    return Buffer.from(typeof key === 'string' ? decodeBase64Strict(key, KEY_BYTES) : key);
  } catch {
    throw new SecretBoxError(`${what} is not a 32-byte X25519 key in base64`);
  }
}

function publicKeyObject(key: KeyInput): KeyObject {
  if (key instanceof KeyObject) return key.type === 'public' ? key : createPublicKey(key);
  const raw = rawBytes(key, 'The recipient public key');
  if (raw.length !== KEY_BYTES) throw new SecretBoxError('The recipient public key must be 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function privateKeyObject(key: KeyInput): KeyObject {
  if (key instanceof KeyObject) return key;
  const raw = rawBytes(key, 'The recipient private key');
  if (raw.length !== KEY_BYTES) throw new SecretBoxError('The recipient private key must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** The raw 32 bytes of an X25519 public key object. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - KEY_BYTES));
}

function rawPrivateKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return new Uint8Array(der.subarray(der.length - KEY_BYTES));
}

/** A fresh recipient key pair as raw base64 (what an installer generates; tests and the simulated agent use it). */
export function generateRecipientKeyPair(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: encodeBase64(rawPublicKey(publicKey)), privateKey: encodeBase64(rawPrivateKey(privateKey)) };
}

function deriveKey(shared: Buffer, epk: Uint8Array, recipient: Uint8Array): Buffer {
  // An all-zero shared secret means a low-order public key: nobody but the sender would know the key.
  if (shared.every((b) => b === 0)) throw new SecretBoxError('The public key is not usable for key agreement');
  const info = Buffer.concat([Buffer.from(CONTEXT, 'utf8'), epk, recipient]);
  return Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), info, KEY_BYTES));
}

function agree(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  try {
    return diffieHellman({ privateKey, publicKey });
  } catch {
    throw new SecretBoxError('The public key is not usable for key agreement');
  }
}

/** Seal `plaintext` to the recipient's X25519 public key (raw base64, raw bytes or a KeyObject). */
export function sealSecretBox(plaintext: string | Uint8Array, recipientPublicKey: KeyInput): SecretBox {
  const recipient = publicKeyObject(recipientPublicKey);
  const ephemeral = generateKeyPairSync('x25519');
  const epk = rawPublicKey(ephemeral.publicKey);
  const key = deriveKey(agree(ephemeral.privateKey, recipient), epk, rawPublicKey(recipient));
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  return {
    alg: SECRET_BOX_ALG,
    epk: encodeBase64(epk),
    nonce: encodeBase64(nonce),
    ciphertext: encodeBase64(ciphertext),
    tag: encodeBase64(cipher.getAuthTag()),
  };
}

/** Open a box with the recipient's X25519 private key. Throws SecretBoxError if it does not open. */
export function openSecretBox(box: SecretBox, recipientPrivateKey: KeyInput): Uint8Array {
  if (!box || box.alg !== SECRET_BOX_ALG) throw new SecretBoxError(`Not a ${SECRET_BOX_ALG} box`);
  const privateKey = privateKeyObject(recipientPrivateKey);
  const recipient = createPublicKey(privateKey);
  let epk: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array;
  try {
    epk = decodeBase64Strict(box.epk, KEY_BYTES);
    nonce = decodeBase64Strict(box.nonce, NONCE_BYTES);
    ciphertext = decodeBase64Strict(box.ciphertext);
    tag = decodeBase64Strict(box.tag, TAG_BYTES);
  } catch {
    throw new SecretBoxError('The box is malformed');
  }
  const key = deriveKey(agree(privateKey, publicKeyObject(epk)), epk, rawPublicKey(recipient));
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    throw new SecretBoxError('The box does not open with this key (wrong key or altered content)');
  }
}

/** Seal a set of named secret values as one box (the install-secrets command's `sealed` field). */
export function sealSecrets(values: Readonly<Record<string, string>>, recipientPublicKey: KeyInput): SecretBox {
  return sealSecretBox(JSON.stringify(values), recipientPublicKey);
}

/** Open a box made by sealSecrets. */
export function openSecrets(box: SecretBox, recipientPrivateKey: KeyInput): Record<string, string> {
  const text = Buffer.from(openSecretBox(box, recipientPrivateKey)).toString('utf8');
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new SecretBoxError('The box does not hold a map of secret values');
  }
  return parsed as Record<string, string>;
}
