// What the agent checks before anything changes on disk (SPEC §6 on the host): the manifest's signatures
// against the keys pinned at enrollment and the threshold, its content, expiry, anti-rollback against
// the installed version, and that it is the release the command names. The same pure functions as
// the control plane's publish path (functions/core/manifest.ts), with the pinned keys as the registry.
import semver from 'semver';
import { checkSignedContent, judgeSignatures, manifestEnvelopeSchema, type SignedRelease } from '../../functions/core/manifest.js';
import type { SigningKeyRecord } from '../../functions/core/records.js';

export type Refusal = { ok: false; code: string; message: string };
export type Verified = { ok: true; signed: SignedRelease; signers: string[] };

export interface VerifyOptions {
  pinned: readonly { keyId: string; publicKey: string }[];
  threshold: number;
  now: Date;
  /** The version installed now (anti-rollback), if any. */
  installedVersion?: string;
  /** The release the command names. */
  expectedVersion: string;
  /** A rollback to the retained package may go down; an install may not. */
  allowDowngrade?: boolean;
}

export function verifyReleaseManifest(manifest: unknown, opts: VerifyOptions): Verified | Refusal {
  const envelope = manifestEnvelopeSchema.safeParse(manifest);
  if (!envelope.success) return { ok: false, code: 'RELEASE_MANIFEST_INVALID', message: 'The manifest is not an envelope {signed, signatures}.' };
  const keys: SigningKeyRecord[] = opts.pinned.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey, status: 'active', notBefore: '1970-01-01T00:00:00.000Z', createdAt: '1970-01-01T00:00:00.000Z' }));
  const judgement = judgeSignatures({ manifest: envelope.data }, keys, opts.threshold, opts.now);
  const tampered = judgement.problems.some((p) => p.reason === 'bad-signature' || p.reason === 'malformed-signature');
  if (tampered) return { ok: false, code: 'RELEASE_SIGNATURE_INVALID', message: 'A signature does not verify over the manifest content.' };
  if (!judgement.valid) {
    const unknown = judgement.problems.filter((p) => p.reason === 'unknown-key').map((p) => p.keyId.slice(0, 12));
    return {
      ok: false,
      code: 'RELEASE_SIGNATURE_INVALID',
      message: `${judgement.validSignerKeyIds.length} of ${opts.threshold} required signatures by keys pinned on this host${unknown.length ? `; not pinned: ${unknown.join(', ')}` : ''}.`,
    };
  }
  const content = checkSignedContent(envelope.data.signed);
  if (!content.ok) return { ok: false, code: content.code, message: content.detail };
  const signed = content.value;
  if (signed.version !== opts.expectedVersion) {
    return { ok: false, code: 'RELEASE_MISMATCH', message: `The manifest is for ${signed.version}, the command names ${opts.expectedVersion}.` };
  }
  if (Date.parse(signed.expiresAt) <= opts.now.getTime()) {
    return { ok: false, code: 'RELEASE_EXPIRED', message: `The release expired at ${signed.expiresAt}.` };
  }
  if (opts.installedVersion && semver.valid(opts.installedVersion) && !opts.allowDowngrade) {
    if (semver.lt(signed.version, opts.installedVersion)) {
      return { ok: false, code: 'RELEASE_DOWNGRADE', message: `Release ${signed.version} is below the installed ${opts.installedVersion}.` };
    }
    if (signed.minUpgradeFrom && semver.lt(opts.installedVersion, signed.minUpgradeFrom)) {
      return { ok: false, code: 'UPGRADE_PATH_INVALID', message: `Release ${signed.version} upgrades from ${signed.minUpgradeFrom} or later; ${opts.installedVersion} is installed.` };
    }
  }
  return { ok: true, signed, signers: judgement.validSignerKeyIds };
}
