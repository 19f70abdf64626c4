// The one wrapper every step handler goes through: it finds the step's spec by the state name, records
// the attempt in the execution record (RUNNING, then SUCCEEDED / SKIPPED / FAILED; command steps record
// WAITING themselves), appends a `workflow.step` audit record for every outcome and turns whatever went
// wrong into a named error the state machine's Retry and Catch can match.
import { log } from '../../api/lib/log.js';
import type { TargetRecord } from '../../core/records.js';
import { stepByState, type ExecutionRecord, type StepPayload, type StepResult, type StepSpec, type StepStatus } from '../../core/workflows.js';
import { withStep } from '../../adapters/executions.js';
import { StepError, blockedError, toStepError } from './errors.js';
import { commit, workflowActor } from './store.js';

export interface StepContext {
  spec: StepSpec;
  payload: StepPayload;
  /** The execution record as this attempt started it (step RUNNING). */
  execution: ExecutionRecord;
  target: TargetRecord;
  /** 0 on the first attempt ($$.State.RetryCount). */
  attempt: number;
  now: Date;
  actor: string;
}

/**
 * How a step ended. SUCCEEDED and SKIPPED are recorded by the wrapper; WAITING means the step already
 * recorded itself in the transaction that stored its command.
 */
export interface StepDone {
  status: Extract<StepStatus, 'SUCCEEDED' | 'SKIPPED' | 'WAITING'>;
  result: StepResult;
}

export type StepBody = (ctx: StepContext) => Promise<StepDone>;
export type StepHandler = (payload: StepPayload) => Promise<StepResult>;

export const succeeded = (result: StepResult): StepDone => ({ status: 'SUCCEEDED', result });
export const skipped = (result: StepResult): StepDone => ({ status: 'SKIPPED', result });

/** The `workflow.step` audit record: ids and status only, never values. */
export function stepAudit(
  spec: StepSpec,
  executionId: string,
  status: StepStatus,
  attempt: number,
  extra: Record<string, unknown> = {},
): { action: string; details: Record<string, unknown> } {
  return { action: 'workflow.step', details: { executionId, step: spec.key, state: spec.state, status, attempt, ...extra } };
}

/** Record the outcome of this attempt on the execution record, with its audit record, in one transaction. */
async function recordOutcome(
  spec: StepSpec,
  payload: StepPayload,
  attempt: number,
  status: 'SUCCEEDED' | 'SKIPPED' | 'FAILED',
  now: Date,
  outcome: { summary: string; error?: { name: string; message: string }; extra?: Record<string, unknown> },
): Promise<void> {
  await commit(
    payload.execution.id,
    ({ execution }) => ({
      execution: withStep(
        execution,
        spec.key,
        (s) => {
          const { error: _e, ...rest } = s;
          void _e;
          return {
            ...rest,
            status,
            stoppedAt: now.toISOString(),
            summary: outcome.summary,
            ...(outcome.error ? { error: outcome.error } : {}),
          };
        },
        now,
      ),
      audit: [
        stepAudit(spec, payload.execution.id, status, attempt, {
          summary: outcome.summary,
          ...(outcome.error ? { error: outcome.error } : {}),
          ...outcome.extra,
        }),
      ],
    }),
    now,
  );
}

/**
 * A forward step must not act for a run that already ended: Step Functions does not stop a Lambda that is
 * running when its execution is stopped, and the reconciler may have compensated the run meanwhile.
 * Block-branch steps run while the run is still RUNNING and are never refused.
 */
export function assertRunOpen(spec: StepSpec, execution: ExecutionRecord): void {
  if (spec.compensation) return;
  if (execution.status !== 'RUNNING' || execution.compensatedAt) {
    throw blockedError(spec, `Execution ${execution.id} already ended (${execution.status}${execution.compensatedAt ? ', compensated' : ''}).`);
  }
}

/** Build the Lambda handler of the step file `fn` from its body. */
export function defineStep(fn: string, body: StepBody): StepHandler {
  return async (payload: StepPayload): Promise<StepResult> => {
    const spec = stepByState(payload.step);
    if (!spec || spec.fn !== fn) {
      // A wiring mistake in the state machine: no retry can fix it.
      const detail = `State "${payload.step}" is not run by ${fn}`;
      throw new StepError('Blocked.StepMisconfigured', JSON.stringify({ step: payload.step, message: detail }), detail);
    }
    const attempt = payload.attempt ?? 0;
    const executionId = payload.execution.id;
    const now = new Date();
    let status: StepDone['status'] | undefined;
    try {
      const started = await commit(
        executionId,
        ({ execution }) => {
          assertRunOpen(spec, execution);
          const running = withStep(execution, spec.key, ({ error: _e, stoppedAt: _s, summary: _m, ...rest }) => ({ ...rest, status: 'RUNNING', attempts: attempt + 1 }), now);
          return { execution: running, audit: [] };
        },
        now,
      );
      if (!started.target) throw blockedError(spec, `Target ${started.execution.targetId} does not exist.`);
      const done = await body({ spec, payload, execution: started.execution, target: started.target, attempt, now, actor: workflowActor(executionId) });
      status = done.status;
      if (done.status !== 'WAITING') await recordOutcome(spec, payload, attempt, done.status, new Date(), { summary: done.result.summary });
      log('info', 'step finished', { executionId, step: spec.key, status: done.status, attempt });
      return done.result;
    } catch (raw) {
      const error = toStepError(spec, raw);
      if (status === undefined) {
        // Best effort: the named error must reach the state machine even if this write fails too.
        await recordOutcome(spec, payload, attempt, 'FAILED', new Date(), { summary: error.summary, error: { name: error.name, message: error.summary } }).catch(
          (e: unknown) => log('error', 'could not record step failure', { executionId, step: spec.key, error: String(e) }),
        );
      }
      log(error.retryable ? 'warn' : 'error', 'step failed', { executionId, step: spec.key, attempt, error: error.name, detail: error.summary });
      throw error;
    }
  };
}
