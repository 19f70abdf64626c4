// The local stand-in for the release artifact bucket: s3rver (an S3-compatible emulator from npm) on
// 127.0.0.1 and a free port, with the bucket created, its files under `$DCP_DATA_DIR/s3/` (or a temporary
// folder). The adapters reach it through the standard S3 client: AWS_ENDPOINT_URL_S3 names the endpoint
// (functions/adapters/artifacts.ts then asks for path-style requests), DCP_ARTIFACTS_BUCKET the bucket (the
// name the stack gives the functions). s3rver checks SigV4 signatures: the functions' local role
// credentials are registered with it, so presigned URLs are signed and verified for real.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import S3rver from 's3rver';
import { ARTIFACTS_BUCKET_ENV, setS3Client } from '../functions/adapters/artifacts.js';

export const LOCAL_ARTIFACTS_BUCKET = 'dcp-artifacts';

export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  close(): Promise<void>;
}

const requireCjs = createRequire(import.meta.url);

export interface LocalS3Options {
  dataDir?: string;
  port?: number;
  /** The bucket's name (default dcp-artifacts). */
  bucket?: string;
  /** Access keys s3rver accepts, besides its own S3RVER key. */
  credentials?: readonly { accessKeyId: string; secretAccessKey: string }[];
}

export async function startLocalS3(opts: LocalS3Options = {}): Promise<LocalS3> {
  const bucket = opts.bucket ?? LOCAL_ARTIFACTS_BUCKET;
  const { DUMMY_ACCOUNT } = requireCjs('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  for (const c of opts.credentials ?? []) DUMMY_ACCOUNT.createKeyPair(c.accessKeyId, c.secretAccessKey);
  const directory = opts.dataDir ? join(opts.dataDir, 's3') : mkdtempSync(join(tmpdir(), 'dcp-s3-'));
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? Number(process.env.DCP_S3_PORT ?? 0),
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const info = await server.run();
  const endpoint = `http://127.0.0.1:${info.port}`;
  process.env.AWS_ENDPOINT_URL_S3 = endpoint;
  process.env[ARTIFACTS_BUCKET_ENV] = bucket;
  process.env.AWS_REGION ??= 'us-east-1';
  if (!process.env.AWS_ACCESS_KEY_ID) {
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  }
  setS3Client(undefined);
  return {
    endpoint,
    bucket,
    async close() {
      await server.close();
      setS3Client(undefined);
      if (!opts.dataDir) rmSync(directory, { recursive: true, force: true });
    },
  };
}
