// Least privilege in one place: which tables each Lambda function may read or write. The API construct
// grants exactly this (and sets the matching table-name environment variables); the template tests check
// the synthesized IAM policies against it.
import type { ApiGroup } from '../functions/core/routes/index.js';
import type { TableId } from '../functions/core/tables.js';
import { STEPS } from '../functions/core/workflows.js';
import type { MachineKind } from '../statemachines/definitions.js';

export type TableAccess = 'read' | 'readWrite';
export type TableGrants = Readonly<Partial<Record<TableId, TableAccess>>>;

/** The API functions, one per route group, plus the authorizer in front of them. */
export type ApiFunctionName = ApiGroup | 'authorizer';

// Every function that changes state also appends to the audit trail (SPEC §8), in the same transaction,
// so each of those needs read-write access to the audit table (conditional seq write + head update).
/**
 * What planning a rollout reads and writes (createRolloutPlan), for the API route and the rollout step that
 * both run it: targets by index, their facts (license, latest attestation, releases, policy heads, the trust
 * set and billing guards), the plan items, and the audit record.
 */
const PLANNING_TABLE_ACCESS: TableGrants = {
  rollouts: 'readWrite',
  targets: 'read',
  licenses: 'read',
  attestations: 'read',
  releases: 'read',
  policies: 'read',
  guards: 'read',
  audit: 'readWrite',
};

export const API_TABLE_ACCESS: Readonly<Record<ApiFunctionName, TableGrants>> = {
  authorizer: { tokens: 'read' },
  system: {},
  tokens: { tokens: 'readWrite', audit: 'readWrite' },
  policies: { policies: 'readWrite', audit: 'readWrite' },
  decisions: {
    targets: 'read',
    licenses: 'read',
    releases: 'read',
    signingKeys: 'read',
    policies: 'read',
    attestations: 'read',
    // The trust set and billing-account guards are read by key on the decision path; target tokens'
    // per-minute budget is counted there too (functions/adapters/rate-limit.ts).
    guards: 'readWrite',
    audit: 'readWrite',
  },
  licenses: { licenses: 'readWrite', audit: 'readWrite' },
  targets: {
    targets: 'readWrite',
    guards: 'readWrite',
    licenses: 'readWrite',
    attestations: 'readWrite',
    // Registration answers a `target:<id>` token, so the target's token item is written with it.
    tokens: 'readWrite',
    policies: 'read',
    audit: 'readWrite',
  },
  // Starting provisioning and update runs: release check, idempotency item, target status, execution record.
  runs: { targets: 'readWrite', releases: 'read', idempotency: 'readWrite', executions: 'readWrite', audit: 'readWrite' },
  releases: {
    releases: 'readWrite',
    signingKeys: 'readWrite',
    guards: 'readWrite',
    policies: 'read',
    targets: 'read',
    audit: 'readWrite',
  },
  audit: { audit: 'read', targets: 'read' },
  // guards: the per-minute budget of target tokens (they may list their own executions).
  executions: { executions: 'read', targets: 'read', guards: 'readWrite' },
  // Agents' results complete waits: command, replay guard, execution step, audit.
  commands: { commands: 'readWrite', targets: 'read', guards: 'readWrite', executions: 'readWrite', audit: 'readWrite' },
  // Planning a rollout: targets by the byChannelMode index, then every target's decision facts by key
  // (license, latest attestation, releases, policy heads, the trust set and billing guards); the plan, its
  // waves and outcomes are its own items. Runs themselves are started by the rollout workflow, not here.
  rollouts: PLANNING_TABLE_ACCESS,
  // Upload URLs need the release's artifacts; download URLs need the target, the release, and the
  // target's open install commands (the release it is being provisioned or updated to); guards: the
  // per-minute budget of target tokens.
  artifacts: { releases: 'read', targets: 'read', commands: 'read', guards: 'readWrite' },
};

/**
 * The release artifact bucket (infra/artifacts.ts): the only function that touches it presigns PUTs
 * (uploads by the release pipeline) and GETs (downloads by agents) and reads object metadata, on the
 * `artifacts/` prefix only. The URLs carry this function's permissions, nothing more.
 */
export type BucketAccess = 'read' | 'write';
export const API_BUCKET_ACCESS: Readonly<Partial<Record<ApiFunctionName, readonly BucketAccess[]>>> = {
  artifacts: ['read', 'write'],
};

/** What an API function may do with the provisioning and update state machines. */
export type WorkflowAccess =
  /** Start runs and stop them (a halted rollout, an operator's stop). */
  | 'run'
  /** Describe runs and read their event history. */
  | 'observe'
  /** Complete and keep alive the waits of command steps (SendTaskSuccess/Failure/Heartbeat). */
  | 'respond';

export const API_WORKFLOW_ACCESS: Readonly<Partial<Record<ApiFunctionName, readonly WorkflowAccess[]>>> = {
  // POST /targets/{id}/provision and /update start runs; stopping and describing them go with starting.
  runs: ['run', 'observe'],
  executions: ['observe'],
  // An agent's signed result completes the step's wait; POST /commands/{id}/heartbeat keeps it alive.
  commands: ['respond'],
};

/**
 * Tables of the state machines' step functions, by `fn` of STEPS (functions/core/workflows.ts), and of the
 * reconciler. Every step records its progress on the execution, the target and the target's audit stream;
 * a command step also stores the command its agent fetches. The entries below are what a step needs on
 * top of that.
 */
/** What judging a decision reads (functions/adapters/facts.ts): the facts a target points to. */
const DECISION_READS: TableGrants = { licenses: 'read', releases: 'read', signingKeys: 'read', policies: 'read', attestations: 'read', guards: 'read' };

const STEP_EXTRA_TABLE_ACCESS: Readonly<Record<string, TableGrants>> = {
  // The same decision as POST /decisions: license, release and its signatures, policies, attestations, guards.
  'policy-gate': DECISION_READS,
  // The release's runtime requirements and the target policy's supported versions.
  'validate-runtime': { releases: 'read', policies: 'read' },
  // The secrets policy says which secrets a mode needs and where each comes from.
  'inject-secrets': { policies: 'read' },
  // Activation is recorded on the license (its targets are counted transactionally).
  'activate-license': { licenses: 'readWrite' },
  // Binding re-judges the release with the decision's facts (D5): the same reads as the policy gate.
  'bind-release': DECISION_READS,
  // The release's migrations (D3).
  'run-migrations': { releases: 'read' },
  // Closing the run's open commands when it is blocked (D4).
  'record-blockers': { commands: 'readWrite' },
  // The target policy's backupMaxAgeSeconds.
  'verify-backup': { policies: 'read' },
  'retain-rollback-package': { releases: 'read' },
  rollback: { releases: 'read' },
  // Compensates runs that never reached their block branch, which may mean closing their open commands;
  // closes rollouts whose execution ended without their own closing step (audited on the control stream),
  // and stops the update runs of a halted rollout's running wave (states:StopExecution on update runs).
  reconcile: { commands: 'readWrite', rollouts: 'readWrite' },
};

const STEP_BASE_TABLE_ACCESS: TableGrants = { executions: 'readWrite', targets: 'readWrite', audit: 'readWrite' };

/** Tables a step function (or the reconciler, `reconcile`) is granted. */
export function stepTableAccess(fn: string, sendsCommand: boolean): TableGrants {
  return {
    ...STEP_BASE_TABLE_ACCESS,
    ...(sendsCommand ? { commands: 'readWrite' } : {}),
    ...STEP_EXTRA_TABLE_ACCESS[fn],
  };
}

/** Grants that cover every one of `grants` (read-write where any of them writes). */
export function unionGrants(...grants: readonly TableGrants[]): TableGrants {
  const union: Partial<Record<TableId, TableAccess>> = {};
  for (const g of grants) {
    for (const [tableId, access] of Object.entries(g) as [TableId, TableAccess][]) {
      union[tableId] = union[tableId] === 'readWrite' || access === 'readWrite' ? 'readWrite' : 'read';
    }
  }
  return union;
}

/** The step files of the step list, each once, with whether one of its states sends an agent command. */
export function workflowStepFns(): { fn: string; sendsCommand: boolean }[] {
  const byFn = new Map<string, boolean>();
  for (const step of STEPS) byFn.set(step.fn, (byFn.get(step.fn) ?? false) || step.command !== undefined);
  return [...byFn].map(([fn, sendsCommand]) => ({ fn, sendsCommand }));
}

/**
 * Tables of the workflows' one step function (functions/steps/workflow-steps.ts), which runs every step of
 * the step list: the union of what each step is granted above.
 */
export function workflowStepsTableAccess(): TableGrants {
  return unionGrants(...workflowStepFns().map(({ fn, sendsCommand }) => stepTableAccess(fn, sendsCommand)));
}

/**
 * Secrets Manager, on the per-target secrets only (`dcp/<targetId>/<NAME>`): `create` makes them (tagged
 * with the run that created them) and reads them back to seal them for a customer-run target; `delete`
 * removes the ones a run created, and nothing untagged.
 */
export type SecretAccess = 'create' | 'delete';
export const STEP_SECRET_ACCESS: Readonly<Record<string, readonly SecretAccess[]>> = {
  'inject-secrets': ['create'],
  'delete-secrets': ['delete'],
  reconcile: ['delete'],
};

/** Secrets access of a function that runs the step files `fns`: the union of theirs. */
export function secretAccessOf(fns: readonly string[]): SecretAccess[] {
  return [...new Set(fns.flatMap((fn) => STEP_SECRET_ACCESS[fn] ?? []))].sort();
}

/**
 * The Lambda functions behind the rollout workflows (statemachines/rollout.asl.json and rollout-wave.asl.json,
 * SPEC §7.4), by file in functions/steps/, with their tables. The plan, its waves and target outcomes are
 * items of the rollouts table, which every one of them reads and writes.
 */
export const ROLLOUT_STEP_TABLE_ACCESS = {
  // Plans exactly as POST /rollouts does (createRolloutPlan): the same reads, and the plan audited.
  'rollout-plan': PLANNING_TABLE_ACCESS,
  'rollout-load': { rollouts: 'readWrite' },
  // A halted rollout is audited on the control stream.
  'rollout-judge-wave': { rollouts: 'readWrite', audit: 'readWrite' },
  'rollout-complete': { rollouts: 'readWrite', audit: 'readWrite' },
  // Each member's mode and maintenance window.
  'rollout-load-wave': { rollouts: 'readWrite', targets: 'read' },
  // Starts the target's update run as POST /targets/{id}/update does: release check, idempotency item,
  // target status and execution record, audited.
  'rollout-update-target': {
    rollouts: 'readWrite',
    targets: 'readWrite',
    releases: 'read',
    executions: 'readWrite',
    idempotency: 'readWrite',
    audit: 'readWrite',
  },
  'rollout-record-outcome': { rollouts: 'readWrite' },
  'rollout-complete-wave': { rollouts: 'readWrite' },
} as const satisfies Readonly<Record<string, TableGrants>>;
export type RolloutStepFn = keyof typeof ROLLOUT_STEP_TABLE_ACCESS;
export const ROLLOUT_STEP_FNS = Object.keys(ROLLOUT_STEP_TABLE_ACCESS) as RolloutStepFn[];

/** Tables of the rollouts' one step function (functions/steps/rollout-steps.ts): the union of its steps'. */
export function rolloutStepsTableAccess(): TableGrants {
  return unionGrants(...Object.values(ROLLOUT_STEP_TABLE_ACCESS));
}

/**
 * Functions that tell a rollout wave that an update run it started has ended, by answering the wave's
 * "Update target" task token (functions/steps/lib/notify.ts): the update workflow's last steps, the
 * reconciler, and the update-target step itself when it skips a target at once. They may call
 * states:SendTaskSuccess on the rollout-wave state machine, and nothing else of it.
 */
export const ROLLOUT_WAVE_NOTIFIERS = ['record-audit-event', 'record-failure', 'reconcile', 'rollout-update-target'] as const;

/** What a function may do with a state machine beyond the provisioning/update access above. */
export type MachineAction =
  /** StartExecution on the state machine. */
  | 'start'
  /** StopExecution on its executions. */
  | 'stop';
export type MachineGrants = Readonly<Partial<Record<MachineKind, readonly MachineAction[]>>>;

export const API_MACHINE_ACCESS: Readonly<Partial<Record<ApiFunctionName, MachineGrants>>> = {
  // POST /rollouts plans and starts the rollout workflow; POST /rollouts/{id}/halt stops the rollout's
  // execution and its running wave's child execution (the reconciler stops the wave's update runs).
  rollouts: { rollout: ['start', 'stop'], 'rollout-wave': ['stop'] },
};

/**
 * API functions with list routes: they sign and check pagination cursors with the deployment's cursor
 * secret (functions/adapters/cursor-secret.ts), and may read exactly that secret (GetSecretValue).
 */
export const API_CURSOR_READERS: readonly ApiFunctionName[] = ['targets', 'commands', 'executions', 'releases', 'tokens', 'rollouts', 'audit', 'policies'];

/** API functions that publish the control plane's own events (ReleasePublished) to its event bus. */
export const API_EVENT_PUBLISHERS: readonly ApiFunctionName[] = ['releases'];
