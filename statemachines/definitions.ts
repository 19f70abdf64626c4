// Loads the workflow definitions (the *.asl.json files next to this module) for the two places that run
// them: the CDK stack, which leaves the function placeholders for Step Functions' DefinitionSubstitutions,
// and the local runner, which fills them itself. Both get the same numbers from the provisioning policy.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICIES, type ProvisioningPolicy } from '../functions/core/policies.js';
import type { WorkflowKind } from '../functions/core/workflows.js';

export const WORKFLOW_KINDS = ['provisioning', 'update'] as const satisfies readonly WorkflowKind[];

/** Every state machine: the two target workflows and the rollout with its per-wave child. */
export const MACHINE_KINDS = ['provisioning', 'update', 'rollout', 'rollout-wave'] as const;
export type MachineKind = (typeof MACHINE_KINDS)[number];

/**
 * The numeric settings of every task. A JSON file cannot hold an unquoted `${Placeholder}`, so the files
 * write them quoted (`"MaxAttempts": "${RetryMaxAttempts}"`) and the loader puts the number in their place.
 */
export interface NumericSettings {
  RetryMaxAttempts: number;
  RetryIntervalSeconds: number;
  RetryBackoffRate: number;
  RetryMaxDelaySeconds: number;
  StepTimeoutSeconds: number;
  AgentHeartbeatSeconds: number;
  /**
   * TimeoutSeconds of every Task that only invokes a step function (no task token): the step functions'
   * own Lambda timeout, STEP_FUNCTION_TIMEOUT_SECONDS, so a task never waits longer than its function may
   * run. Callback tasks wait for the agent up to StepTimeoutSeconds instead.
   */
  StepFunctionTimeoutSeconds: number;
}

/**
 * The Lambda timeout of the step functions (infra/workflows.ts, infra/rollouts.ts) and the TimeoutSeconds of
 * the tasks that invoke them synchronously: one number for both. Lambda allows at most 900 s.
 */
export const STEP_FUNCTION_TIMEOUT_SECONDS = 300;

export interface LoadDefinitionOptions {
  numbers: NumericSettings;
  /**
   * Values for the `${Name}` string placeholders (the functions' ARNs or local names). When given, every
   * placeholder must have one. When absent they stay in the text, for DefinitionSubstitutions to fill.
   */
  strings?: Readonly<Record<string, string>>;
}

const NUMERIC_NAMES = [
  'RetryMaxAttempts',
  'RetryIntervalSeconds',
  'RetryBackoffRate',
  'RetryMaxDelaySeconds',
  'StepTimeoutSeconds',
  'AgentHeartbeatSeconds',
  'StepFunctionTimeoutSeconds',
] as const satisfies readonly (keyof NumericSettings)[];

// Step Functions rejects fractions everywhere except BackoffRate.
const FRACTION_ALLOWED: ReadonlySet<string> = new Set(['RetryBackoffRate']);

const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9_]*)\}/g;

export function definitionPath(kind: MachineKind): string {
  return fileURLToPath(new URL(`./${kind}.asl.json`, import.meta.url));
}

function readDefinition(kind: MachineKind): string {
  return readFileSync(definitionPath(kind), 'utf8');
}

/** The numbers the state machines are built with, from a provisioning policy (default: the documented one). */
export function numericSettings(policy: ProvisioningPolicy = DEFAULT_POLICIES.provisioning): NumericSettings {
  return {
    RetryMaxAttempts: policy.retry.maxAttempts,
    RetryIntervalSeconds: policy.retry.intervalSeconds,
    RetryBackoffRate: policy.retry.backoffRate,
    RetryMaxDelaySeconds: policy.retry.maxDelaySeconds,
    StepTimeoutSeconds: policy.stepTimeoutSeconds,
    AgentHeartbeatSeconds: policy.agentHeartbeatSeconds,
    StepFunctionTimeoutSeconds: STEP_FUNCTION_TIMEOUT_SECONDS,
  };
}

function checkNumbers(numbers: NumericSettings): void {
  for (const name of NUMERIC_NAMES) {
    const value = numbers[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`${name} must be a non-negative number, got ${String(value)}`);
    }
    if (!FRACTION_ALLOWED.has(name) && !Number.isInteger(value)) throw new Error(`${name} must be an integer, got ${value}`);
  }
  // Step Functions refuses a definition whose heartbeat is not shorter than the task timeout.
  if (numbers.AgentHeartbeatSeconds >= numbers.StepTimeoutSeconds) {
    throw new Error(
      `AgentHeartbeatSeconds (${numbers.AgentHeartbeatSeconds}) must be less than StepTimeoutSeconds (${numbers.StepTimeoutSeconds})`,
    );
  }
}

/**
 * The definition of `kind` as text: numeric placeholders replaced by numbers, and string placeholders by
 * `opts.strings` when given. The text is otherwise the file's, byte for byte.
 */
export function loadDefinition(kind: MachineKind, opts: LoadDefinitionOptions): string {
  checkNumbers(opts.numbers);
  let text = readDefinition(kind);
  for (const name of NUMERIC_NAMES) text = text.replaceAll(`"\${${name}}"`, String(opts.numbers[name]));
  const unquoted = NUMERIC_NAMES.filter((name) => text.includes(`\${${name}}`));
  if (unquoted.length > 0) throw new Error(`${kind}: numeric placeholders must be quoted alone: ${unquoted.join(', ')}`);

  const { strings } = opts;
  if (strings) {
    const missing = new Set<string>();
    text = text.replace(PLACEHOLDER, (whole, name: string) => {
      const value = strings[name];
      if (value === undefined) {
        missing.add(name);
        return whole;
      }
      // The value lands inside a JSON string.
      return JSON.stringify(value).slice(1, -1);
    });
    if (missing.size > 0) throw new Error(`${kind}: no value for placeholder(s) ${[...missing].join(', ')}`);
  }
  return text;
}

/** The string placeholders (function and state machine ARNs) a definition uses, sorted: the keys its DefinitionSubstitutions need. */
export function placeholdersOf(kind: MachineKind): string[] {
  const numeric: ReadonlySet<string> = new Set(NUMERIC_NAMES);
  const names = new Set<string>();
  for (const match of readDefinition(kind).matchAll(PLACEHOLDER)) {
    if (!numeric.has(match[1]!)) names.add(match[1]!);
  }
  return [...names].sort();
}
