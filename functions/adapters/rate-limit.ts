// Per-token rate limit for machine clients (SPEC §5): API Gateway throttles per stage and route; a
// target token is additionally held to a budget of requests per minute, counted in a guard item that
// expires on its own (TTL). One conditional UpdateItem per machine request.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb, isConditionFailure, tableName } from './dynamo.js';

/** Requests per minute per target token; DCP_TARGET_TOKEN_RATE_PER_MINUTE overrides. */
export function targetTokenBudget(): number {
  const v = Number(process.env.DCP_TARGET_TOKEN_RATE_PER_MINUTE);
  return Number.isInteger(v) && v > 0 ? v : 120;
}

/** Count one request; answers the seconds until the window resets when the budget is spent. */
export async function consumeTokenBudget(tokenId: string, now: Date, budget = targetTokenBudget()): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }> {
  const minute = Math.floor(now.getTime() / 60_000);
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tableName('guards'),
        Key: { key: `rate#${tokenId}#${minute}` },
        UpdateExpression: 'ADD #n :one SET expiresAtEpoch = if_not_exists(expiresAtEpoch, :exp)',
        ConditionExpression: 'attribute_not_exists(#n) OR #n < :budget',
        ExpressionAttributeNames: { '#n': 'count' },
        ExpressionAttributeValues: { ':one': 1, ':budget': budget, ':exp': (minute + 2) * 60 },
      }),
    );
    return { ok: true };
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    return { ok: false, retryAfterSeconds: Math.max(1, 60 - Math.floor((now.getTime() % 60_000) / 1000)) };
  }
}
