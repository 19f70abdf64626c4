// Creates the local tables (DynamoDB Local, tests) from the one table definition in functions/core/tables.ts,
// with the settings the CDK stack gives them where DynamoDB Local has them: on-demand billing, GSIs that
// project all attributes, TTL. Idempotent: existing tables are kept and given any index or TTL they lack,
// so a persisted .dcp/ database follows changes to the definition.
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import {
  localTableName,
  TABLE_IDS,
  TABLES,
  type IndexSpec,
  type KeyAttribute,
  type TableSpec,
} from '../functions/core/tables.js';

export interface CreateTablesResult {
  /** Physical names of the tables this call created. */
  readonly created: readonly string[];
  /** Physical names of tables that already existed (possibly updated with missing indexes or TTL). */
  readonly existing: readonly string[];
}

/** Creates every table of TABLES as `${prefix}${id}`, in parallel; keeps and completes the ones that exist. */
export async function createTables(client: DynamoDBClient, prefix: string): Promise<CreateTablesResult> {
  const present = await listTableNames(client, prefix);
  const created: string[] = [];
  const existing: string[] = [];
  await Promise.all(
    TABLE_IDS.map(async (id) => {
      const spec = TABLES[id];
      const name = localTableName(prefix, id);
      if (!present.has(name) && (await createTable(client, spec, name))) created.push(name);
      else {
        existing.push(name);
        await reconcileTable(client, spec, name);
      }
      await ensureTimeToLive(client, spec, name);
    }),
  );
  return { created: created.sort(), existing: existing.sort() };
}

/** The CreateTable request for one table definition. */
export function createTableInput(spec: TableSpec, name: string): CreateTableCommandInput {
  const attributes = new Map<string, KeyAttribute>();
  const note = (key: KeyAttribute | undefined): void => {
    if (key) attributes.set(key.name, key);
  };
  note(spec.partitionKey);
  note(spec.sortKey);
  for (const index of spec.indexes ?? []) {
    note(index.partitionKey);
    note(index.sortKey);
  }
  const indexes = (spec.indexes ?? []).map(globalSecondaryIndex);
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()].map(
      (key): AttributeDefinition => ({ AttributeName: key.name, AttributeType: key.type }),
    ),
    KeySchema: keySchema(spec.partitionKey, spec.sortKey),
    ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
  };
}

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

function globalSecondaryIndex(index: IndexSpec): GlobalSecondaryIndex {
  return {
    IndexName: index.indexName,
    KeySchema: keySchema(index.partitionKey, index.sortKey),
    Projection: { ProjectionType: 'ALL' },
  };
}

async function listTableNames(client: DynamoDBClient, prefix: string): Promise<Set<string>> {
  const names = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) if (name.startsWith(prefix)) names.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);
  return names;
}

/** True when this call created the table; false when another caller created it first. */
async function createTable(client: DynamoDBClient, spec: TableSpec, name: string): Promise<boolean> {
  try {
    const { TableDescription: table } = await client.send(new CreateTableCommand(createTableInput(spec, name)));
    if (table?.TableStatus !== 'ACTIVE') await waitUntilActive(client, name);
    return true;
  } catch (error) {
    if (error instanceof ResourceInUseException) return false;
    throw error;
  }
}

/** Fails on a key schema that differs from the definition; adds indexes the definition gained since. */
async function reconcileTable(client: DynamoDBClient, spec: TableSpec, name: string): Promise<void> {
  const table = await describe(client, name);
  const wanted = createTableInput(spec, name);
  if (!sameKeys(table.KeySchema, wanted.KeySchema)) {
    throw new Error(
      `Table ${name} exists with key schema ${JSON.stringify(table.KeySchema)}, but the definition says ` +
        `${JSON.stringify(wanted.KeySchema)}. Delete the local data (DCP_DATA_DIR) to recreate it.`,
    );
  }
  const have = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  // DynamoDB accepts one new index per UpdateTable call.
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    if (have.has(index.IndexName)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: name,
        AttributeDefinitions: wanted.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
    await waitUntilActive(client, name);
  }
}

async function ensureTimeToLive(client: DynamoDBClient, spec: TableSpec, name: string): Promise<void> {
  if (!spec.timeToLiveAttribute) return;
  const { TimeToLiveDescription: ttl } = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
  if (ttl?.TimeToLiveStatus === 'ENABLED' && ttl.AttributeName === spec.timeToLiveAttribute) return;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { AttributeName: spec.timeToLiveAttribute, Enabled: true },
    }),
  );
}

function sameKeys(a: readonly KeySchemaElement[] | undefined, b: readonly KeySchemaElement[] | undefined): boolean {
  const show = (keys: readonly KeySchemaElement[] | undefined): string =>
    (keys ?? []).map((key) => `${key.AttributeName}:${key.KeyType}`).join(',');
  return show(a) === show(b);
}

async function describe(client: DynamoDBClient, name: string): Promise<TableDescription> {
  const { Table: table } = await client.send(new DescribeTableCommand({ TableName: name }));
  if (!table) throw new Error(`DescribeTable returned nothing for ${name}`);
  return table;
}

async function waitUntilActive(client: DynamoDBClient, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = await describe(client, name);
    const indexesReady = (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (table.TableStatus === 'ACTIVE' && indexesReady) return;
    if (Date.now() > deadline) throw new Error(`Table ${name} is not ACTIVE after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
