// REQUEST Lambda authorizer: authenticates the bearer token (401 when it cannot) and passes its scopes
// on to the handlers, which check them against the route table (403). API Gateway caches nothing
// (TTL 0), so a revoked token stops working at once. The local server calls this same handler.
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { bearerToken, checkToken, tokenIdOf } from '../core/tokens.js';
import { getTokenRecord } from '../adapters/tokens.js';
import { log } from './lib/log.js';

export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const headers = event.headers ?? {};
  const header = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1] ?? undefined;
  const token = bearerToken(header);
  const id = token ? tokenIdOf(token) : undefined;
  if (!token || !id) throw new Error('Unauthorized');
  const result = checkToken(token, await getTokenRecord(id), new Date());
  if (!result.ok) {
    log('info', 'token refused', { tokenId: id, reason: result.reason });
    throw new Error('Unauthorized');
  }
  // Any method of this API: handlers decide per route. The ARN's stage prefix keeps it to this API.
  const [arnPrefix, stage] = event.methodArn.split('/');
  return {
    principalId: `token:${result.record.id}`,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${stage}/*` }],
    },
    context: { tokenId: result.record.id, scopes: result.record.scopes.join(' ') },
  };
}
