// The workflow engine port: starting and stopping executions and completing agent waits. In AWS it is
// Step Functions (SFN API); the local runtime registers its aws-local-stepfunctions runner instead
// (setWorkflowEngine), so handlers are the same code in both places.
import {
  GetExecutionHistoryCommand,
  SFNClient,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import type { WorkflowKind } from '../core/workflows.js';

export type EngineKind = WorkflowKind | 'rollout' | 'rollout-wave';

export interface HistoryItem {
  id: number;
  timestamp: string;
  type: string;
  /** The state the event belongs to, when it belongs to one. */
  state?: string;
  details?: Record<string, unknown>;
}

/** One page of an execution's history, and the engine's token for the next one (absent on the last page). */
export interface HistoryPage {
  events: HistoryItem[];
  nextToken?: string;
}

export interface WorkflowEngine {
  /** Start an execution named `name`; answers its ARN (AWS) or local id. Idempotent for the same name and input. */
  start(kind: EngineKind, name: string, input: unknown): Promise<{ executionArn: string }>;
  stop(kind: EngineKind, name: string, error: string, cause: string): Promise<void>;
  sendTaskSuccess(taskToken: string, output: unknown): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
  sendTaskHeartbeat(taskToken: string): Promise<void>;
  /** The whole history (every page); for the runtime and tests, never for an API answer. */
  history(kind: EngineKind, name: string): Promise<HistoryItem[]>;
  /**
   * At most `maxResults` events from `nextToken` on (GetExecutionHistory's own paging). Fails with
   * `ExecutionDoesNotExist` when the engine has no history (never ran, or past Step Functions' 90-day
   * retention after the run closed) and `InvalidToken` for a token it did not issue.
   */
  historyPage(kind: EngineKind, name: string, page: { maxResults: number; nextToken?: string }): Promise<HistoryPage>;
}

/** Thrown by engines when a task token is no longer waited on (run ended, timed out, or unknown). */
export class TaskNotWaitingError extends Error {
  override readonly name = 'TaskNotWaitingError';
}

let engine: WorkflowEngine | undefined;

export function setWorkflowEngine(next: WorkflowEngine | undefined): void {
  engine = next;
}

export function workflowEngine(): WorkflowEngine {
  engine ??= new StepFunctionsEngine(new SFNClient({}));
  return engine;
}

const STATE_MACHINE_ENV: Record<EngineKind, string> = {
  provisioning: 'DCP_STATE_MACHINE_PROVISIONING',
  update: 'DCP_STATE_MACHINE_UPDATE',
  rollout: 'DCP_STATE_MACHINE_ROLLOUT',
  'rollout-wave': 'DCP_STATE_MACHINE_ROLLOUT_WAVE',
};

export function stateMachineEnvVar(kind: EngineKind): string {
  return STATE_MACHINE_ENV[kind];
}

function stateMachineArn(kind: EngineKind): string {
  const arn = process.env[STATE_MACHINE_ENV[kind]];
  if (!arn) throw new Error(`${STATE_MACHINE_ENV[kind]} is not set`);
  return arn;
}

/** Execution ARN from the state machine ARN and the execution name (Step Functions' own scheme). */
export function executionArnOf(stateMachine: string, name: string): string {
  return `${stateMachine.replace(':stateMachine:', ':execution:')}:${name}`;
}

const TASK_GONE = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

export class StepFunctionsEngine implements WorkflowEngine {
  constructor(private readonly client: SFNClient) {}

  async start(kind: EngineKind, name: string, input: unknown) {
    const out = await this.client.send(
      new StartExecutionCommand({ stateMachineArn: stateMachineArn(kind), name, input: JSON.stringify(input) }),
    );
    return { executionArn: out.executionArn! };
  }

  async stop(kind: EngineKind, name: string, error: string, cause: string) {
    await this.client.send(
      new StopExecutionCommand({ executionArn: executionArnOf(stateMachineArn(kind), name), error, cause }),
    );
  }

  private async task(fn: () => Promise<unknown>) {
    try {
      await fn();
    } catch (e) {
      if (e instanceof Error && TASK_GONE.has(e.name)) throw new TaskNotWaitingError(e.message);
      throw e;
    }
  }

  sendTaskSuccess(taskToken: string, output: unknown) {
    return this.task(() => this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })));
  }

  sendTaskFailure(taskToken: string, error: string, cause: string) {
    return this.task(() => this.client.send(new SendTaskFailureCommand({ taskToken, error, cause })));
  }

  sendTaskHeartbeat(taskToken: string) {
    return this.task(() => this.client.send(new SendTaskHeartbeatCommand({ taskToken })));
  }

  async history(kind: EngineKind, name: string): Promise<HistoryItem[]> {
    const items: HistoryItem[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.historyPage(kind, name, { maxResults: 1000, ...(nextToken ? { nextToken } : {}) });
      items.push(...page.events);
      nextToken = page.nextToken;
    } while (nextToken);
    return items;
  }

  async historyPage(kind: EngineKind, name: string, page: { maxResults: number; nextToken?: string }): Promise<HistoryPage> {
    // GetExecutionHistory answers at most 1000 events per call (maxResults 0..1000).
    const out = await this.client.send(
      new GetExecutionHistoryCommand({
        executionArn: executionArnOf(stateMachineArn(kind), name),
        maxResults: Math.min(Math.max(page.maxResults, 1), 1000),
        includeExecutionData: true,
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      }),
    );
    // Task events take their state from the StateEntered before them (on an earlier page it stays unknown).
    const events: HistoryItem[] = [];
    for (const e of out.events ?? []) events.push(toItem(e, events[events.length - 1]));
    return { events, ...(out.nextToken ? { nextToken: out.nextToken } : {}) };
  }
}

/**
 * One history event in the engine's shape. Only StateEntered/StateExited events name their state; the task
 * events between them (TaskScheduled, TaskSucceeded, ...) belong to the state last entered, as the Step
 * Functions console shows them.
 */
function toItem(e: HistoryEvent, previous: HistoryItem | undefined): HistoryItem {
  const { id, timestamp, type, previousEventId: _p, ...rest } = e;
  void _p;
  const details = Object.values(rest).find((v) => v && typeof v === 'object') as Record<string, unknown> | undefined;
  const named = (details as { name?: string } | undefined)?.name;
  const inherits = !named && previous?.state && !String(previous.type).endsWith('StateExited') && !String(type).startsWith('Execution');
  const state = named ?? (inherits ? previous.state : undefined);
  return {
    id: Number(id ?? 0),
    timestamp: (timestamp ?? new Date(0)).toISOString(),
    type: String(type),
    ...(state ? { state } : {}),
    ...(details ? { details } : {}),
  };
}
