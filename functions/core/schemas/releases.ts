// Request bodies of the release, signing-key and packaging routes (SPEC §5, §6).
import * as z from 'zod';
import { isoTimestamp } from './common.js';
import { manifestEnvelopeSchema } from '../manifest.js';
import { deploymentMode } from '../policies.js';
import { tryDecodeBase64Strict } from '../crypto/base64.js';
import { isUsablePublicKey, keyIdOf, PUBLIC_KEY_LENGTH } from '../crypto/ed25519.js';

/**
 * `POST /releases`: the manifest envelope, strict (`signed` itself is open). Publishing hands the raw body
 * to verifyManifest, which applies this schema itself so failures carry RELEASE_MANIFEST_INVALID or
 * RELEASE_SIGNATURE_INVALID rather than a generic validation code; this export documents the shape.
 */
export const publishReleaseBody = manifestEnvelopeSchema;
export type PublishReleaseBody = z.infer<typeof publishReleaseBody>;

/** `POST /signing-keys`: a raw Ed25519 key in strict base64; keyId must be its SHA-256. */
export const addSigningKeyBody = z
  .strictObject({
    keyId: z.string().regex(/^[0-9a-f]{64}$/, 'must be the lowercase hex SHA-256 of the raw public key'),
    publicKey: z.string().max(64),
    notBefore: isoTimestamp.optional(),
    notAfter: isoTimestamp.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.notBefore !== undefined && body.notAfter !== undefined && Date.parse(body.notAfter) <= Date.parse(body.notBefore)) {
      ctx.addIssue({ code: 'custom', path: ['notAfter'], message: 'must be after notBefore' });
    }
    const raw = tryDecodeBase64Strict(body.publicKey, PUBLIC_KEY_LENGTH);
    if (!raw || !isUsablePublicKey(raw)) {
      ctx.addIssue({ code: 'custom', path: ['publicKey'], message: 'must be a usable 32-byte Ed25519 public key in strict standard base64' });
    } else if (keyIdOf(raw) !== body.keyId) {
      ctx.addIssue({ code: 'custom', path: ['keyId'], message: 'does not match the SHA-256 of publicKey' });
    }
  });
export type AddSigningKeyBody = z.infer<typeof addSigningKeyBody>;

/** `POST /packaging/validate-config`: env as an object of strings or as `.env` text. */
export const validateConfigBody = z.strictObject({
  mode: deploymentMode,
  env: z.union([z.record(z.string().min(1).max(256), z.string().max(65_536)), z.string().max(262_144)]),
});
export type ValidateConfigBody = z.infer<typeof validateConfigBody>;
