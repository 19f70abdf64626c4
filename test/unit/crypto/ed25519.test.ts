import { readFileSync } from 'node:fs';
import { createHash, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  isUsablePublicKey,
  keyIdOf,
  parsePublicKey,
  publicKeyFromSecret,
  sign,
  verify,
} from '../../../functions/core/crypto/ed25519.js';
import { encodeBase64 } from '../../../functions/core/crypto/base64.js';

interface WycheproofFile {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: { tcId: number; comment: string; msg: string; sig: string; result: 'valid' | 'invalid' }[] }[];
}
const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/wycheproof/wycheproof_ed25519_test.json', import.meta.url), 'utf8'),
) as WycheproofFile;
const cases = vectors.testGroups.flatMap((group) =>
  group.tests.map((test) => ({ ...test, pk: group.publicKey.pk })),
);
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

describe('Ed25519 against Wycheproof', () => {
  it('has the 151 cases the provenance note describes', () => {
    expect(cases).toHaveLength(151);
    expect(vectors.numberOfTests).toBe(151);
  });

  it.each(cases)('case $tcId ($comment) is $result', ({ pk, msg, sig, result }) => {
    expect(verify(bytes(sig), bytes(msg), bytes(pk))).toBe(result === 'valid');
  });

  it('accepts exactly the 88 valid cases and rejects the 63 invalid ones', () => {
    const accepted = cases.filter((c) => verify(bytes(c.sig), bytes(c.msg), bytes(c.pk)));
    expect(accepted).toHaveLength(88);
    expect(cases.length - accepted.length).toBe(63);
    expect(accepted.every((c) => c.result === 'valid')).toBe(true);
  });
});

describe('Ed25519 interoperability with node:crypto', () => {
  it('verifies what node:crypto signs, and node:crypto verifies what we sign', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
    const message = new TextEncoder().encode('interop');
    expect(verify(new Uint8Array(nodeSign(null, message, privateKey)), message, raw)).toBe(true);

    const ours = generateKeyPair();
    const signature = sign(message, ours.secretKey);
    const nodeKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(ours.publicKey).toString('base64url') }, format: 'jwk' });
    expect(nodeVerify(null, message, nodeKey, signature)).toBe(true);
  });

  it('names keys by the lowercase hex SHA-256 of the raw key', () => {
    const { publicKey } = generateKeyPair();
    expect(keyIdOf(publicKey)).toBe(createHash('sha256').update(publicKey).digest('hex'));
    expect(keyIdOf(publicKey)).toMatch(/^[0-9a-f]{64}$/);
    expect(() => keyIdOf(new Uint8Array(31))).toThrow(RangeError);
  });

  it('rejects a signature after any single bit of the message or signature changes', () => {
    const { secretKey, publicKey } = generateKeyPair();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 7 }), fc.boolean(), (message, at, bit, inSignature) => {
        const signature = sign(message, secretKey);
        expect(verify(signature, message, publicKey)).toBe(true);
        const target = inSignature ? signature.slice() : message.slice();
        target[at % target.length]! ^= 1 << bit;
        return inSignature ? !verify(target, message, publicKey) : !verify(signature, target, publicKey);
      }),
      { numRuns: 100 },
    );
  });
});

describe('public keys', () => {
  it('refuses small-order and non-canonical keys', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral element, order 1
    expect(isUsablePublicKey(identity)).toBe(false);
    const nonCanonical = new Uint8Array(32).fill(0xff);
    nonCanonical[31] = 0x7f; // y = 2^255 - 1 >= p
    expect(isUsablePublicKey(nonCanonical)).toBe(false);
    expect(isUsablePublicKey(publicKeyFromSecret(new Uint8Array(32).fill(7)))).toBe(true);
  });

  it('parses only strict base64 of a usable 32-byte key', () => {
    const { publicKey } = generateKeyPair();
    const text = encodeBase64(publicKey);
    expect(parsePublicKey(text)).toEqual(publicKey);
    expect(() => parsePublicKey(text.slice(0, -1))).toThrow();
    expect(() => parsePublicKey(` ${text}`)).toThrow();
    expect(() => parsePublicKey(encodeBase64(new Uint8Array(33)))).toThrow();
  });
});
