// A command step with nothing to do (the run never locked the installer, never enabled maintenance mode)
// still has a state waiting on its task token: it answers that wait itself.
import type { StepResult } from '../../core/workflows.js';
import { workflowEngine } from '../../adapters/engine.js';
import { skipped, type StepContext, type StepDone } from './step.js';

export async function completeOwnWait(ctx: StepContext, summary: string): Promise<StepDone> {
  const result: StepResult = { summary, skipped: true };
  if (!ctx.payload.taskToken) throw new Error(`Step ${ctx.spec.state} was started without a task token`);
  await workflowEngine().sendTaskSuccess(ctx.payload.taskToken, result);
  return skipped(result);
}
