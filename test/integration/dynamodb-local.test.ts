// The test emulator is real DynamoDB Local with the tables of functions/core/tables.ts, and it enforces
// transactions: a failing condition cancels every write of the transaction.
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ddb, tableName } from '../../functions/adapters/dynamo.js';
import { localTableName, TABLE_IDS, TABLES } from '../../functions/core/tables.js';
import { createTables } from '../../local/tables.js';
import { useLocalTables } from '../support/ddb.js';

const tables = useLocalTables();

describe('local tables', () => {
  it('creates every table of the definition with its keys, indexes and TTL', async () => {
    for (const id of TABLE_IDS) {
      const spec = TABLES[id];
      const { Table: table } = await tables.client.send(
        new DescribeTableCommand({ TableName: localTableName(tables.prefix, id) }),
      );
      expect(table?.TableStatus).toBe('ACTIVE');
      expect(table?.KeySchema?.map((key) => key.AttributeName)).toEqual(
        [spec.partitionKey.name, spec.sortKey?.name].filter(Boolean),
      );
      expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      const indexes = table?.GlobalSecondaryIndexes ?? [];
      expect(indexes.map((index) => index.IndexName).sort()).toEqual(
        (spec.indexes ?? []).map((index) => index.indexName).sort(),
      );
      for (const index of indexes) expect(index.Projection?.ProjectionType).toBe('ALL');

      const { TimeToLiveDescription: ttl } = await tables.client.send(
        new DescribeTimeToLiveCommand({ TableName: localTableName(tables.prefix, id) }),
      );
      if (spec.timeToLiveAttribute) {
        expect(ttl).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: spec.timeToLiveAttribute });
      } else {
        expect(ttl?.TimeToLiveStatus).toBe('DISABLED');
      }
    }
  });

  it('is idempotent: a second run creates nothing', async () => {
    const again = await createTables(tables.client, tables.prefix);
    expect(again.created).toEqual([]);
    expect(again.existing).toHaveLength(TABLE_IDS.length);
  });

  it('resolves adapter table names through the per-file prefix', () => {
    expect(tableName('targets')).toBe(`${tables.prefix}targets`);
  });
});

describe('transactions', () => {
  it('cancels the whole transaction when one condition fails', async () => {
    const licenses = tableName('licenses');
    const guards = tableName('guards');
    await ddb().send(new PutItemCommand({ TableName: guards, Item: { key: { S: 'billing#123' } } }));

    const attempt = ddb().send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: licenses, Item: { id: { S: 'lic-1' }, targetCount: { N: '0' } } } },
          {
            Put: {
              TableName: guards,
              Item: { key: { S: 'billing#123' } },
              ConditionExpression: 'attribute_not_exists(#key)',
              ExpressionAttributeNames: { '#key': 'key' },
            },
          },
        ],
      }),
    );

    const error = await attempt.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons?.map((reason) => reason.Code)).toEqual([
      'None',
      'ConditionalCheckFailed',
    ]);
    const { Item: license } = await ddb().send(
      new GetItemCommand({ TableName: licenses, Key: { id: { S: 'lic-1' } } }),
    );
    expect(license).toBeUndefined();
  });

  it('commits every write when all conditions hold', async () => {
    const licenses = tableName('licenses');
    const guards = tableName('guards');
    await ddb().send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: licenses, Item: { id: { S: 'lic-2' } } } },
          {
            Put: {
              TableName: guards,
              Item: { key: { S: 'billing#456' } },
              ConditionExpression: 'attribute_not_exists(#key)',
              ExpressionAttributeNames: { '#key': 'key' },
            },
          },
        ],
      }),
    );
    const { Item: license } = await ddb().send(
      new GetItemCommand({ TableName: licenses, Key: { id: { S: 'lic-2' } } }),
    );
    expect(license?.id).toEqual({ S: 'lic-2' });
  });
});
