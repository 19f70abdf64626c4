import * as z from 'zod';
import { hexDigest } from './common.js';

/** What the uploader states about the file it will PUT; both must match the signed manifest. */
export const artifactUploadBody = z.strictObject({
  size: z.number().int().min(0).max(5 * 1024 ** 3),
  sha256: hexDigest(32),
});
export type ArtifactUploadBody = z.infer<typeof artifactUploadBody>;
