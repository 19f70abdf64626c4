// Reading one release by id, for code that must not bundle the publishing path (manifests, semver).
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ReleaseRecord } from '../core/records.js';
import { ddb, tableName } from './dynamo.js';

export async function getRelease(id: string): Promise<ReleaseRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('releases'), Key: { id }, ConsistentRead: true }));
  return out.Item as ReleaseRecord | undefined;
}
