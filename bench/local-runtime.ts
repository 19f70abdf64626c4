// The local runtime for the HTTP benches, in this process: an in-memory DynamoDB Local, tables under a
// fresh prefix, the bootstrap admin token and the API server (the same handlers and authorizer as in AWS),
// plus a small HTTP client that times each call. stop() takes it all down and restores the environment.
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

const ENV_KEYS = ['DCP_DYNAMODB_ENDPOINT', 'DCP_TABLE_PREFIX', 'DCP_LOG_LEVEL', ...TABLE_IDS.map(tableEnvVar)];

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

    // The adapters read these when called; set them before the first call (and before importing handlers).
    process.env.DCP_DYNAMODB_ENDPOINT = emulator.endpoint;
    process.env.DCP_TABLE_PREFIX = prefix;
    process.env.DCP_LOG_LEVEL = 'silent';
    for (const id of TABLE_IDS) delete process.env[tableEnvVar(id)];
    // The adapters keep one client per process; an earlier section may have pointed it at another emulator.
    // Same marshalling options as functions/adapters/dynamo.ts.
    const documentClient = DynamoDBDocumentClient.from(low, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
    const { setDdbClient } = await import('../functions/adapters/dynamo.js');
    setDdbClient(documentClient);

    const { bootstrapAdminToken } = await import('../functions/adapters/tokens.js');
    const adminToken = await bootstrapAdminToken();
    const { startApiServer } = await import('../local/server.js');
    // List routes keep their cursor secret in the secret store (Secrets Manager in AWS).
    const { setSecretStore } = await import('../functions/adapters/secrets.js');
    const { LocalSecretStore } = await import('../local/secret-store.js');
    setSecretStore(LocalSecretStore.inMemory());
    const server = await startApiServer({ port: 0 });
    stops.push(() => server.close());
    stops.push(async () => setSecretStore(undefined));

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
