import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../../functions/core/crypto/base64.js';
import { generateKeyPair } from '../../../functions/core/crypto/ed25519.js';
import { signStatement, verifySignedStatement } from '../../../functions/core/crypto/signed-statement.js';

const key = generateKeyPair();
const pub = encodeBase64(key.publicKey);
const statement = { _type: 'attestation', targetId: 't-1', issuedAt: '2026-11-02T00:00:00Z', runtime: { php: '8.3.1' }, flags: { appDebug: false } };

describe('signed statements', () => {
  it('verifies a statement whatever its member order', () => {
    const signed = signStatement(statement, key.secretKey);
    expect(verifySignedStatement(signed, pub)).toEqual({ ok: true });
    const reordered = Object.fromEntries(Object.entries(statement).reverse());
    expect(verifySignedStatement({ statement: reordered, signature: signed.signature }, pub)).toEqual({ ok: true });
  });

  it('tells a changed statement, a malformed signature, a bad key and non-JSON apart', () => {
    const signed = signStatement(statement, key.secretKey);
    const changed = { ...statement, flags: { appDebug: true } };
    expect(verifySignedStatement({ statement: changed, signature: signed.signature }, pub)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifySignedStatement({ statement, signature: signed.signature.replace('==', '') }, pub)).toMatchObject({ ok: false, reason: 'malformed-signature' });
    expect(verifySignedStatement({ statement, signature: 42 }, pub)).toMatchObject({ ok: false, reason: 'malformed-signature' });
    expect(verifySignedStatement(signed, `${pub} `)).toMatchObject({ ok: false, reason: 'malformed-key' });
    expect(verifySignedStatement({ statement: { n: Number.NaN }, signature: signed.signature }, pub)).toMatchObject({ ok: false, reason: 'not-canonicalizable' });
    const other = generateKeyPair();
    expect(verifySignedStatement(signed, encodeBase64(other.publicKey))).toMatchObject({ ok: false, reason: 'bad-signature' });
  });
});
