// The local runtime for the HTTP benches, in this process: an in-memory DynamoDB Local, tables under a
// fresh prefix and the whole local runtime (local/runtime.ts: every function in its own environment with
// its own IAM, as deployed), plus a small HTTP client that times each call. stop() takes it all down and restores the environment.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_IDS, tableEnvVar } from '../functions/core/tables.js';
import { localDynamoDbClient, startDynamoDbLocal, type DynamoDbLocal } from '../local/dynamodb-local.js';
import { createTables } from '../local/tables.js';

export const API_BASE = '/api/v1/deployment-server';

export interface CallResult<T = any> {
  readonly status: number;
  readonly body: T;
  readonly ms: number;
}

export interface LocalRuntime {
  readonly url: string;
  readonly adminToken: string;
  /** The document client the handlers use (pointed at this emulator). */
  readonly documentClient: DynamoDBDocumentClient;
  /** `path` is below API_BASE unless it starts with `/healthz` or `/openapi.json`. */
  call<T = any>(method: string, path: string, body?: unknown): Promise<CallResult<T>>;
  stop(): Promise<void>;
}

const ENV_KEYS = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SFN', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ENDPOINT_URL_EVENTBRIDGE', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'DCP_LOG_LEVEL', ...TABLE_IDS.map(tableEnvVar)];

export async function startLocalRuntime(log: (message: string) => void): Promise<LocalRuntime> {
  const savedEnv = new Map(ENV_KEYS.map((key) => [key, process.env[key]]));
  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    stops.length = 0;
    for (const [key, value] of savedEnv) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  try {
    log('[bench] starting DynamoDB Local (in memory)');
    const emulator: DynamoDbLocal = await startDynamoDbLocal({ port: 0 });
    stops.push(() => emulator.stop());
    const prefix = `bench_${randomBytes(4).toString('hex')}_`;
    const low = localDynamoDbClient(emulator.endpoint);
    stops.push(async () => low.destroy());
    await createTables(low, prefix);

    // This process's own adapter calls (fixtures, direct reads) go to the emulator; the functions get theirs.
    process.env.AWS_ENDPOINT_URL_DYNAMODB = emulator.endpoint;
    process.env.DCP_LOG_LEVEL = 'silent';
    const { startLocalRuntime: startRuntime } = await import('../local/runtime.js');
    const runtime = await startRuntime({ tablePrefix: prefix, rolloutOnPublish: false, retryIntervalMs: 0 });
    stops.push(() => runtime.close());
    const server = { url: runtime.url };
    const adminToken = runtime.adminToken;
    // Same marshalling options as functions/adapters/dynamo.ts.
    const documentClient = DynamoDBDocumentClient.from(low, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });

    const call = async <T>(method: string, path: string, body?: unknown): Promise<CallResult<T>> => {
      const root = path.startsWith('/healthz') || path.startsWith('/openapi.json');
      const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const start = performance.now();
      const response = await fetch(`${server.url}${root ? '' : API_BASE}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      const ms = performance.now() - start;
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, ms };
    };
    return { url: server.url, adminToken, documentClient, call, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Throws unless the call answered `status`. */
export function expectStatus<T>(result: CallResult<T>, status: number, what: string): CallResult<T> {
  if (result.status !== status) {
    throw new Error(`${what}: expected HTTP ${status}, got ${result.status} ${JSON.stringify(result.body).slice(0, 300)}`);
  }
  return result;
}
