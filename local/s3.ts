// The local stand-in for the release artifact bucket: s3rver (an S3-compatible emulator from npm) on
// 127.0.0.1 and a free port, with the bucket created, its files under `$DCP_DATA_DIR/s3/` (or a temporary
// folder). The adapters reach it through the standard S3 client: AWS_ENDPOINT_URL_S3 names the endpoint
// (functions/adapters/artifacts.ts then asks for path-style requests), DCP_ARTIFACTS_BUCKET the bucket,
// and the emulator's fixed credentials are set unless the environment already has some.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { ARTIFACTS_BUCKET_ENV, setS3Client } from '../functions/adapters/artifacts.js';

export const LOCAL_ARTIFACTS_BUCKET = 'dcp-artifacts';

export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  close(): Promise<void>;
}

export async function startLocalS3(opts: { dataDir?: string; port?: number } = {}): Promise<LocalS3> {
  const directory = opts.dataDir ? join(opts.dataDir, 's3') : mkdtempSync(join(tmpdir(), 'dcp-s3-'));
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? Number(process.env.DCP_S3_PORT ?? 0),
    silent: true,
    directory,
    configureBuckets: [{ name: LOCAL_ARTIFACTS_BUCKET, configs: [] }],
  });
  const info = await server.run();
  const endpoint = `http://127.0.0.1:${info.port}`;
  process.env.AWS_ENDPOINT_URL_S3 = endpoint;
  process.env[ARTIFACTS_BUCKET_ENV] = LOCAL_ARTIFACTS_BUCKET;
  process.env.AWS_REGION ??= 'us-east-1';
  if (!process.env.AWS_ACCESS_KEY_ID) {
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  }
  setS3Client(undefined);
  return {
    endpoint,
    bucket: LOCAL_ARTIFACTS_BUCKET,
    async close() {
      await server.close();
      setS3Client(undefined);
      if (!opts.dataDir) rmSync(directory, { recursive: true, force: true });
    },
  };
}
