// Pure planning for failed, stopped and lost runs (SPEC §7.1): which blockers a failure becomes, and what
// a run left behind that must be undone. The block branch's steps and the reconciler both read this, so a
// run is compensated the same way whichever path finds it.
import { BLOCKER_CODES } from './blockers.js';
import type { Blocker } from './records.js';
import {
  STEPS,
  WORKFLOW_BLOCKERS,
  blockedErrorNameFor,
  type ExecutionRecord,
  type ExecutionStatus,
  type StepSpec,
  type WorkflowBlockerCode,
} from './workflows.js';

/** Why a run is compensated outside its own block branch. */
export type CompensationReason = 'ABORTED' | 'TIMED_OUT' | 'LOST' | 'FAILED';

export const REASON_BLOCKER: Record<Exclude<CompensationReason, 'FAILED'>, WorkflowBlockerCode> = {
  ABORTED: 'EXECUTION_ABORTED',
  TIMED_OUT: 'EXECUTION_TIMED_OUT',
  LOST: 'EXECUTION_LOST',
};

export const REASON_STATUS: Record<CompensationReason, ExecutionStatus> = {
  ABORTED: 'ABORTED',
  TIMED_OUT: 'TIMED_OUT',
  LOST: 'FAILED',
  FAILED: 'FAILED',
};

/** Fallback wording for a policy gate that failed without the decision's own blockers. */
const POLICY_DENIED: Omit<Blocker, 'code'> = {
  message: 'The policy gate refused the run.',
  remediation: 'Ask POST /decisions for this target and release, clear the blockers it names, then unblock and retry.',
};

/** The blocker a workflow code stands for; `detail` (never a secret value) is appended to its message. */
export function workflowBlocker(code: WorkflowBlockerCode | 'POLICY_DENIED', detail?: string): Blocker {
  const base = code === 'POLICY_DENIED' ? POLICY_DENIED : WORKFLOW_BLOCKERS[code];
  const message = detail ? `${base.message} ${detail}` : base.message;
  return { code, message, ...(base.remediation ? { remediation: base.remediation } : {}) };
}

/** What a step's error message (the Cause) carries; record-blockers reads it back. */
export interface StepCause {
  step: string;
  stepKey?: string;
  blockers?: Blocker[];
  message?: string;
}

const CODE_BY_ERROR_NAME = new Map<string, string>(
  [...Object.keys(WORKFLOW_BLOCKERS), ...BLOCKER_CODES, 'POLICY_DENIED'].map((c) => [blockedErrorNameFor(c), c]),
);

/** `Blocked.MigrationFailed` → `MIGRATION_FAILED` (undefined for names that are not blocker errors). */
export function codeOfErrorName(name: string): string | undefined {
  return CODE_BY_ERROR_NAME.get(name);
}

function isBlocker(v: unknown): v is Blocker {
  return !!v && typeof v === 'object' && typeof (v as Blocker).code === 'string' && typeof (v as Blocker).message === 'string';
}

/**
 * Read a Cause. Ours is JSON ({blockers, step}); Lambda wraps a thrown error's message as
 * {errorType, errorMessage, trace}; agents' and engines' causes may be plain text.
 */
export function parseCause(cause: string | undefined): { parsed?: StepCause; text?: string } {
  if (!cause) return {};
  let value: unknown;
  try {
    value = JSON.parse(cause);
  } catch {
    return { text: cause };
  }
  if (value && typeof value === 'object' && typeof (value as { errorMessage?: unknown }).errorMessage === 'string') {
    return parseCause((value as { errorMessage: string }).errorMessage);
  }
  if (value && typeof value === 'object' && typeof (value as StepCause).step === 'string') {
    const c = value as StepCause;
    return {
      parsed: {
        step: c.step,
        ...(typeof c.stepKey === 'string' ? { stepKey: c.stepKey } : {}),
        ...(Array.isArray(c.blockers) ? { blockers: c.blockers.filter(isBlocker) } : {}),
        ...(typeof c.message === 'string' ? { message: c.message } : {}),
      },
    };
  }
  return { text: typeof value === 'string' ? value : cause };
}

const AGENT_SILENCE = new Set(['States.Timeout', 'States.HeartbeatTimeout', 'Transient.AgentTimeout', 'Transient.AgentError']);

/**
 * The step the run failed in: named by the cause, else the last step of the record that did not succeed
 * (block-branch steps excluded: they are not what failed).
 */
export function failedStep(record: ExecutionRecord | undefined, cause?: StepCause): StepSpec | undefined {
  if (cause) {
    const named = STEPS.find((s) => s.state === cause.step || s.key === cause.stepKey || s.key === cause.step);
    if (named) return named;
  }
  const steps = record?.steps ?? [];
  for (let i = steps.length - 1; i >= 0; i--) {
    const entry = steps[i]!;
    const spec = STEPS.find((s) => s.key === entry.name);
    if (!spec || spec.compensation) continue;
    if (entry.status !== 'SUCCEEDED' && entry.status !== 'SKIPPED') return spec;
  }
  return undefined;
}

/** Keep a text short and on one line before it becomes part of a blocker message. */
function brief(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line || undefined;
}

/**
 * The blockers a caught failure `{Error, Cause}` becomes. Blockers in the cause win (the step knew best);
 * otherwise a `Blocked.*` name gives its code; an agent that stayed silent or kept failing transiently is
 * AGENT_TIMEOUT; anything else is the failed step's own blocker.
 */
export function blockersFromFailure(
  failure: { Error: string; Cause?: string } | undefined,
  record: ExecutionRecord | undefined,
): { blockers: Blocker[]; step?: StepSpec } {
  const { parsed, text } = parseCause(failure?.Cause);
  const step = failedStep(record, parsed);
  if (parsed?.blockers && parsed.blockers.length > 0) return { blockers: parsed.blockers, ...(step ? { step } : {}) };
  const name = failure?.Error ?? '';
  const detail = brief(parsed?.message ?? text);
  const named = codeOfErrorName(name);
  let code: string;
  if (named) code = named;
  else if (AGENT_SILENCE.has(name)) code = 'AGENT_TIMEOUT';
  else if (name === 'Transient.StepFailed') code = step?.command ? 'AGENT_TIMEOUT' : (step?.blocker ?? 'AGENT_TIMEOUT');
  else code = step?.blocker ?? 'EXECUTION_LOST';
  const blocker =
    code in WORKFLOW_BLOCKERS || code === 'POLICY_DENIED'
      ? workflowBlocker(code as WorkflowBlockerCode, detail)
      : { code, message: detail ?? `The run failed with ${name}.` };
  const where = step ? ` (step "${step.state}")` : '';
  return { blockers: [{ ...blocker, message: `${blocker.message}${where}` }], ...(step ? { step } : {}) };
}

function stepSucceeded(record: ExecutionRecord, key: string): boolean {
  return record.steps.some((s) => s.name === key && s.status === 'SUCCEEDED');
}

/** What a run must undo: the secrets it created, the installer it locked, the maintenance mode it enabled. */
export interface CompensationPlan {
  secrets: string[];
  unlockInstaller: boolean;
  disableMaintenance: boolean;
}

export function compensationPlan(record: ExecutionRecord): CompensationPlan {
  const effects = record.effects ?? {};
  return {
    secrets: [...new Set(effects.secrets ?? [])],
    unlockInstaller: effects.installerLocked === true && !stepSucceeded(record, 'unlockInstaller'),
    disableMaintenance:
      effects.maintenanceMode === true &&
      !stepSucceeded(record, 'disableMaintenance') &&
      !stepSucceeded(record, 'disableMaintenanceAfterFailure'),
  };
}
