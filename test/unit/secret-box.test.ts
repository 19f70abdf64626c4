import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SECRET_BOX_ALG,
  SecretBoxError,
  generateRecipientKeyPair,
  openSecretBox,
  openSecrets,
  rawPublicKey,
  sealSecretBox,
  sealSecrets,
  type SecretBox,
} from '../../functions/core/secret-box.js';
import { encodeBase64, decodeBase64Strict } from '../../functions/core/crypto/base64.js';

/** A recipient key made by node:crypto itself, as an installer would, with its raw public key in base64. */
function nodeRecipient() {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: encodeBase64(rawPublicKey(publicKey)), privateKey };
}

function flipByte(text: string, index: number): string {
  const bytes = decodeBase64Strict(text);
  bytes[index % bytes.length]! ^= 0x01;
  return encodeBase64(bytes);
}

describe('secret box', () => {
  it('round-trips to a recipient key made by node:crypto', () => {
    const recipient = nodeRecipient();
    const box = sealSecretBox('s3cr3t-value', recipient.publicKey);
    expect(box.alg).toBe(SECRET_BOX_ALG);
    expect(Buffer.from(openSecretBox(box, recipient.privateKey)).toString('utf8')).toBe('s3cr3t-value');
  });

  it('round-trips any bytes with a raw base64 key pair', () => {
    const recipient = generateRecipientKeyPair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expect(openSecretBox(sealSecretBox(bytes, recipient.publicKey), recipient.privateKey)).toEqual(bytes);
      }),
      { numRuns: 50 },
    );
  });

  it('round-trips a map of secrets and never shows the values in the box', () => {
    const recipient = generateRecipientKeyPair();
    const values = { APP_KEY: 'canary-app-key-7f3a', DB_PASSWORD: 'canary-db-91c2' };
    const box = sealSecrets(values, recipient.publicKey);
    const serialized = JSON.stringify(box);
    for (const v of Object.values(values)) expect(serialized).not.toContain(v);
    expect(openSecrets(box, recipient.privateKey)).toEqual(values);
  });

  it('uses a fresh ephemeral key and nonce for every box', () => {
    const recipient = generateRecipientKeyPair();
    const a = sealSecretBox('same', recipient.publicKey);
    const b = sealSecretBox('same', recipient.publicKey);
    expect(a.epk).not.toBe(b.epk);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('does not open with another key', () => {
    const recipient = nodeRecipient();
    const other = nodeRecipient();
    const box = sealSecretBox('s3cr3t-value', recipient.publicKey);
    expect(() => openSecretBox(box, other.privateKey)).toThrow(SecretBoxError);
  });

  it.each(['ciphertext', 'tag', 'nonce', 'epk'] as const)('does not open when the %s is altered', (field) => {
    const recipient = nodeRecipient();
    const box = sealSecretBox('s3cr3t-value with some length', recipient.publicKey);
    const tampered: SecretBox = { ...box, [field]: flipByte(box[field], 3) };
    expect(() => openSecretBox(tampered, recipient.privateKey)).toThrow(SecretBoxError);
  });

  it('does not open a box whose ciphertext was cut short or whose fields are not base64', () => {
    const recipient = nodeRecipient();
    const box = sealSecretBox('s3cr3t-value', recipient.publicKey);
    const short = encodeBase64(decodeBase64Strict(box.ciphertext).subarray(0, 4));
    expect(() => openSecretBox({ ...box, ciphertext: short }, recipient.privateKey)).toThrow(SecretBoxError);
    expect(() => openSecretBox({ ...box, tag: 'not base64!' }, recipient.privateKey)).toThrow(SecretBoxError);
    expect(() => openSecretBox({ ...box, alg: 'other' as typeof SECRET_BOX_ALG }, recipient.privateKey)).toThrow(SecretBoxError);
  });

  it('refuses a recipient key that is not 32 bytes of base64, or a low-order point', () => {
    expect(() => sealSecretBox('x', 'AAAA')).toThrow(SecretBoxError);
    expect(() => sealSecretBox('x', 'not a key')).toThrow(SecretBoxError);
    // The all-zero point gives an all-zero shared secret whatever the ephemeral key.
    expect(() => sealSecretBox('x', encodeBase64(new Uint8Array(32)))).toThrow(SecretBoxError);
  });
});
