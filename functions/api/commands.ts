// The target agent's side of a run (SPEC §7.3): it lists its commands, posts a signed result for each
// and keeps long commands alive with heartbeats. A result completes the step's wait in the engine.
import { createHash } from 'node:crypto';
import { commandRoutes } from '../core/routes/commands.js';
import { actorOf, canSeeTenant, type Principal } from '../core/principal.js';
import { problems, ProblemError } from '../core/problems.js';
import { targetStream } from '../core/audit.js';
import { verifySignedStatement } from '../core/crypto/signed-statement.js';
import type { CommandRecord } from '../core/workflows.js';
import { commandFailure } from '../steps/lib/errors.js';
import type { CommandResultBody } from '../core/schemas/workflows.js';
import { agentView, completeCommandItem, getCommand, listCommandsOfTarget, markDelivered } from '../adapters/commands.js';
import { getTarget } from '../adapters/targets.js';
import { transactWithAudit } from '../adapters/audit.js';
import { updateExecution, withStep } from '../adapters/executions.js';
import { TaskNotWaitingError, workflowEngine } from '../adapters/engine.js';
import { tableName } from '../adapters/dynamo.js';
import { createApiHandler, log, type ApiRequest } from './lib/http.js';
import { pageRequest, pageResponse } from './lib/pagination.js';

/** A command the caller's target token may act on; anything else looks like it does not exist. */
async function ownCommand(id: string, principal: Principal): Promise<CommandRecord> {
  const c = await getCommand(id);
  if (!c || !principal.targetIds.has(c.targetId)) throw problems.notFound('COMMAND_NOT_FOUND', `No command ${id} for this target.`);
  return c;
}

export const handler = createApiHandler(
  'commands',
  {
    async listTargetCommands(req) {
      const target = await getTarget(req.params.id!);
      if (!target || !canSeeTenant(req.principal, target.tenantId)) throw problems.notFound('TARGET_NOT_FOUND', `No target ${req.params.id}.`);
      const q = req.query as { status?: 'open' | 'all'; limit?: number; cursor?: string };
      const open = (q.status ?? 'open') === 'open';
      const page = await pageRequest(q, ['commands', target.id, open], ['id', 'targetId', 'createdAt'], { targetId: target.id });
      const { items, lastKey } = await listCommandsOfTarget(target.id, open, page.limit, page.startKey);
      // Reading as the target itself is delivery.
      if (req.principal.targetIds.has(target.id)) {
        await markDelivered(items.filter((c) => c.status === 'pending').map((c) => c.id), req.now);
      }
      return { status: 200, body: pageResponse(items.map(agentView), lastKey, page) };
    },

    async postCommandResult(req: ApiRequest<CommandResultBody>) {
      const command = await ownCommand(req.params.commandId!, req.principal);
      const { statement, signature } = req.body;
      if (statement.commandId !== command.id || statement.targetId !== command.targetId) {
        throw problems.validation([{ path: '/statement/commandId', message: `this result is not for command ${command.id} of target ${command.targetId}` }]);
      }
      if (statement.status === 'failed' && !statement.error) {
        throw problems.validation([{ path: '/statement/error', message: 'a failed result names its error' }]);
      }
      const target = await getTarget(command.targetId);
      if (!target) throw problems.notFound('TARGET_NOT_FOUND', `No target ${command.targetId}.`);
      const verification = verifySignedStatement({ statement, signature }, target.agentPublicKey ?? target.publicKey);
      if (!verification.ok) {
        throw new ProblemError(400, 'RESULT_SIGNATURE_INVALID', `The result is not signed by the target's agent key: ${verification.message}`);
      }
      if (command.status !== 'pending' && command.status !== 'delivered') {
        throw problems.conflict('COMMAND_COMPLETED', `Command ${command.id} is already ${command.status}.`);
      }
      const sigHash = createHash('sha256').update(signature).digest('hex');
      const result = {
        status: statement.status,
        ...(statement.output ? { output: statement.output } : {}),
        ...(statement.error ? { error: statement.error } : {}),
        issuedAt: statement.issuedAt,
      };
      await transactWithAudit(
        [
          {
            item: {
              Put: {
                TableName: tableName('guards'),
                Item: { key: `command-result#${sigHash}`, kind: 'command-result-replay', commandId: command.id, at: req.now.toISOString() },
                ConditionExpression: 'attribute_not_exists(#k)',
                ExpressionAttributeNames: { '#k': 'key' },
              },
            },
            onConditionFailed: () => problems.conflict('RESULT_REPLAYED', 'This result (same signature) was already received.'),
          },
          {
            item: completeCommandItem(command.id, statement.status, result, req.now),
            onConditionFailed: () => problems.conflict('COMMAND_COMPLETED', `Command ${command.id} was completed at the same time.`),
          },
        ],
        [
          {
            stream: targetStream(command.targetId),
            actor: actorOf(req.principal),
            action: 'command.result',
            targetId: command.targetId,
            details: { commandId: command.id, type: command.type, executionId: command.executionId, step: command.step, status: statement.status, error: statement.error ?? null },
          },
        ],
        req.now,
      );

      let awaited = true;
      if (command.taskToken) {
        try {
          if (statement.status === 'succeeded') {
            const summary = typeof statement.output?.summary === 'string' ? statement.output.summary : `The agent completed ${command.type}`;
            await workflowEngine().sendTaskSuccess(command.taskToken, { summary, commandId: command.id, output: statement.output ?? {} });
          } else {
            const f = commandFailure(command, statement.error);
            await workflowEngine().sendTaskFailure(command.taskToken, f.error, f.cause);
          }
        } catch (e) {
          if (!(e instanceof TaskNotWaitingError)) throw e;
          awaited = false;
        }
        await updateExecution(command.executionId, (r) =>
          withStep(r, command.step, (s) => ({
            ...s,
            status: statement.status === 'succeeded' ? 'SUCCEEDED' : 'FAILED',
            stoppedAt: req.now.toISOString(),
            ...(statement.error ? { error: { name: statement.error.name, message: statement.error.message } } : {}),
          }), req.now),
        ).catch((e: unknown) => log('warn', 'execution step not updated', { commandId: command.id, error: String(e) }));
      }
      const completed = await getCommand(command.id);
      return { status: 200, body: { command: agentView(completed ?? command), awaited } };
    },

    async postCommandHeartbeat(req) {
      const command = await ownCommand(req.params.commandId!, req.principal);
      if (command.status !== 'pending' && command.status !== 'delivered') {
        throw problems.conflict('COMMAND_COMPLETED', `Command ${command.id} is already ${command.status}.`);
      }
      if (command.taskToken) {
        try {
          await workflowEngine().sendTaskHeartbeat(command.taskToken);
        } catch (e) {
          if (e instanceof TaskNotWaitingError) throw problems.conflict('COMMAND_NOT_AWAITED', `No run waits for command ${command.id} any more.`);
          throw e;
        }
      }
      return { status: 200, body: { commandId: command.id, receivedAt: req.now.toISOString() } };
    },
  },
  commandRoutes,
);
