// Small target lookups shared by routes that only need to know a target's tenant.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ddb, tableName } from './dynamo.js';

export async function getTargetTenant(id: string): Promise<string | undefined> {
  const out = await ddb().send(
    new GetCommand({ TableName: tableName('targets'), Key: { id }, ProjectionExpression: 'tenantId' }),
  );
  return out.Item?.tenantId as string | undefined;
}
