// The release artifact store (S3): objects are content-addressed (`artifacts/sha256/<hex>`), so the
// bytes behind a key can only be the ones its name promises, and the same file shared by releases is
// stored once. Presigned PUTs sign Content-Length and x-amz-checksum-sha256, so S3 refuses any other
// file; presigned GETs live for minutes. The bucket comes from DCP_ARTIFACTS_BUCKET (set by the stack
// with the grant); locally AWS_ENDPOINT_URL_S3 points the standard client at the emulator.
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export const ARTIFACTS_BUCKET_ENV = 'DCP_ARTIFACTS_BUCKET';
export const DOWNLOAD_URL_SECONDS = 5 * 60;
export const UPLOAD_URL_SECONDS = 15 * 60;

let client: S3Client | undefined;

export function s3(): S3Client {
  // Default configuration (region, credentials and endpoint from the environment); an emulator at a
  // custom endpoint only answers path-style requests.
  client ??= new S3Client(process.env.AWS_ENDPOINT_URL_S3 ? { forcePathStyle: true } : {});
  return client;
}

export function setS3Client(next: S3Client | undefined): void {
  client = next;
}

export function artifactsBucket(): string {
  const bucket = process.env[ARTIFACTS_BUCKET_ENV];
  if (!bucket) throw new Error(`No artifact bucket: set ${ARTIFACTS_BUCKET_ENV}`);
  return bucket;
}

export function artifactKey(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RangeError('an artifact key is a lowercase hex sha256');
  return `artifacts/sha256/${sha256}`;
}

const hexToBase64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

export interface PresignedUpload {
  url: string;
  method: 'PUT';
  /** Headers the PUT must carry exactly (they are signed). */
  headers: Record<string, string>;
  expiresAt: string;
  key: string;
}

export async function presignUpload(sha256: string, size: number, now: Date): Promise<PresignedUpload> {
  const key = artifactKey(sha256);
  const checksum = hexToBase64(sha256);
  const url = await getSignedUrl(
    s3(),
    new PutObjectCommand({ Bucket: artifactsBucket(), Key: key, ContentLength: size, ChecksumSHA256: checksum, ContentType: 'application/octet-stream' }),
    { expiresIn: UPLOAD_URL_SECONDS, signableHeaders: new Set(['content-length', 'content-type', 'x-amz-checksum-sha256']) },
  );
  return {
    url,
    method: 'PUT',
    headers: { 'content-length': String(size), 'content-type': 'application/octet-stream', 'x-amz-checksum-sha256': checksum },
    expiresAt: new Date(now.getTime() + UPLOAD_URL_SECONDS * 1000).toISOString(),
    key,
  };
}

export async function presignDownload(sha256: string, now: Date): Promise<{ url: string; expiresAt: string }> {
  const url = await getSignedUrl(s3(), new GetObjectCommand({ Bucket: artifactsBucket(), Key: artifactKey(sha256) }), { expiresIn: DOWNLOAD_URL_SECONDS });
  return { url, expiresAt: new Date(now.getTime() + DOWNLOAD_URL_SECONDS * 1000).toISOString() };
}

/** Size of the stored object, or undefined when there is none. */
export async function storedSize(sha256: string): Promise<number | undefined> {
  try {
    const out = await s3().send(new HeadObjectCommand({ Bucket: artifactsBucket(), Key: artifactKey(sha256) }));
    return out.ContentLength;
  } catch (e) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (e as Error).name === 'NotFound') return undefined;
    throw e;
  }
}
