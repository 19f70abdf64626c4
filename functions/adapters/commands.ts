// Agent commands (SPEC §7.3): stored by the step that waits, listed for the agent, completed by the
// agent's signed result. The task token stays in DynamoDB; agents never see it.
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CursorKey } from '../core/cursor.js';
import type { CommandRecord } from '../core/workflows.js';
import { ddb, isConditionFailure, tableName } from './dynamo.js';

export type AgentCommand = Omit<CommandRecord, 'taskToken'>;

/** What an agent sees of a command. */
export function agentView(c: CommandRecord): AgentCommand {
  const { taskToken: _t, ...rest } = c;
  void _t;
  return rest;
}

/** Command ids are derived from the run, the step and the attempt, so a retried Lambda stores one command. */
export function commandId(executionId: string, stepKey: string, attempt: number): string {
  return `${executionId}.${stepKey}.${attempt}`.slice(0, 200);
}

export function putCommandItem(command: CommandRecord) {
  return { Put: { TableName: tableName('commands'), Item: command } };
}

export async function getCommand(id: string): Promise<CommandRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('commands'), Key: { id }, ConsistentRead: true }));
  return out.Item as CommandRecord | undefined;
}

/** Commands of a target, oldest first; `pendingOnly` limits to those not yet answered. */
export async function listCommandsOfTarget(targetId: string, pendingOnly: boolean, limit: number, startKey?: CursorKey) {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName('commands'),
      IndexName: 'byTarget',
      KeyConditionExpression: 'targetId = :t',
      ...(pendingOnly
        ? { FilterExpression: '#s IN (:p, :d)', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':t': targetId, ':p': 'pending', ':d': 'delivered' } }
        : { ExpressionAttributeValues: { ':t': targetId } }),
      Limit: limit,
      ExclusiveStartKey: startKey,
    }),
  );
  return { items: (out.Items ?? []) as CommandRecord[], lastKey: out.LastEvaluatedKey };
}

export async function markDelivered(ids: string[], now: Date): Promise<void> {
  await Promise.all(
    ids.map((id) =>
      ddb()
        .send(
          new UpdateCommand({
            TableName: tableName('commands'),
            Key: { id },
            UpdateExpression: 'SET #s = :d, deliveredAt = :at',
            ConditionExpression: '#s = :p',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':d': 'delivered', ':p': 'pending', ':at': now.toISOString() },
          }),
        )
        .catch((e: unknown) => {
          if (!(isConditionFailure(e))) throw e;
        }),
    ),
  );
}

/** The Update that records a result, only while the command is still open (one result per command). */
export function completeCommandItem(id: string, status: 'succeeded' | 'failed' | 'timed-out', result: CommandRecord['result'] | undefined, now: Date) {
  return {
    Update: {
      TableName: tableName('commands'),
      Key: { id },
      UpdateExpression: `SET #s = :s, completedAt = :at${result ? ', #r = :r' : ''}`,
      ConditionExpression: '#s IN (:p, :d)',
      ExpressionAttributeNames: { '#s': 'status', ...(result ? { '#r': 'result' } : {}) },
      ExpressionAttributeValues: { ':s': status, ':at': now.toISOString(), ':p': 'pending', ':d': 'delivered', ...(result ? { ':r': result } : {}) },
    },
  };
}
