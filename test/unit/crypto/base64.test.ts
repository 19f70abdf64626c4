import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Base64Error, decodeBase64Strict, encodeBase64, tryDecodeBase64Strict } from '../../../functions/core/crypto/base64.js';

describe('strict base64', () => {
  it('round-trips any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      expect(decodeBase64Strict(encodeBase64(bytes))).toEqual(bytes);
    }));
  });

  it('decodes a text only when re-encoding gives the same text back', () => {
    const alphabet = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\t.'];
    fc.assert(fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }).map((cs) => cs.join('')), (text) => {
      const decoded = tryDecodeBase64Strict(text);
      if (decoded !== undefined) expect(encodeBase64(decoded)).toBe(text);
    }), { numRuns: 2000 });
  });

  it('refuses any junk character inserted into a valid encoding', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.constantFrom(' ', '\n', '\r', '\t', '-', '_', '.', '=', '*'), (bytes, at, junk) => {
      const text = encodeBase64(bytes);
      const i = at % (text.length + 1);
      expect(() => decodeBase64Strict(text.slice(0, i) + junk + text.slice(i))).toThrow(Base64Error);
    }));
  });

  it('refuses texts that Node decodes leniently to the same bytes', () => {
    const bytes = new Uint8Array([0xde, 0xad, 0xbe, 0xef]); // "3q2+7w=="
    const canonical = encodeBase64(bytes);
    expect(canonical).toBe('3q2+7w==');
    const variants = ['3q2+7w', '3q2+7x==', '3q2-7w==', '3q2+\n7w==', ' 3q2+7w==', '3q2+7w===', '3q2+7w=', '3q2+7w==\n'];
    for (const text of variants) {
      expect(Buffer.from(text, 'base64')).toEqual(Buffer.from(bytes)); // the lenient reading agrees...
      expect(() => decodeBase64Strict(text), text).toThrow(Base64Error); // ...the strict one refuses
    }
  });

  it('checks the decoded length when asked', () => {
    expect(decodeBase64Strict('AAAA', 3)).toHaveLength(3);
    expect(() => decodeBase64Strict('AAAA', 4)).toThrow(/Expected 4 bytes/);
    expect(decodeBase64Strict('')).toHaveLength(0);
    expect(tryDecodeBase64Strict(42)).toBeUndefined();
  });
});
