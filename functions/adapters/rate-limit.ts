// Per-token rate limit for machine clients (SPEC §5): API Gateway throttles per stage and route; a
// target token is additionally held to a token bucket of DCP_TARGET_TOKEN_RATE_PER_MINUTE requests that
// refills continuously (one request every 60/budget seconds), so no window boundary lets a burst through
// twice. The bucket is kept as one number per token in a guard item, GCRA style: `tat`, the theoretical
// arrival time (ms) at which the bucket is full again. A request is allowed when `max(tat, now) - now` is
// at most (budget - 1) intervals, and moves `tat` on by one interval. Each step is one conditional
// UpdateItem; the item expires on its own (TTL) once the bucket is full again.
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb, isConditionFailure, tableName } from './dynamo.js';

/** Requests per minute per target token (the bucket's size and refill); DCP_TARGET_TOKEN_RATE_PER_MINUTE overrides. */
export function targetTokenBudget(): number {
  const v = Number(process.env.DCP_TARGET_TOKEN_RATE_PER_MINUTE);
  return Number.isInteger(v) && v > 0 ? v : 120;
}

const ATTEMPTS = 4;

/** Count one request; answers the seconds until one more request would be allowed when the bucket is empty. */
export async function consumeTokenBudget(tokenId: string, now: Date, budget = targetTokenBudget()): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }> {
  const key = { key: `rate#${tokenId}` };
  const interval = 60_000 / budget;
  const nowMs = now.getTime();
  const tolerance = (budget - 1) * interval;
  const expires = Math.ceil((nowMs + tolerance + interval) / 1000) + 60;
  const update = (expression: string, condition: string, values: Record<string, number>) =>
    ddb()
      .send(
        new UpdateCommand({
          TableName: tableName('guards'),
          Key: key,
          UpdateExpression: `${expression}, expiresAtEpoch = :exp`,
          ConditionExpression: condition,
          ExpressionAttributeValues: { ...values, ':exp': expires },
        }),
      )
      .then(
        () => true,
        (e: unknown) => {
          if (isConditionFailure(e)) return false;
          throw e;
        },
      );
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    // The bucket is full (no item, or tat in the past): this request starts it again.
    if (await update('SET tat = :next', 'attribute_not_exists(tat) OR tat < :now', { ':next': nowMs + interval, ':now': nowMs })) return { ok: true };
    // Requests are queued ahead of now: allowed while they stay within the bucket.
    if (await update('SET tat = tat + :interval', 'tat BETWEEN :now AND :limit', { ':interval': interval, ':now': nowMs, ':limit': nowMs + tolerance })) return { ok: true };
    const out = await ddb().send(new GetCommand({ TableName: tableName('guards'), Key: key, ConsistentRead: true }));
    const tat = out.Item?.tat;
    // Both conditions failed because the bucket is empty; otherwise another request moved `tat` in between.
    if (typeof tat === 'number' && tat > nowMs + tolerance) {
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((tat - nowMs - tolerance) / 1000)) };
    }
  }
  return { ok: false, retryAfterSeconds: 1 };
}
