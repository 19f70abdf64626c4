// Steps that act on the target send a command to its agent (SPEC §7.3) and return without waiting: the
// state waits on its task token until the command-result route answers it. The command, the step's
// WAITING status, the effects the command may have and the audit record are one transaction, so the agent
// can never act on a command the run has no record of.
import type { TargetRecord } from '../../core/records.js';
import type { CommandRecord, CommandType, ExecutionRecord } from '../../core/workflows.js';
import { agentView, commandId, completeCommandItem } from '../../adapters/commands.js';
import type { StateWrite } from '../../adapters/audit.js';
import { ddb, isConditionFailure, tableName } from '../../adapters/dynamo.js';
import { withStep } from '../../adapters/executions.js';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { log } from '../../api/lib/log.js';
import { STEPS } from '../../core/workflows.js';
import { assertRunOpen, stepAudit, type StepContext, type StepDone } from './step.js';
import { commit } from './store.js';

type Effects = NonNullable<ExecutionRecord['effects']>;

export interface CommandPlan {
  /** What the agent needs: references, ids, sealed secrets; never a plain secret value. */
  payload: Record<string, unknown>;
  /** What the command may do to the target, recorded before the agent can act, for compensation. */
  effects?: Partial<Effects>;
  /** Target attributes that change as the command goes out (e.g. maintenanceMode). */
  target?: Partial<TargetRecord>;
  /** Names and references to show in the result and the audit record. */
  details?: Record<string, unknown>;
}

class AlreadyAnswered extends Error {
  override readonly name = 'AlreadyAnswered';
}

/** Store the step's command with its task token, mark the step WAITING, and notify a simulated agent. */
export async function sendCommand(ctx: StepContext, plan: CommandPlan): Promise<StepDone> {
  const { spec, payload, attempt, now } = ctx;
  const type = spec.command;
  if (!type) throw new Error(`Step ${spec.state} sends no command`);
  if (!payload.taskToken) throw new Error(`Step ${spec.state} was started without a task token`);
  const command: CommandRecord = {
    id: commandId(payload.execution.id, spec.key, attempt),
    targetId: payload.execution.targetId,
    executionId: payload.execution.id,
    step: spec.key,
    type,
    status: 'pending',
    payload: plan.payload,
    taskToken: payload.taskToken,
    attempt,
    createdAt: now.toISOString(),
  };
  const summary = `Sent ${type} to the agent`;
  // The same attempt stored twice (a re-invoked Lambda) replaces its own open command; an answered one stays.
  const put: StateWrite = {
    item: {
      Put: {
        TableName: tableName('commands'),
        Item: command,
        ConditionExpression: 'attribute_not_exists(id) OR #s IN (:p, :d)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':p': 'pending', ':d': 'delivered' },
      },
    },
    onConditionFailed: () => new AlreadyAnswered(command.id),
  };
  let target = ctx.target;
  try {
    const written = await commit(
      payload.execution.id,
      ({ execution }) => {
        assertRunOpen(spec, execution);
        const marked = withStep(execution, spec.key, (s) => ({ ...s, status: 'WAITING', summary }), now);
        return {
          execution: plan.effects ? { ...marked, effects: { ...marked.effects, ...plan.effects } } : marked,
          writes: [put],
          ...(plan.target ? { target: plan.target } : {}),
          audit: [stepAudit(spec, payload.execution.id, 'WAITING', attempt, { summary, commandId: command.id, command: type, ...plan.details })],
        };
      },
      now,
    );
    target = written.target ?? target;
  } catch (e) {
    if (!(e instanceof AlreadyAnswered)) throw e;
    return { status: 'WAITING', result: { summary: `${summary} (already answered)`, commandId: command.id, ...plan.details } };
  }
  return { status: 'WAITING', result: { summary, commandId: command.id, ...plan.details } };
}

/**
 * A command no step waits for (compensation: unlock the installer, switch maintenance off). Its result
 * is recorded by the result route but completes no task (empty taskToken).
 */
export function fireAndForgetCommand(
  execution: Pick<ExecutionRecord, 'id' | 'targetId'>,
  type: CommandType,
  payload: Record<string, unknown>,
  now: Date,
): { command: CommandRecord; write: StateWrite } {
  const command: CommandRecord = {
    id: commandId(execution.id, `compensate-${type}`, 0),
    targetId: execution.targetId,
    executionId: execution.id,
    step: `compensate-${type}`,
    type,
    status: 'pending',
    payload,
    taskToken: '',
    attempt: 0,
    createdAt: now.toISOString(),
  };
  return {
    command,
    write: { item: { Put: { TableName: tableName('commands'), Item: command, ConditionExpression: 'attribute_not_exists(id)' } } },
  };
}

/**
 * Close the commands of a run that are still open when it ends without them (timed out, stopped, lost),
 * so an agent stops seeing them. Each is closed under its own open-status condition; answered ones stay.
 */
export async function closeOpenCommands(execution: ExecutionRecord, status: 'failed' | 'timed-out', now: Date): Promise<string[]> {
  const ids: string[] = [];
  for (const step of execution.steps) {
    const spec = STEPS.find((s) => s.key === step.name);
    if (!spec?.command) continue;
    for (let attempt = 0; attempt < step.attempts; attempt++) ids.push(commandId(execution.id, spec.key, attempt));
  }
  const closed: string[] = [];
  for (const id of ids) {
    try {
      await ddb().send(new UpdateCommand(completeCommandItem(id, status, undefined, now).Update));
      closed.push(id);
    } catch (e) {
      // Already answered or never stored: nothing to close.
      if (!isConditionFailure(e)) throw e;
    }
  }
  return closed;
}
