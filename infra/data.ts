// The DynamoDB tables, one per entry of the shared table definition (functions/core/tables.ts), so the
// cloud and the local runtime can never disagree on keys, indexes or TTL attributes.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_IDS, TABLES, type KeyAttribute, type TableId, type TableSpec } from '../functions/core/tables.js';

/** A table together with the definition it was built from (grants need its index names). */
export interface DataTable {
  readonly id: TableId;
  readonly spec: TableSpec;
  readonly table: dynamodb.ITableV2;
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  return {
    name: key.name,
    type: key.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
  };
}

export class Data extends Construct {
  readonly tables: Readonly<Record<TableId, DataTable>>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const tables = {} as Record<TableId, DataTable>;
    for (const tableId of TABLE_IDS) {
      const spec = TABLES[tableId];
      const table = new dynamodb.TableV2(this, tableId, {
        partitionKey: attribute(spec.partitionKey),
        sortKey: spec.sortKey && attribute(spec.sortKey),
        globalSecondaryIndexes: spec.indexes?.map((index) => ({
          indexName: index.indexName,
          partitionKey: attribute(index.partitionKey),
          sortKey: index.sortKey && attribute(index.sortKey),
        })),
        timeToLiveAttribute: spec.timeToLiveAttribute,
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        // KMS with the AWS managed key: encrypted at rest and every key use is in CloudTrail, without a
        // customer key whose loss would make the audit trail unreadable.
        encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
        // Audit records, tokens and policy history must outlive the stack.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      tables[tableId] = { id: tableId, spec, table };
    }
    this.tables = tables;
  }
}
