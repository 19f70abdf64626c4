// The DynamoDB document client, created once per module, and table-name resolution: each table's name
// arrives in its own environment variable, set by the CDK stack together with the grant (infra/function.ts
// bindTable). A function that reads a table it was not given fails loudly here, locally as in AWS: the
// local runtime runs every function with its synthesized environment (local/lambda.ts). The client is
// configured the SDK's standard way (region, credentials, AWS_ENDPOINT_URL_DYNAMODB from the environment).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { tableEnvVar, type TableId } from '../core/tables.js';

let client: DynamoDBDocumentClient | undefined;

/** The shared document client. */
export function ddb(): DynamoDBDocumentClient {
  client ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return client;
}

/** Replace the client (tests wrap it with middleware that records commands; undefined: a new one). */
export function setDdbClient(next: DynamoDBDocumentClient | undefined): void {
  client = next;
}

export function tableName(id: TableId): string {
  const name = process.env[tableEnvVar(id)];
  if (!name) throw new Error(`No table name for "${id}": ${tableEnvVar(id)} is not set (is the table bound to this function?)`);
  return name;
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
