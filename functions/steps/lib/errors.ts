// The errors steps fail with (SPEC §7.1). Their `name` is what the state machines' Retry and Catch match:
// `Transient.*` is retried, `Blocked.*` goes straight to the block branch. The message is JSON — it
// becomes the Cause — and carries the blockers the block branch records on the target.
import { workflowBlocker, type StepCause } from '../../core/compensation.js';
import type { Blocker } from '../../core/records.js';
import { blockedErrorNameFor, stepByFn, STEPS, type CommandRecord, type StepSpec } from '../../core/workflows.js';

export type TransientName = 'Transient.StepFailed' | 'Transient.AgentError';

export class StepError extends Error {
  constructor(
    override readonly name: string,
    /** The JSON Cause. */
    message: string,
    /** A one-line account for the execution record and the audit trail (no secret values). */
    readonly summary: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return this.name.startsWith('Transient.');
  }
}

function causeOf(spec: StepSpec, fields: Omit<StepCause, 'step' | 'stepKey'>): string {
  return JSON.stringify({ step: spec.state, stepKey: spec.key, ...fields } satisfies StepCause);
}

/**
 * A permanent failure of `spec`: named after the first blocker's code (the step's own blocker unless
 * `blockers` says otherwise, as the policy gate does), with every blocker in the cause.
 */
export function blockedError(spec: StepSpec, detail: string, blockers?: readonly Blocker[], cause?: unknown): StepError {
  const list = blockers && blockers.length > 0 ? [...blockers] : [workflowBlocker(spec.blocker, detail)];
  return new StepError(blockedErrorNameFor(list[0]!.code), causeOf(spec, { blockers: list }), detail, { cause });
}

/** A failure worth retrying (the Retry of every task matches it). */
export function transientError(spec: StepSpec, detail: string, name: TransientName = 'Transient.StepFailed', cause?: unknown): StepError {
  return new StepError(name, causeOf(spec, { message: detail }), detail, { cause });
}

// SDK error names that mean "the service was busy or unreachable, try again".
const TRANSIENT_SDK_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
  'InternalServerError',
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'Contention',
]);
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

function isTransient(e: Error): boolean {
  const meta = (e as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: unknown; status?: unknown });
  if (TRANSIENT_SDK_ERRORS.has(e.name)) return true;
  if (meta.$retryable) return true;
  if (typeof meta.$metadata?.httpStatusCode === 'number' && meta.$metadata.httpStatusCode >= 500) return true;
  if (typeof meta.code === 'string' && TRANSIENT_NODE_CODES.has(meta.code)) return true;
  // A conditional update lost to a concurrent writer (ProblemError 412): read again and retry.
  if (e.name === 'ProblemError' && meta.status === 412) return true;
  // A transaction cancelled only by contention (not by one of our own conditions).
  if (e.name === 'TransactionCanceledException') {
    const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    return reasons.some((r) => r?.Code === 'TransactionConflict' || r?.Code === 'ThrottlingError');
  }
  return false;
}

/**
 * Whatever a step threw, as a named step error: ours pass through; infrastructure hiccups are
 * Transient.StepFailed; anything else is a permanent failure of the step (never retried blindly).
 */
export function toStepError(spec: StepSpec, error: unknown): StepError {
  if (error instanceof StepError) return error;
  const e = error instanceof Error ? error : new Error(String(error));
  const detail = `${e.name}: ${e.message}`.slice(0, 500);
  return isTransient(e) ? transientError(spec, detail, 'Transient.StepFailed', e) : blockedError(spec, detail, undefined, e);
}

/**
 * What the command-result route sends with SendTaskFailure when an agent reports a failed command:
 * `Transient.*` errors of the agent stay retryable (Transient.AgentError); anything else blocks with the
 * step's blocker and the agent's message as the detail.
 */
export function commandFailure(command: Pick<CommandRecord, 'step' | 'type'>, error: { name: string; message: string } | undefined): { error: string; cause: string } {
  const spec = STEPS.find((s) => s.key === command.step) ?? stepByFn(command.type);
  const detail = error ? `The agent reported ${error.name}: ${error.message}`.slice(0, 500) : 'The agent reported a failure.';
  if (!spec) return { error: 'Transient.AgentError', cause: JSON.stringify({ step: command.step, message: detail }) };
  const e = error?.name.startsWith('Transient.') ? transientError(spec, detail, 'Transient.AgentError') : blockedError(spec, detail);
  return { error: e.name, cause: e.message };
}
