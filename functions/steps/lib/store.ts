// How steps write: the execution record, the target and the audit record of one change go out in one
// DynamoDB transaction (SPEC §8), each under its version condition. A writer that loses a race (the result
// route marking a step, an operator editing the target) re-reads both and plans its change again.
import { targetStream, type AuditInput } from '../../core/audit.js';
import { ProblemError } from '../../core/problems.js';
import type { TargetRecord } from '../../core/records.js';
import type { ExecutionRecord } from '../../core/workflows.js';
import { transactWithAudit, type StateWrite } from '../../adapters/audit.js';
import { tableName } from '../../adapters/dynamo.js';
import { getExecution } from '../../adapters/executions.js';
import { getTarget, updateTarget } from '../../adapters/targets.js';

/** Lost an optimistic-concurrency race; the change is planned again. */
export class Contention extends Error {
  override readonly name = 'Contention';
}

/** Who the workflow's audit records name as actor. */
export function workflowActor(executionId: string): string {
  return `workflow:${executionId}`;
}

/** The conditional Put that replaces `current` with `next` (one version later). */
export function executionWrite(current: ExecutionRecord, next: ExecutionRecord): StateWrite {
  return {
    item: {
      Put: {
        TableName: tableName('executions'),
        Item: { ...next, version: current.version + 1 },
        ConditionExpression: 'version = :v',
        ExpressionAttributeValues: { ':v': current.version },
      },
    },
    onConditionFailed: () => new Contention(`Execution ${current.id} changed while this step wrote it`),
  };
}

/** One planned change: what to write, and the audit records (target stream) that describe it. */
export interface Change {
  execution?: ExecutionRecord;
  /** Attribute changes of the target (undefined removes). */
  target?: Partial<TargetRecord>;
  writes?: StateWrite[];
  /** With a target change there must be exactly one (it goes out through updateTarget). */
  audit: { action: string; details: Record<string, unknown> }[];
}

export interface Loaded {
  execution: ExecutionRecord;
  target: TargetRecord | undefined;
}

export class MissingExecutionError extends Error {
  override readonly name = 'MissingExecution';
}

export async function load(executionId: string): Promise<Loaded> {
  const execution = await getExecution(executionId);
  if (!execution) throw new MissingExecutionError(`No execution record ${executionId}`);
  return { execution, target: await getTarget(execution.targetId) };
}

const MAX_ATTEMPTS = 12;

/**
 * Read the execution and its target, plan a change, write it in one transaction; on a lost race read
 * again and plan again. `plan` answering undefined writes nothing. Answers what was written.
 */
export async function commit(
  executionId: string,
  plan: (loaded: Loaded) => Change | undefined | Promise<Change | undefined>,
  now: Date,
): Promise<Loaded & { written: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const loaded = await load(executionId);
    const change = await plan(loaded);
    if (!change) return { ...loaded, written: false };
    const writes = [...(change.execution ? [executionWrite(loaded.execution, change.execution)] : []), ...(change.writes ?? [])];
    const actor = workflowActor(executionId);
    const targetId = loaded.execution.targetId;
    try {
      let target = loaded.target;
      if (change.target) {
        if (!target) throw new Error(`Target ${targetId} of execution ${executionId} does not exist`);
        if (change.audit.length !== 1) throw new Error('A target change carries exactly one audit record');
        target = await updateTarget(target, change.target, { actor, ...change.audit[0]! }, now, writes);
      } else {
        const audit: AuditInput[] = change.audit.map((a) => ({ stream: targetStream(targetId), actor, targetId, ...a }));
        await transactWithAudit(writes, audit, now);
      }
      const execution = change.execution ? { ...change.execution, version: loaded.execution.version + 1 } : loaded.execution;
      return { execution, target, written: true };
    } catch (e) {
      const lostRace = e instanceof Contention || (e instanceof ProblemError && e.status === 412);
      if (!lostRace || attempt >= MAX_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
    }
  }
}
