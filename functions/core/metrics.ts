// The control plane's own metrics: one definition shared by the code that emits them (Powertools Metrics,
// CloudWatch embedded metric format) and by the stack's dashboard and alarms. A metric renamed here is
// renamed on both sides; a dimension added here must be emitted with exactly these names.

/** CloudWatch namespace of every metric the functions emit. */
export const METRICS_NAMESPACE = 'DeploymentControlPlane';

/** EMF dimension names (keep the set small: every distinct combination is a separate metric). */
export const METRIC_DIMENSIONS = {
  /** Deployed function / service name (Powertools' `service`). */
  service: 'service',
  /** `allowed` | `blocked` for decisions; `succeeded` | `failed` | `blocked` | `compensated` for runs. */
  outcome: 'outcome',
  /** A blocker code (core/blockers.ts) on a blocked decision. */
  blocker: 'blocker',
  /** Workflow kind: `provisioning` | `update`. */
  kind: 'kind',
  /** The step a failed run failed in. */
  step: 'step',
} as const;

export type MetricUnit = 'Count' | 'Milliseconds';

export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnit;
  /** Dimension names the metric is emitted with (besides `service`). */
  readonly dimensions: readonly (typeof METRIC_DIMENSIONS)[keyof typeof METRIC_DIMENSIONS][];
  readonly description: string;
}

export const METRICS = {
  decisions: {
    name: 'Decisions',
    unit: 'Count',
    dimensions: ['outcome'],
    description: 'Decisions taken (POST /decisions, policy evaluations, policy gates), by outcome.',
  },
  decisionBlockers: {
    name: 'DecisionBlockers',
    unit: 'Count',
    dimensions: ['blocker'],
    description: 'Blockers named by blocked decisions, one count per blocker code.',
  },
  runsStarted: {
    name: 'RunsStarted',
    unit: 'Count',
    dimensions: ['kind'],
    description: 'Workflow runs started, by kind.',
  },
  runsEnded: {
    name: 'RunsEnded',
    unit: 'Count',
    dimensions: ['kind', 'outcome'],
    description: 'Workflow runs that reached a final state, by kind and outcome.',
  },
  runsFailed: {
    name: 'RunsFailed',
    unit: 'Count',
    dimensions: ['kind', 'step'],
    description: 'Workflow runs that failed or were blocked, by kind and the step they failed in.',
  },
  compensations: {
    name: 'Compensations',
    unit: 'Count',
    dimensions: ['kind'],
    description: 'Compensations (undo of completed steps) started after a failure.',
  },
  compensationFailed: {
    name: 'CompensationFailed',
    unit: 'Count',
    dimensions: [],
    description: 'Runs whose compensation itself failed: a target needs an operator (see docs/operations.md).',
  },
  rolloutWaves: {
    name: 'RolloutWaves',
    unit: 'Count',
    dimensions: [],
    description: 'Rollout waves completed.',
  },
  rolloutHalts: {
    name: 'RolloutHalts',
    unit: 'Count',
    dimensions: [],
    description: 'Rollouts halted (by a failing wave or by an operator).',
  },
  agentCommandLatency: {
    name: 'AgentCommandLatency',
    unit: 'Milliseconds',
    dimensions: [],
    description: 'Time from a command being issued to an agent to its result being accepted.',
  },
  rateLimited: {
    name: 'RateLimited',
    unit: 'Count',
    dimensions: [],
    description: 'Requests refused with 429 by the per-token budget.',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricId = keyof typeof METRICS;
