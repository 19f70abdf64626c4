// Request bodies of the release, signing-key and packaging routes (SPEC §5, §6).
import * as z from 'zod';
import { base64Bytes, isoTimestamp, keyId, multilineText, text } from './common.js';
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
    keyId,
    publicKey: base64Bytes(PUBLIC_KEY_LENGTH),
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

/** Limits of `POST /packaging/validate-config`. */
export const CONFIG_LIMITS = { keys: 4096, keyLength: 256, valueLength: 65_536, textLength: 262_144 } as const;
/** The answer lists at most this many violations (`valid` is judged on all of them). */
export const MAX_CONFIG_VIOLATIONS = 1000;

/** `POST /packaging/validate-config`: env as an object of strings or as `.env` text. */
export const validateConfigBody = z.strictObject({
  mode: deploymentMode,
  env: z.union([
    z
      .record(text(CONFIG_LIMITS.keyLength, 1), multilineText(CONFIG_LIMITS.valueLength))
      .refine((env) => Object.keys(env).length <= CONFIG_LIMITS.keys, `at most ${CONFIG_LIMITS.keys} keys`)
      .meta({ maxProperties: CONFIG_LIMITS.keys }),
    multilineText(CONFIG_LIMITS.textLength),
  ]),
});
export type ValidateConfigBody = z.infer<typeof validateConfigBody>;
