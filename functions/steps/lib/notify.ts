// Telling a rollout wave that a run it started has ended (its "Update target" task waits with a token).
// Best effort and repeatable: a token nobody waits on any more (the wave was halted) is ignored.
import { TaskNotWaitingError, workflowEngine } from '../../adapters/engine.js';
import type { ExecutionRecord, RunOutcome } from '../../core/workflows.js';
import { log } from '../../api/lib/log.js';

export async function notifyParent(execution: Pick<ExecutionRecord, 'id' | 'notify' | 'status' | 'blockers'>, outcome: RunOutcome['outcome']): Promise<void> {
  if (!execution.notify) return;
  const report: RunOutcome = {
    outcome,
    executionId: execution.id,
    status: execution.status,
    ...(execution.blockers && execution.blockers.length ? { blockers: execution.blockers } : {}),
  };
  try {
    await workflowEngine().sendTaskSuccess(execution.notify.taskToken, report);
  } catch (e) {
    if (e instanceof TaskNotWaitingError) return;
    log('warn', 'rollout wave not told about the run', { executionId: execution.id, error: String(e) });
  }
}
