// The DynamoDB document client, created once per module, and table-name resolution: in AWS each table's
// name arrives in its own environment variable (set by the CDK stack together with the grant); locally and
// in tests a prefix is put before the logical id.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { localTableName, tableEnvVar, type TableId } from '../core/tables.js';

let client: DynamoDBDocumentClient | undefined;

/** The shared document client. Locally DCP_DYNAMODB_ENDPOINT points it at DynamoDB Local. */
export function ddb(): DynamoDBDocumentClient {
  if (!client) {
    const endpoint = process.env.DCP_DYNAMODB_ENDPOINT;
    const base = new DynamoDBClient(
      endpoint
        ? {
            endpoint,
            region: process.env.AWS_REGION ?? 'local',
            credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          }
        : {},
    );
    client = DynamoDBDocumentClient.from(base, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
  }
  return client;
}

/** Replace the client (tests wrap it with middleware that records commands). */
export function setDdbClient(next: DynamoDBDocumentClient): void {
  client = next;
}

export function tableName(id: TableId): string {
  const fromEnv = process.env[tableEnvVar(id)];
  if (fromEnv) return fromEnv;
  const prefix = process.env.DCP_TABLE_PREFIX;
  if (prefix === undefined) {
    throw new Error(`No table name for "${id}": set ${tableEnvVar(id)} (AWS) or DCP_TABLE_PREFIX (local)`);
  }
  return localTableName(prefix, id);
}

/** A failed ConditionExpression, matched by name (importing the class pulls every error schema in). */
export function isConditionFailure(e: unknown): boolean {
  return e instanceof Error && e.name === 'ConditionalCheckFailedException';
}

/** Every item a Query matches, following LastEvaluatedKey page by page. */
export async function queryAll<T>(input: Omit<QueryCommandInput, 'ExclusiveStartKey'>): Promise<T[]> {
  const items: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await ddb().send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...((out.Items ?? []) as T[]));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}
