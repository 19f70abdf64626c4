// CloudFormation custom resource (onEvent handler of a custom_resources.Provider): makes the stack's
// Secrets Manager value the first admin token by storing its hash as token "bootstrap" (SPEC §5).
// The secret value itself never leaves this function: not in the response, not in a log line.
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { tableEnvVar } from '../core/tables.js';
import { BOOTSTRAP_TOKEN_ID, hashTokenSecret } from '../core/tokens.js';

const PHYSICAL_ID = 'bootstrap-admin-token';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const tokensTable = required(tableEnvVar('tokens'));
const dynamo = new DynamoDBClient({});
const secrets = new SecretsManagerClient({});

interface OnEventResponse {
  PhysicalResourceId: string;
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> {
  // Delete leaves the token alone: the tokens table is retained, and revoking is the API's job.
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };

  // The secret's ARN is a property of the custom resource, so replacing the secret re-runs this handler.
  const secretArn = event.ResourceProperties.SecretArn;
  if (typeof secretArn !== 'string' || secretArn === '') throw new Error('Property SecretArn is missing');

  const { SecretString: token } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!token) throw new Error('The bootstrap admin secret has no string value');
  const secretHash = hashTokenSecret(token);

  try {
    await dynamo.send(
      new PutItemCommand({
        TableName: tokensTable,
        Item: {
          id: { S: BOOTSTRAP_TOKEN_ID },
          secretHash: { S: secretHash },
          scopes: { L: [{ S: 'admin' }] },
          description: { S: 'Bootstrap admin token (Secrets Manager)' },
          createdAt: { S: new Date().toISOString() },
          createdBy: { S: 'stack' },
        },
        // A stack update that finds the same secret keeps the item as it is, so a bootstrap token an admin
        // revoked stays revoked; a new secret value replaces it.
        ConditionExpression: 'attribute_not_exists(id) OR secretHash <> :hash',
        ExpressionAttributeValues: { ':hash': { S: secretHash } },
      }),
    );
    console.log(JSON.stringify({ message: 'Bootstrap admin token stored', tokenId: BOOTSTRAP_TOKEN_ID }));
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    console.log(JSON.stringify({ message: 'Bootstrap admin token unchanged', tokenId: BOOTSTRAP_TOKEN_ID }));
  }
  return { PhysicalResourceId: PHYSICAL_ID };
}
