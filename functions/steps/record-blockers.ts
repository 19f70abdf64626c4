// Record blockers (block branch): turn the caught failure into blockers — those the failed step put in its
// cause, else what the error name says (SPEC §7.1) — and leave the target blocked with them. The step that
// failed, and any command the run still had open, are closed in the record.
import { blockersFromFailure } from '../core/compensation.js';
import { blockedErrorNameFor, type ExecutionStep } from '../core/workflows.js';
import { closeOpenCommands } from './lib/command.js';
import { defineStep, succeeded } from './lib/step.js';
import { commit } from './lib/store.js';

const TIMEOUTS = new Set(['States.Timeout', 'States.HeartbeatTimeout', 'Transient.AgentTimeout']);

export const handler = defineStep('record-blockers', async ({ payload, execution, now }) => {
  const failure = payload.failure ?? { Error: 'States.Runtime', Cause: 'The block branch was entered without a failure.' };
  const { blockers, step } = blockersFromFailure(failure, execution);
  const closed = await closeOpenCommands(execution, TIMEOUTS.has(failure.Error) ? 'timed-out' : 'failed', now);
  const stepError = { name: failure.Error, message: blockers[0]!.message };
  await commit(
    payload.execution.id,
    ({ execution: current, target }) => ({
      execution: {
        ...current,
        blockers,
        steps: current.steps.map((s): ExecutionStep =>
          s.name === step?.key && (s.status === 'RUNNING' || s.status === 'WAITING')
            ? { ...s, status: 'FAILED', stoppedAt: now.toISOString(), error: stepError }
            : s,
        ),
      },
      ...(target && target.status !== 'decommissioned' ? { target: { status: 'blocked' as const, blockers } } : {}),
      audit: [
        {
          action: 'target.blocked',
          details: { executionId: current.id, blockers, error: failure.Error, ...(step ? { step: step.key } : {}), closedCommands: closed },
        },
      ],
    }),
    now,
  );
  const codes = blockers.map((b) => b.code);
  return succeeded({
    summary: `Target ${payload.execution.targetId} blocked: ${codes.join(', ')}`,
    blockers: codes,
    ...(step ? { failedStep: step.state } : {}),
    // The block branch's Fail state names the first blocker (ErrorPath/CausePath).
    error: blockedErrorNameFor(codes[0]!),
    cause: JSON.stringify({ blockers, ...(step ? { step: step.state } : {}) }),
  });
});
