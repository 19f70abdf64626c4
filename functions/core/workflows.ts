// The one definition of the provisioning and update workflows (SPEC §7): their steps as the state
// machines name them, the Lambda function behind each step, the agent command it sends, the blocker a
// permanent failure of it becomes, and the error names Retry and Catch match on. The ASL files in
// statemachines/, the CDK stack, the local runner and the tests all read this list.
import { createHash } from 'node:crypto';
import type { Blocker, TargetRecord } from './records.js';

export type WorkflowKind = 'provisioning' | 'update';

/** Commands an agent executes (SPEC §7.3). */
export const COMMAND_TYPES = [
  'validate-runtime',
  'install-secrets',
  'run-migrations',
  'seed-foundation-data',
  'install-license',
  'install-release',
  'run-health-checks',
  'lock-installer',
  'unlock-installer',
  'enable-maintenance',
  'verify-backup',
  'disable-maintenance',
  'shift-traffic',
  'rollback',
] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** Errors that mean "try again": matched by every task's Retry. Never States.ALL. */
export const TRANSIENT_ERRORS = [
  'Transient.AgentError',
  'Transient.AgentTimeout',
  'Transient.StepFailed',
  'States.Timeout',
  'States.HeartbeatTimeout',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  // AWS's list for Lambda tasks (Step Functions developer guide, "Handle Lambda service exceptions"):
  // ClientExecutionTimeoutException with the three above; an unhandled error or a function timeout is
  // Lambda.Unknown, and a timed-out sandbox reports Sandbox.Timedout. Every step is safe to repeat.
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.Unknown',
  'Sandbox.Timedout',
] as const;

/** What a failed run leaves on the target when no step-specific blocker applies. */
export const WORKFLOW_BLOCKERS = {
  ALLOCATION_FAILED: { message: 'The target could not be allocated for this run.', remediation: 'Check the target is not already being provisioned, then unblock and retry.' },
  UNSUPPORTED_RUNTIME: { message: 'The agent reports that the runtime does not meet the release or policy.', remediation: 'Upgrade the runtime components named in the step error, then unblock and retry.' },
  SECRETS_UNAVAILABLE: { message: 'The secrets for this target could not be created or delivered.', remediation: 'Check the secrets policy and the target encryption key, then unblock and retry.' },
  MIGRATION_FAILED: { message: 'Database migrations failed on the target.', remediation: 'Inspect the migration error in the execution, repair the database, then unblock and retry.' },
  SEED_FAILED: { message: 'Seeding foundation data failed on the target.', remediation: 'Inspect the seed error in the execution, then unblock and retry.' },
  LICENSE_ACTIVATION_FAILED: { message: 'The license could not be activated on the target.', remediation: 'Check the license and the heartbeat client, then unblock and retry.' },
  RELEASE_BIND_FAILED: { message: 'The release could not be installed on the target.', remediation: 'Check the artifact and the release signatures, then unblock and retry.' },
  HEALTH_CHECK_FAILED: { message: 'Health checks failed after the release was installed.', remediation: 'Inspect the health check output in the execution; fix the target, then unblock and retry.' },
  INSTALLER_LOCK_FAILED: { message: 'The installer could not be locked after install.', remediation: 'Lock or remove the installer on the target, then unblock and retry.' },
  AUDIT_RECORD_FAILED: { message: 'The completion of the run could not be recorded.', remediation: 'Retry the run; the audit trail shows how far it got.' },
  MAINTENANCE_MODE_FAILED: { message: 'Maintenance mode could not be switched on the target.', remediation: 'Check the agent on the target, then unblock and retry.' },
  BACKUP_VERIFICATION_FAILED: { message: 'No fresh successful backup could be verified before the update.', remediation: 'Run a backup on the target, then unblock and retry.' },
  ROLLBACK_PACKAGE_MISSING: { message: 'The current release could not be retained as a rollback package.', remediation: 'Re-publish or restore the bound release artifact, then unblock and retry.' },
  TRAFFIC_SHIFT_FAILED: { message: 'Traffic could not be shifted to the new release.', remediation: 'Check the deployment pipeline, then unblock and retry.' },
  ROLLBACK_FAILED: { message: 'Rolling back to the retained release failed.', remediation: 'Restore the target by hand from the rollback package, then unblock.' },
  AGENT_TIMEOUT: { message: 'The target agent did not answer in time, even after retries.', remediation: 'Check the update client on the target is running and can reach the control plane, then unblock and retry.' },
  EXECUTION_ABORTED: { message: 'The run was stopped before it finished and has been compensated.', remediation: 'Unblock and start the run again.' },
  EXECUTION_TIMED_OUT: { message: 'The run exceeded its time limit and has been compensated.', remediation: 'Unblock and start the run again.' },
  EXECUTION_LOST: { message: 'The run was lost (the control plane stopped during it) and has been compensated.', remediation: 'Unblock and start the run again.' },
} as const satisfies Record<string, Omit<Blocker, 'code'>>;
export type WorkflowBlockerCode = keyof typeof WORKFLOW_BLOCKERS;

/** `HEALTH_CHECK_FAILED` → `Blocked.HealthCheckFailed`: the error a step fails with so Catch can see it. */
export function blockedErrorNameFor(code: string): string {
  return `Blocked.${code.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase())}`;
}

export interface StepSpec {
  /** The state's name in the ASL: what an operator reads in the console. */
  readonly state: string;
  /** Key of the step in execution records and the `results` object of the state. */
  readonly key: string;
  /** File in functions/steps/ (without .ts) whose `handler` runs the step; also the function's id. */
  readonly fn: string;
  /**
   * ASL placeholder that the CDK fills with the ARN of the function behind the step: the one step function
   * of the workflows (functions/steps/workflow-steps.ts), which dispatches on the payload's `step`.
   */
  readonly placeholder: string;
  /** Set when the step waits for the target's agent (`.waitForTaskToken`). */
  readonly command?: CommandType;
  /** What a permanent failure of this step becomes on the target. */
  readonly blocker: WorkflowBlockerCode | 'POLICY_DENIED';
  /** Part of the block branch (compensation): its own failures go to CompensationFailed. */
  readonly compensation?: true;
  /** Which workflows use it. */
  readonly workflows: readonly WorkflowKind[];
}

/**
 * The step functions, one per workflow family (functions/steps/<name>.ts): each dispatches on the `step` of its
 * payload to the step's module. The provisioning and update steps share one, the rollout steps another.
 */
export const STEP_FUNCTIONS = { workflow: 'workflow-steps', rollout: 'rollout-steps' } as const;

/** `workflow-steps` → `WorkflowStepsFunctionArn`: the ASL placeholder of a function. */
export const functionPlaceholder = (fn: string) => `${fn.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}FunctionArn`;
const step = (s: Omit<StepSpec, 'placeholder'>): StepSpec => ({ ...s, placeholder: functionPlaceholder(STEP_FUNCTIONS.workflow) });

/**
 * Every step. Command steps share one sender function per command type, so `fn` names the command's
 * sender (e.g. `send-validate-runtime`).
 */
export const STEPS: readonly StepSpec[] = [
  // Gate and provisioning, in order.
  step({ state: 'Check policy gate', key: 'policyGate', fn: 'policy-gate', blocker: 'POLICY_DENIED', workflows: ['provisioning', 'update'] }),
  step({ state: 'Allocate target', key: 'allocateTarget', fn: 'allocate-target', blocker: 'ALLOCATION_FAILED', workflows: ['provisioning'] }),
  step({ state: 'Validate runtime', key: 'validateRuntime', fn: 'validate-runtime', command: 'validate-runtime', blocker: 'UNSUPPORTED_RUNTIME', workflows: ['provisioning'] }),
  step({ state: 'Inject secrets', key: 'injectSecrets', fn: 'inject-secrets', command: 'install-secrets', blocker: 'SECRETS_UNAVAILABLE', workflows: ['provisioning'] }),
  step({ state: 'Run migrations', key: 'runMigrations', fn: 'run-migrations', command: 'run-migrations', blocker: 'MIGRATION_FAILED', workflows: ['provisioning', 'update'] }),
  step({ state: 'Seed foundation data', key: 'seedFoundationData', fn: 'seed-foundation-data', command: 'seed-foundation-data', blocker: 'SEED_FAILED', workflows: ['provisioning'] }),
  step({ state: 'Activate license', key: 'activateLicense', fn: 'activate-license', command: 'install-license', blocker: 'LICENSE_ACTIVATION_FAILED', workflows: ['provisioning'] }),
  step({ state: 'Bind release', key: 'bindRelease', fn: 'bind-release', command: 'install-release', blocker: 'RELEASE_BIND_FAILED', workflows: ['provisioning', 'update'] }),
  step({ state: 'Run health checks', key: 'runHealthChecks', fn: 'run-health-checks', command: 'run-health-checks', blocker: 'HEALTH_CHECK_FAILED', workflows: ['provisioning', 'update'] }),
  step({ state: 'Lock installer', key: 'lockInstaller', fn: 'lock-installer', command: 'lock-installer', blocker: 'INSTALLER_LOCK_FAILED', workflows: ['provisioning'] }),
  step({ state: 'Record audit event', key: 'recordAuditEvent', fn: 'record-audit-event', blocker: 'AUDIT_RECORD_FAILED', workflows: ['provisioning', 'update'] }),
  // Update only.
  step({ state: 'Enable maintenance mode', key: 'enableMaintenance', fn: 'enable-maintenance', command: 'enable-maintenance', blocker: 'MAINTENANCE_MODE_FAILED', workflows: ['update'] }),
  step({ state: 'Verify fresh backup', key: 'verifyBackup', fn: 'verify-backup', command: 'verify-backup', blocker: 'BACKUP_VERIFICATION_FAILED', workflows: ['update'] }),
  step({ state: 'Retain rollback package', key: 'retainRollbackPackage', fn: 'retain-rollback-package', blocker: 'ROLLBACK_PACKAGE_MISSING', workflows: ['update'] }),
  step({ state: 'Shift traffic', key: 'shiftTraffic', fn: 'shift-traffic', command: 'shift-traffic', blocker: 'TRAFFIC_SHIFT_FAILED', workflows: ['update'] }),
  step({ state: 'Roll back release', key: 'rollback', fn: 'rollback', command: 'rollback', blocker: 'ROLLBACK_FAILED', workflows: ['update'] }),
  step({ state: 'Disable maintenance mode', key: 'disableMaintenance', fn: 'disable-maintenance', command: 'disable-maintenance', blocker: 'MAINTENANCE_MODE_FAILED', workflows: ['update'] }),
  // Block branch (compensation), shared by both workflows.
  step({ state: 'Record blockers', key: 'recordBlockers', fn: 'record-blockers', blocker: 'AUDIT_RECORD_FAILED', compensation: true, workflows: ['provisioning', 'update'] }),
  step({ state: 'Delete injected secrets', key: 'deleteSecrets', fn: 'delete-secrets', blocker: 'SECRETS_UNAVAILABLE', compensation: true, workflows: ['provisioning'] }),
  step({ state: 'Release allocation', key: 'releaseAllocation', fn: 'release-allocation', blocker: 'ALLOCATION_FAILED', compensation: true, workflows: ['provisioning', 'update'] }),
  step({ state: 'Unlock installer', key: 'unlockInstaller', fn: 'unlock-installer', command: 'unlock-installer', blocker: 'INSTALLER_LOCK_FAILED', compensation: true, workflows: ['provisioning'] }),
  // Maintenance mode ends "success or not" (SPEC §7.2): the block branch runs the same function again.
  step({ state: 'Switch off maintenance mode', key: 'disableMaintenanceAfterFailure', fn: 'disable-maintenance', command: 'disable-maintenance', blocker: 'MAINTENANCE_MODE_FAILED', compensation: true, workflows: ['update'] }),
  step({ state: 'Record failure', key: 'recordFailure', fn: 'record-failure', blocker: 'AUDIT_RECORD_FAILED', compensation: true, workflows: ['provisioning', 'update'] }),
];

/** The provisioning steps of SPEC §7.1 in order (gate excluded): what the fault matrix walks. */
export const PROVISIONING_SEQUENCE = [
  'Allocate target', 'Validate runtime', 'Inject secrets', 'Run migrations', 'Seed foundation data',
  'Activate license', 'Bind release', 'Run health checks', 'Lock installer', 'Record audit event',
] as const;

export function stepByState(state: string): StepSpec | undefined {
  return STEPS.find((s) => s.state === state);
}

/** Commands and execution records name steps by key (e.g. `runMigrations`). */
export function stepByKey(key: string): StepSpec | undefined {
  return STEPS.find((s) => s.key === key);
}

export function stepByFn(fn: string): StepSpec | undefined {
  return STEPS.find((s) => s.fn === fn);
}

/** State-machine names of the terminal states, shared by the ASL and the readers of histories. */
export const TERMINAL_STATES = {
  succeeded: { provisioning: 'Provisioned', update: 'Updated' },
  blocked: 'Blocked',
  compensationFailed: 'CompensationFailed',
} as const;

/**
 * The execution input both workflows start with. Everything later steps need is here or in DynamoDB;
 * secret values never are.
 */
export interface ExecutionInput {
  execution: {
    id: string;
    kind: WorkflowKind;
    targetId: string;
    releaseId: string;
    mode: TargetRecord['mode'];
    /** SaaS update strategy; customer-run modes use maintenance mode instead. */
    strategy?: TargetRecord['strategy'];
    /** The release bound before this run (updates). */
    previousRelease?: string;
    startedAt: string;
  };
}

/** Payload every step function receives (the ASL builds it from the state input). */
export interface StepPayload {
  /** The state's name, so one wrapper can find the step spec. */
  step: string;
  execution: ExecutionInput['execution'];
  /** Present for command steps in AWS ($$.Task.Token); the local runner supplies its own. */
  taskToken?: string;
  /** $$.State.RetryCount: 0 on the first attempt. */
  attempt?: number;
  /** The error a Catch recorded (block branch only): {Error, Cause}. */
  failure?: { Error: string; Cause?: string };
}

/** What a step answers; it becomes the state's result in the console, so it says what happened. */
export interface StepResult {
  summary: string;
  [detail: string]: unknown;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
export type StepStatus = 'RUNNING' | 'WAITING' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED';

export interface ExecutionStep {
  name: string;
  status: StepStatus;
  attempts: number;
  startedAt: string;
  stoppedAt?: string;
  error?: { name: string; message: string };
  summary?: string;
}

/** Execution record in DynamoDB (SPEC §3): outlives Step Functions' 90-day history. */
export interface ExecutionRecord {
  id: string;
  kind: WorkflowKind;
  targetId: string;
  releaseId: string;
  status: ExecutionStatus;
  startedAt: string;
  stoppedAt?: string;
  steps: ExecutionStep[];
  blockers?: Blocker[];
  /** Set once compensation (block branch or reconciler) has run, so it runs once. */
  compensatedAt?: string;
  /** What the run created and must undo: secret names, whether it locked the installer, etc. */
  effects?: { secrets?: string[]; installerLocked?: boolean; maintenanceMode?: boolean; allocated?: boolean };
  /** The Step Functions execution ARN (AWS) or local id. */
  executionArn?: string;
  idempotencyKey: string;
  /**
   * Who waits for this run to end: a rollout wave's "Update target" task. The run's last step (or the
   * compensation) completes that task with the run's outcome.
   */
  notify?: { taskToken: string; rolloutId: string };
  version: number;
}

/** What a run reports to the rollout wave that started it. */
export interface RunOutcome {
  outcome: 'succeeded' | 'failed' | 'halted' | 'skipped';
  executionId?: string;
  status?: ExecutionStatus;
  blockers?: Blocker[];
  reason?: string;
}

/** A command for a target's agent (SPEC §7.3). */
export interface CommandRecord {
  id: string;
  targetId: string;
  executionId: string;
  step: string;
  type: CommandType;
  status: 'pending' | 'delivered' | 'succeeded' | 'failed' | 'timed-out';
  /** What the agent needs: references, encrypted secrets, release id; never plain secret values. */
  payload: Record<string, unknown>;
  /** The Step Functions task token the result completes. Never shown to agents. */
  taskToken: string;
  attempt: number;
  createdAt: string;
  deliveredAt?: string;
  completedAt?: string;
  result?: { status: 'succeeded' | 'failed'; output?: unknown; error?: { name: string; message: string }; issuedAt: string };
}

/**
 * Step Functions execution names: at most 80 characters of letters, digits, `-` and `_` (no spaces or
 * `:/#%`). Derived from the target and a hash of the key, so a replay maps to the same name.
 */
export function executionName(kind: WorkflowKind, targetId: string, key: string): string {
  const keyHash = createHash('sha256').update(`${kind}\u0000${targetId}\u0000${key}`).digest('hex').slice(0, 16);
  const safeTarget = targetId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 50);
  return `${kind === 'provisioning' ? 'provision' : 'update'}-${safeTarget}-${keyHash}`;
}
