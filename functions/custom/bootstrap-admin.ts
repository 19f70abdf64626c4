// CloudFormation custom resource (onEvent handler of a custom_resources.Provider): makes the stack's
// Secrets Manager value the first admin token by storing its hash as token "bootstrap" (SPEC §5), through
// the same writer as the local runtime (bootstrapAdminToken: audited, and a revoked token stays revoked).
// The secret value itself never leaves this function: not in the response, not in a log line.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { bootstrapAdminToken } from '../adapters/tokens.js';
import { BOOTSTRAP_TOKEN_ID } from '../core/tokens.js';

const PHYSICAL_ID = 'bootstrap-admin-token';

let secrets: SecretsManagerClient | undefined;

interface OnEventResponse {
  PhysicalResourceId: string;
}

export async function handler(event: CloudFormationCustomResourceEvent, client?: SecretsManagerClient): Promise<OnEventResponse> {
  // Delete leaves the token alone: the tokens table is retained, and revoking is the API's job.
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };

  // The secret's ARN is a property of the custom resource, so replacing the secret re-runs this handler.
  const secretArn = event.ResourceProperties.SecretArn;
  if (typeof secretArn !== 'string' || secretArn === '') throw new Error('Property SecretArn is missing');

  const sm = client ?? (secrets ??= new SecretsManagerClient({}));
  const { SecretString: token } = await sm.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!token) throw new Error('The bootstrap admin secret has no string value');
  await bootstrapAdminToken(token, new Date(), 'stack');
  console.log(JSON.stringify({ message: 'Bootstrap admin token stored (unchanged when the value is the same)', tokenId: BOOTSTRAP_TOKEN_ID }));
  return { PhysicalResourceId: PHYSICAL_ID };
}
