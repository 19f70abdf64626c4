// Strict standard base64 (RFC 4648 §4, padded). Node's Buffer.from(text, 'base64') skips whitespace and
// junk, accepts the URL-safe alphabet, missing padding and non-zero trailing bits, so one signature or key
// could be written many ways. Here a text decodes only if encoding the result gives that text back.

export class Base64Error extends Error {
  override readonly name = 'Base64Error';
}

const SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Decode canonical padded base64. Throws Base64Error on any other alphabet, whitespace, missing or extra
 * padding, non-zero trailing bits, or (when given) a decoded length other than `expectedLength`.
 */
export function decodeBase64Strict(text: string, expectedLength?: number): Uint8Array {
  if (typeof text !== 'string') throw new Base64Error('Expected a base64 string');
  if (!SHAPE.test(text)) {
    throw new Base64Error('Not canonical base64: use the standard alphabet with "=" padding and no whitespace');
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (encodeBase64(bytes) !== text) {
    throw new Base64Error('Not canonical base64: the unused trailing bits must be zero');
  }
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new Base64Error(`Expected ${expectedLength} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Like decodeBase64Strict, but answers undefined instead of throwing. */
export function tryDecodeBase64Strict(text: unknown, expectedLength?: number): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    return decodeBase64Strict(text, expectedLength);
  } catch {
    return undefined;
  }
}
