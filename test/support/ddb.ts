// Test files that touch DynamoDB call useLocalTables() at the top level: it points the adapters
// (functions/adapters/dynamo.ts) at the run's DynamoDB Local and gives the file its own set of tables.
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, expect, inject } from 'vitest';
import { localDynamoDbClient } from '../../local/dynamodb-local.js';
import { createTables } from '../../local/tables.js';
import { TABLE_IDS, localTableName, tableEnvVar } from '../../functions/core/tables.js';

export interface LocalTables {
  readonly endpoint: string;
  /** Table names are `${prefix}${logical id}`, unique to this test file. */
  readonly prefix: string;
  /** A low-level client for the emulator, for assertions that bypass the adapters. */
  readonly client: DynamoDBClient;
}

/**
 * Sets AWS_ENDPOINT_URL_DYNAMODB and a fresh table prefix right away (before the file's tests import or
 * call any adapter) and creates the tables in beforeAll.
 */
export function useLocalTables(): LocalTables {
  const endpoint = inject('dynamoDbEndpoint');
  if (!endpoint) throw new Error('No DynamoDB Local endpoint: is test/support/global-setup.ts configured?');
  const prefix = `t${process.env.VITEST_POOL_ID ?? '0'}_${randomBytes(4).toString('hex')}_`;

  // The test process's own adapter calls (fixtures, assertions) reach DynamoDB Local directly, with this
  // file's table names in the variables the functions get from the stack.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.DCP_TABLE_PREFIX = prefix;
  for (const id of TABLE_IDS) process.env[tableEnvVar(id)] = localTableName(prefix, id);

  let client: DynamoDBClient | undefined;
  const tables: LocalTables = {
    endpoint,
    prefix,
    get client() {
      client ??= localDynamoDbClient(endpoint);
      return client;
    },
  };
  beforeAll(async () => {
    // Names this file in the IAM usage report of `npm run check:grants` (local/iam.ts).
    process.env.DCP_IAM_USAGE_LABEL = expect.getState().testPath ?? '';
    await createTables(tables.client, prefix);
  });
  return tables;
}
