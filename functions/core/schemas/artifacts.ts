import * as z from 'zod';

/** What the uploader states about the file it will PUT; both must match the signed manifest. */
export const artifactUploadBody = z.strictObject({
  size: z.number().int().min(0).max(5 * 1024 ** 3),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
});
export type ArtifactUploadBody = z.infer<typeof artifactUploadBody>;
