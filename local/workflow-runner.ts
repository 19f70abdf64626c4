// The local WorkflowEngine (SPEC §9): runs the same ASL files as Step Functions with aws-local-stepfunctions,
// every Task state bound to the same step handler the Lambda runs. The library has no callback pattern,
// no heartbeats and no task tokens, so this runner adds them: a command step gets a fresh token per attempt,
// and the state waits until sendTaskSuccess/sendTaskFailure, HeartbeatSeconds or TimeoutSeconds ends it.
// It also feeds the reconciler (SPEC §7.1) as EventBridge does in AWS: stopped, timed-out and failed runs go
// to functions/steps/reconcile.ts, and runs lost with an earlier process are compensated at start-up.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import { TaskNotWaitingError, type EngineKind, type HistoryItem, type HistoryPage, type WorkflowEngine } from '../functions/adapters/engine.js';
import { canonicalJson } from '../functions/core/crypto/canonical.js';
import type { CompensationReason } from '../functions/core/compensation.js';
import { stepByState, type ExecutionRecord, type StepPayload, type StepResult } from '../functions/core/workflows.js';
import { log } from '../functions/api/lib/log.js';
import { blockedError } from '../functions/steps/lib/errors.js';
import { loadDefinition, MACHINE_KINDS, numericSettings, placeholdersOf, type MachineKind } from '../statemachines/definitions.js';
import type { FaultRegistry } from './faults.js';

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22+); the library is imported after this.
const promiseStatics = Promise as unknown as { withResolvers?: () => unknown };
promiseStatics.withResolvers ??= () => {
  let resolve: unknown;
  let reject: unknown;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

export type StepHandler = (payload: StepPayload) => Promise<StepResult>;
export type { CompensationReason };
export type Compensate = (executionId: string, reason: CompensationReason, now: Date, failure?: { Error: string; Cause?: string }) => Promise<unknown>;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type AslState = Record<string, any>;

/** What tests and the runtime may change; read at every start, so a test can change it between runs. */
export interface RunnerSettings {
  /** Every Retry waits this long instead of its backoff (tests: 0). */
  retryIntervalMs?: number;
  /** Replaces every task's TimeoutSeconds. */
  taskTimeoutMs?: number;
  /** Replaces every callback task's HeartbeatSeconds. */
  heartbeatMs?: number;
}

export interface LocalEngineOptions {
  /** History files go to `<dataDir>/executions/`; without it histories are kept in memory only. */
  dataDir?: string;
  settings?: RunnerSettings;
  faults?: FaultRegistry;
  /** The ASL of a kind with its placeholders filled. Default: statemachines/definitions.ts. */
  definition?: (kind: EngineKind) => Promise<StateMachineDefinition>;
  /** The handler of a Task state. Default: the function its FunctionName names (functions/steps/<name>.ts). */
  handler?: (state: string) => Promise<StepHandler>;
  /**
   * Replaces the reconciler (tests): called with the end status of a stopped, timed-out or failed run, and
   * with LOST at recovery. Default: functions/steps/reconcile.ts, and compensate() for LOST.
   */
  compensate?: Compensate;
  /**
   * The state machines as deployed (local/deployment.ts): ARN, name and the synthesized definition of each
   * kind. Without it the runner builds definitions from statemachines/*.asl.json itself (runner tests).
   */
  machines?: Partial<Record<EngineKind, { arn: string; name: string; definition: string; roleArn: string }>>;
  /**
   * Invokes the Lambda function a Task state names, as the state machine's role (local/lambda.ts). Its
   * errors carry the errorType as name and the Lambda error shape as message, as Step Functions reports them.
   */
  invokeFunction?: (functionArn: string, payload: unknown, kind: EngineKind) => Promise<unknown>;
  /** Delivers a "Step Functions Execution Status Change" event to the rules that match it (the reconciler). */
  publishStatusChange?: (event: Record<string, unknown>) => Promise<void>;
}

/** Step Functions' limit on a state's input or output and on a task result (256 KiB, UTF-8). */
export const MAX_STATE_PAYLOAD_BYTES = 256 * 1024;
/** Step Functions' limit on the events of one execution's history. */
export const MAX_HISTORY_EVENTS = 25_000;

type Status = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** What is kept (and persisted) about one execution. */
interface ExecutionFile {
  kind: EngineKind;
  name: string;
  executionArn: string;
  input: unknown;
  status: Status;
  startedAt: string;
  stoppedAt?: string;
  output?: unknown;
  error?: string;
  cause?: string;
  events: HistoryItem[];
}

interface Waiter {
  execution: LocalExecution;
  resolve: (output: Json) => void;
  reject: (error: Error) => void;
  heartbeatMs?: number;
  heartbeatTimer?: NodeJS.Timeout;
}

interface LocalExecution extends ExecutionFile {
  abort?: () => void;
  /** Why the run is ending early: a stop (compensated) or a shutdown (left for recovery). */
  ending?: { by: 'stop'; error: string; cause: string } | { by: 'shutdown' } | { by: 'fail'; error: string; cause: string };
  attempts: Map<string, number>;
  tokens: Set<string>;
  inflight: Set<Promise<unknown>>;
  /** Settles when the run has ended, its history is written and reconciliation (if any) is done. */
  done: Promise<void>;
  dirty: boolean;
  writing?: Promise<void>;
}

interface PreparedMachine {
  machine: StateMachine;
  tasks: Map<string, TaskInfo>;
  retryable: string[];
}

interface TaskInfo {
  name: string;
  resource: string;
  callback: boolean;
  lambdaInvoke: boolean;
  /** Parameters.FunctionName when it is a constant (the local ARN the placeholder was filled with). */
  functionName?: string;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
}

/** The library's own task timeout, set far beyond any real one: this runner enforces TimeoutSeconds. */
const LIBRARY_TASK_TIMEOUT_SECONDS = 20 * 86400;
const LOCAL_ACCOUNT = '000000000000';
const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';
const SETTLE_MS = 30_000;

export function localStateMachineArn(kind: EngineKind): string {
  return `arn:aws:states:local:${LOCAL_ACCOUNT}:stateMachine:dcp-${kind}`;
}

export function localExecutionArn(kind: EngineKind, name: string): string {
  return `arn:aws:states:local:${LOCAL_ACCOUNT}:execution:dcp-${kind}:${name}`;
}

/** Local stand-ins for the Lambda ARNs the CDK fills in (`PolicyGateFunctionArn` → `...:function:dcp-policy-gate`). */
export function localFunctionArn(fn: string): string {
  return `arn:aws:lambda:local:${LOCAL_ACCOUNT}:function:dcp-${fn}`;
}

function namedError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

const VALID_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

export class LocalWorkflowEngine implements WorkflowEngine {
  readonly settings: RunnerSettings;
  private readonly executions = new Map<string, LocalExecution>();
  private readonly waiters = new Map<string, Waiter>();
  private startQueue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: LocalEngineOptions = {}) {
    this.settings = { ...(opts.settings ?? {}) };
  }

  /** The ARN of a kind's state machine: the deployed one's when known. */
  stateMachineArn(kind: EngineKind): string {
    return this.opts.machines?.[kind]?.arn ?? localStateMachineArn(kind);
  }

  private executionArn(kind: EngineKind, name: string): string {
    return `${this.stateMachineArn(kind).replace(':stateMachine:', ':execution:')}:${name}`;
  }

  kindOfStateMachine(arn: string): EngineKind | undefined {
    return (MACHINE_KINDS as readonly EngineKind[]).find((k) => this.stateMachineArn(k) === arn);
  }

  parseExecutionArn(arn: string): { kind: EngineKind; name: string } | undefined {
    const m = /^(arn:aws:states:[^:]*:[^:]*):execution:([^:]+):([^:]+)$/.exec(arn);
    if (!m) return undefined;
    const kind = this.kindOfStateMachine(`${m[1]}:stateMachine:${m[2]}`);
    return kind ? { kind, name: m[3]! } : undefined;
  }

  /** The kind of the run waiting on a task token (Step Functions authorizes SendTask* on its state machine). */
  machineOfToken(token: string): EngineKind | undefined {
    return this.waiters.get(token)?.execution.kind;
  }

  // ---- WorkflowEngine -------------------------------------------------------------------------------

  start(kind: EngineKind, name: string, input: unknown): Promise<{ executionArn: string }> {
    // One start at a time: two starts of one name must see each other (StartExecution is idempotent).
    const next = this.startQueue.then(() => this.startOne(kind, name, input));
    this.startQueue = next.catch(() => undefined);
    return next;
  }

  async stop(kind: EngineKind, name: string, error: string, cause: string): Promise<void> {
    const exec = this.executions.get(key(kind, name));
    if (!exec) {
      if (await this.readFile(kind, name)) return; // ended earlier (or lost: recovery compensates it)
      throw namedError('ExecutionDoesNotExist', `Execution ${name} does not exist`);
    }
    if (exec.status !== 'RUNNING' || exec.ending) return exec.done;
    exec.ending = { by: 'stop', error, cause };
    this.interrupt(exec, namedError('States.Aborted', `Execution stopped: ${cause}`));
    await exec.done;
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    const waiter = this.takeWaiter(taskToken);
    waiter.resolve(JSON.parse(JSON.stringify(output ?? {})) as Json);
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    const waiter = this.takeWaiter(taskToken);
    waiter.reject(namedError(error, cause));
  }

  async sendTaskHeartbeat(taskToken: string): Promise<void> {
    const waiter = this.waiters.get(taskToken);
    if (!waiter) throw new TaskNotWaitingError('Task token is not waited on (run ended, timed out, or unknown)');
    this.armHeartbeat(taskToken, waiter);
  }

  async history(kind: EngineKind, name: string): Promise<HistoryItem[]> {
    const exec = this.executions.get(key(kind, name)) ?? (await this.readFile(kind, name));
    if (!exec) throw namedError('ExecutionDoesNotExist', `Execution ${name} does not exist`);
    return structuredClone(exec.events);
  }

  /** GetExecutionHistory's paging: at most maxResults (1..1000) events, and an opaque token for the rest. */
  async historyPage(kind: EngineKind, name: string, page: { maxResults: number; nextToken?: string }): Promise<HistoryPage> {
    const events = await this.history(kind, name);
    let from = 0;
    if (page.nextToken !== undefined) {
      const match = /^local-history\.(\d+)$/.exec(page.nextToken);
      if (!match || Number(match[1]) > events.length) throw namedError('InvalidToken', 'Invalid Token: the history token was not issued for this execution');
      from = Number(match[1]);
    }
    const to = from + Math.min(Math.max(page.maxResults, 1), 1000);
    return { events: events.slice(from, to), ...(to < events.length ? { nextToken: `local-history.${to}` } : {}) };
  }

  // ---- local runtime ---------------------------------------------------------------------------------

  /** Status of a run this process knows (in memory or from its history file). */
  async describe(kind: EngineKind, name: string): Promise<Omit<ExecutionFile, 'events'> | undefined> {
    const exec = this.executions.get(key(kind, name)) ?? (await this.readFile(kind, name));
    if (!exec) return undefined;
    const { kind: k, name: n, executionArn, input, status, startedAt, stoppedAt, output, error, cause } = exec;
    return { kind: k, name: n, executionArn, input, status, startedAt, ...(stoppedAt ? { stoppedAt } : {}), output, error, cause };
  }

  /** Resolves when the run has ended and been reconciled (tests). */
  async waitFor(kind: EngineKind, name: string): Promise<Status> {
    const exec = this.executions.get(key(kind, name));
    if (!exec) return (await this.readFile(kind, name))?.status ?? Promise.reject(namedError('ExecutionDoesNotExist', name));
    await exec.done;
    return exec.status;
  }

  /** Names of the runs in progress in this process. */
  running(): string[] {
    return [...this.executions.values()].filter((e) => e.status === 'RUNNING').map((e) => e.name);
  }

  /**
   * Start-up recovery: runs this process does not own but that the records say are RUNNING were lost
   * with the process that ran them; each is compensated as LOST and its history file closed.
   */
  async recoverLostExecutions(now = new Date()): Promise<string[]> {
    const owned = new Set(this.running());
    const lost: string[] = [];
    for (const file of await this.listFiles()) {
      if (file.status !== 'RUNNING' || owned.has(file.name)) continue;
      file.status = 'ABORTED';
      file.stoppedAt = now.toISOString();
      file.error = 'Local.RuntimeLost';
      file.cause = 'The local runtime stopped while this execution was running.';
      file.events.push({
        id: file.events.length + 1,
        timestamp: now.toISOString(),
        type: 'ExecutionAborted',
        details: { error: file.error, cause: file.cause },
      });
      await this.writeFile(file);
    }
    for (const record of await scanRunningRecords()) {
      if (owned.has(record.id)) continue;
      try {
        await this.compensate(record.id, 'LOST', now);
        lost.push(record.id);
      } catch (e) {
        log('error', 'recovery could not compensate a lost execution', { executionId: record.id, error: String(e) });
      }
    }
    return lost;
  }

  /**
   * Graceful shutdown: runs in progress are interrupted without compensation and left RUNNING, so the
   * next start recovers them as LOST — the same path a crash takes, and nothing is undone twice.
   */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    for (const exec of running) {
      exec.ending ??= { by: 'shutdown' };
      this.interrupt(exec, namedError('Local.RuntimeStopped', 'The local runtime is shutting down.'));
    }
    await Promise.all(running.map((e) => e.done));
  }

  // ---- running ---------------------------------------------------------------------------------------

  private async startOne(kind: EngineKind, name: string, input: unknown): Promise<{ executionArn: string }> {
    if (this.closed) throw namedError('ServiceUnavailable', 'The local workflow engine is shut down');
    if (!VALID_NAME.test(name)) throw namedError('InvalidName', `Invalid execution name: ${name}`);
    const live = this.executions.get(key(kind, name));
    // Step Functions' rule: the same name and input while it runs answers that run; a name that ran
    // before (here, or in an earlier process: then it was lost) is refused.
    if (live?.status === 'RUNNING' && canonicalJson(live.input) === canonicalJson(input)) return { executionArn: live.executionArn };
    if (live || (await this.readFile(kind, name))) throw namedError('ExecutionAlreadyExists', `Execution ${name} already exists`);
    // Built before the run is registered: a definition that does not load fails the start, not the run.
    const prepared = await this.machineFor(await this.definitionFor(kind));
    const exec: LocalExecution = {
      kind,
      name,
      executionArn: this.executionArn(kind, name),
      input: JSON.parse(JSON.stringify(input ?? {})) as unknown,
      status: 'RUNNING',
      startedAt: new Date().toISOString(),
      events: [],
      attempts: new Map(),
      tokens: new Set(),
      inflight: new Set(),
      done: Promise.resolve(),
      dirty: true,
    };
    this.executions.set(key(kind, name), exec);
    exec.done = this.run(exec, prepared).catch(async (e: unknown) => {
      log('error', 'local workflow runner failure', { execution: name, error: String(e) });
      if (exec.status !== 'RUNNING' || exec.ending?.by === 'shutdown') return;
      exec.status = 'FAILED';
      exec.error = 'States.Runtime';
      exec.cause = `The local runner failed: ${String(e)}`;
      exec.stoppedAt = new Date().toISOString();
      this.finalEvent(exec);
      await this.flush(exec);
    });
    return { executionArn: exec.executionArn };
  }

  private async run(exec: LocalExecution, { machine, tasks, retryable }: PreparedMachine): Promise<void> {
    const { ExecutionAbortedError, ExecutionTimeoutError, ExecutionError } = await import('aws-local-stepfunctions');
    await this.flush(exec);
    if (endingOf(exec)) return; // shut down before it began: left RUNNING for recovery
    const handlers: Record<string, (params: Json) => Promise<Json>> = {};
    for (const task of tasks.values()) handlers[task.name] = (params) => this.track(exec, this.runTask(exec, task, params));
    const retryIntervalOverrides: Record<string, number> = {};
    if (this.settings.retryIntervalMs !== undefined) {
      for (const name of retryable) retryIntervalOverrides[name] = this.settings.retryIntervalMs;
    }
    const execution = machine.run(exec.input as Json, {
      overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
      context: {
        Execution: { Id: exec.executionArn, Name: exec.name, StartTime: exec.startedAt },
        StateMachine: { Id: this.stateMachineArn(exec.kind), Name: this.opts.machines?.[exec.kind]?.name ?? `dcp-${exec.kind}` },
        // The real token and retry count are put into each task's payload by runTask.
        Task: { Token: 'local-token-see-payload' },
        State: { RetryCount: 0 },
      },
    });
    exec.abort = execution.abort;
    const pump = this.pumpEvents(exec, execution.eventLogs);

    try {
      exec.output = await execution.result;
      exec.status = 'SUCCEEDED';
    } catch (e) {
      if (e instanceof ExecutionAbortedError && exec.ending?.by === 'fail') {
        // A terminal error of Step Functions itself (States.DataLimitExceeded): no Catch sees it.
        exec.status = 'FAILED';
        exec.error = exec.ending.error;
        exec.cause = exec.ending.cause;
      } else if (e instanceof ExecutionAbortedError) {
        exec.status = 'ABORTED';
        if (exec.ending?.by === 'stop') {
          exec.error = exec.ending.error;
          exec.cause = exec.ending.cause;
        }
      } else if (e instanceof ExecutionTimeoutError) {
        exec.status = 'TIMED_OUT';
        exec.error = 'States.Timeout';
        exec.cause = 'The execution exceeded its TimeoutSeconds.';
      } else {
        const inner = e instanceof ExecutionError && e.cause instanceof Error ? e.cause : (e as Error);
        exec.status = 'FAILED';
        exec.error = inner.name;
        exec.cause = typeof inner.cause === 'string' ? inner.cause : inner.message;
      }
    }
    this.interrupt(exec, namedError('States.Aborted', 'The execution ended.'), false);
    await pump;
    await this.settle(exec);

    const shutdown = exec.ending?.by === 'shutdown';
    if (shutdown) {
      // Left RUNNING on purpose: the next start-up recovers it as LOST.
      exec.status = 'RUNNING';
      delete exec.stoppedAt;
    } else {
      exec.stoppedAt = new Date().toISOString();
      this.finalEvent(exec);
    }
    exec.dirty = true;
    await this.flush(exec);
    if (shutdown) return;

    await this.reconcile(exec);
  }

  /**
   * What EventBridge's "Step Functions Execution Status Change" event does in AWS: the reconciler
   * compensates stopped, timed-out and failed runs (a run its block branch already compensated is skipped
   * there, by its record's compensatedAt).
   */
  private async reconcile(exec: LocalExecution): Promise<void> {
    if (exec.kind === 'rollout-wave') return; // its parent rollout sees the failure
    if (exec.status !== 'ABORTED' && exec.status !== 'TIMED_OUT' && exec.status !== 'FAILED') return;
    const failure = exec.error ? { Error: exec.error, ...(exec.cause ? { Cause: exec.cause } : {}) } : undefined;
    try {
      if (this.opts.compensate) {
        if (exec.kind === 'rollout') return;
        await this.opts.compensate(exec.name, exec.status, new Date(), failure);
        return;
      }
      const event = {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        account: LOCAL_ACCOUNT,
        time: exec.stoppedAt ?? new Date().toISOString(),
        region: 'local',
        resources: [exec.executionArn],
        detail: {
          executionArn: exec.executionArn,
          stateMachineArn: this.stateMachineArn(exec.kind),
          name: exec.name,
          status: exec.status,
          startDate: Date.parse(exec.startedAt),
          stopDate: exec.stoppedAt ? Date.parse(exec.stoppedAt) : null,
          error: exec.error ?? null,
          cause: exec.cause ?? null,
          input: JSON.stringify(exec.input ?? {}),
        },
      };
      if (this.opts.publishStatusChange) {
        await this.opts.publishStatusChange(event);
        return;
      }
      const { handler } = await import('../functions/steps/reconcile.js');
      await handler(event as never);
    } catch (e) {
      log('error', 'reconciler could not compensate', { executionId: exec.name, status: exec.status, error: String(e) });
    }
  }

  private async runTask(exec: LocalExecution, task: TaskInfo, params: Json): Promise<Json> {
    if (Buffer.byteLength(JSON.stringify(params) ?? '') > MAX_STATE_PAYLOAD_BYTES) {
      this.failExecution(exec, 'States.DataLimitExceeded', `The state/task '${task.name}' has an input with a size exceeding the maximum number of bytes service limit.`);
      throw namedError('States.DataLimitExceeded', 'input over 256 KiB');
    }
    // Let the event pump take the library's StateEntered first, so the history reads in order.
    await new Promise((r) => setImmediate(r));
    if (exec.ending || exec.status !== 'RUNNING') throw namedError('States.Aborted', 'The execution is ending.');

    const attempt = exec.attempts.get(task.name) ?? 0;
    exec.attempts.set(task.name, attempt + 1);
    const token = task.callback ? newTaskToken() : undefined;
    // The context object paths the library does not know, filled as Step Functions fills them: a state
    // whose Parameters do not ask for $$.Task.Token does not get one, exactly as in AWS.
    params = fillContext(params, { token, attempt, executionName: exec.name });
    const raw = task.lambdaInvoke && isObject(params) && isObject(params.Payload) ? params.Payload : params;
    const payload = raw as unknown as StepPayload;
    const timeoutMs = this.settings.taskTimeoutMs ?? (task.timeoutSeconds !== undefined ? task.timeoutSeconds * 1000 : undefined);
    const heartbeatMs = task.callback ? (this.settings.heartbeatMs ?? (task.heartbeatSeconds !== undefined ? task.heartbeatSeconds * 1000 : undefined)) : undefined;

    this.event(exec, 'TaskScheduled', task.name, {
      resourceType: task.lambdaInvoke ? 'lambda' : 'local',
      resource: task.resource.replace(/^arn:aws:states:::(lambda:)?/, '').replace(/^lambda:/, ''),
      // What the handler really got (attempt, token), with the token shortened: histories are readable by
      // operators and auditors, and only agents' signed results may complete a wait.
      parameters: JSON.stringify(task.lambdaInvoke && isObject(params) ? { ...params, Payload: shown(payload) } : shown(payload)),
      ...(timeoutMs !== undefined ? { timeoutInSeconds: Math.ceil(timeoutMs / 1000) } : {}),
      ...(heartbeatMs !== undefined ? { heartbeatInSeconds: Math.ceil(heartbeatMs / 1000) } : {}),
    });
    this.event(exec, 'TaskStarted', task.name, { attempt });

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (timeoutMs !== undefined) timer = setTimeout(() => reject(namedError('States.Timeout', `The task did not finish within ${timeoutMs} ms.`)), timeoutMs);
    });
    // Registered before the handler runs: the agent may answer before the handler has returned.
    const wait = token ? this.registerWaiter(exec, token, heartbeatMs) : undefined;
    wait?.catch(() => undefined);
    try {
      const work = (async (): Promise<Json> => {
        const result = await this.invoke(exec, task, payload);
        if (!wait) return (task.lambdaInvoke ? { Payload: result, StatusCode: 200 } : result) as Json;
        this.event(exec, 'TaskSubmitted', task.name, { output: JSON.stringify(result) });
        return wait;
      })();
      // A handler still running when the timeout wins may fail later: nobody waits for it any more.
      work.catch(() => undefined);
      const output = await Promise.race([work, timeout]);
      const text = JSON.stringify(output);
      if (Buffer.byteLength(text ?? '') > MAX_STATE_PAYLOAD_BYTES) {
        this.failExecution(exec, 'States.DataLimitExceeded', `The state/task '${task.name}' returned a result with a size exceeding the maximum number of bytes service limit.`);
        throw namedError('States.DataLimitExceeded', 'result over 256 KiB');
      }
      this.event(exec, 'TaskSucceeded', task.name, { output: text });
      return output;
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      const timedOut = error.name === 'States.Timeout' || error.name === 'States.HeartbeatTimeout';
      this.event(exec, timedOut ? 'TaskTimedOut' : 'TaskFailed', task.name, { error: error.name, cause: error.message });
      throw error;
    } finally {
      clearTimeout(timer);
      if (token) this.dropWaiter(token);
    }
  }

  /** Runs the step handler, unless a fault armed for this target and state fails it first. */
  private async invoke(exec: LocalExecution, task: TaskInfo, payload: StepPayload): Promise<StepResult> {
    const targetId = payload?.execution?.targetId;
    const fault = targetId ? this.opts.faults?.take(targetId, { step: task.name }) : undefined;
    if (fault === 'transient') throw namedError('Transient.StepFailed', `Simulated transient failure of "${task.name}" (local fault).`);
    if (fault === 'permanent') {
      const spec = stepByState(task.name);
      if (!spec) throw namedError('Blocked.StepFailed', JSON.stringify({ step: task.name, message: 'Simulated permanent failure (local fault).' }));
      // Blocked.<Code> of the step's own blocker, with the blocker in the JSON cause, as a real step fails.
      throw blockedError(spec, `Simulated permanent failure of "${task.name}" (local fault).`);
    }
    if (task.resource === START_EXECUTION_SYNC) return (await this.runChild(payload as unknown as Json)) as unknown as StepResult;
    if (!this.opts.handler && this.opts.invokeFunction) {
      if (!task.functionName) throw namedError('States.Runtime', `The Task state "${task.name}" names no FunctionName`);
      return (await this.opts.invokeFunction(task.functionName, payload, exec.kind)) as StepResult;
    }
    const handler = await this.handlerFor(task.name, task.functionName);
    return handler(payload);
  }

  /**
   * `states:startExecution.sync:2`: start the child execution (or find the one a retry already started)
   * and wait for it to end; its output is the task's result, as Step Functions answers it.
   */
  private async runChild(params: Json): Promise<Json> {
    const p = params as { StateMachineArn?: string; Name?: string; Input?: unknown };
    const kind = p.StateMachineArn ? this.kindOfStateMachine(p.StateMachineArn) : undefined;
    if (!kind || !p.Name) throw namedError('States.Runtime', `Cannot start a child of ${String(p.StateMachineArn)}`);
    try {
      await this.start(kind, p.Name, p.Input ?? {});
    } catch (e) {
      if (!(e instanceof Error && e.name === 'ExecutionAlreadyExists')) throw e;
    }
    const status = await this.waitFor(kind, p.Name);
    const child = await this.describe(kind, p.Name);
    if (status !== 'SUCCEEDED') {
      throw namedError('States.TaskFailed', JSON.stringify({ execution: p.Name, status, error: child?.error ?? null, cause: child?.cause ?? null }));
    }
    return { ExecutionArn: child?.executionArn ?? this.executionArn(kind, p.Name), Output: (child?.output ?? {}) as Json, Status: 'SUCCEEDED' } as unknown as Json;
  }

  private registerWaiter(exec: LocalExecution, token: string, heartbeatMs: number | undefined): Promise<Json> {
    return new Promise<Json>((resolve, reject) => {
      const waiter: Waiter = { execution: exec, resolve, reject, ...(heartbeatMs !== undefined ? { heartbeatMs } : {}) };
      this.waiters.set(token, waiter);
      exec.tokens.add(token);
      this.armHeartbeat(token, waiter);
    });
  }

  private armHeartbeat(token: string, waiter: Waiter): void {
    clearTimeout(waiter.heartbeatTimer);
    if (waiter.heartbeatMs === undefined) return;
    waiter.heartbeatTimer = setTimeout(() => {
      if (this.waiters.get(token) !== waiter) return;
      this.dropWaiter(token);
      waiter.reject(namedError('States.HeartbeatTimeout', `No heartbeat or result within ${waiter.heartbeatMs} ms.`));
    }, waiter.heartbeatMs);
  }

  private takeWaiter(token: string): Waiter {
    const waiter = this.waiters.get(token);
    if (!waiter) throw new TaskNotWaitingError('Task token is not waited on (run ended, timed out, or unknown)');
    this.dropWaiter(token);
    return waiter;
  }

  private dropWaiter(token: string): void {
    const waiter = this.waiters.get(token);
    if (!waiter) return;
    clearTimeout(waiter.heartbeatTimer);
    this.waiters.delete(token);
    waiter.execution.tokens.delete(token);
  }

  /** End a run with a terminal Step Functions error that no Retry or Catch handles. */
  private failExecution(exec: LocalExecution, error: string, cause: string): void {
    if (exec.ending) return;
    exec.ending = { by: 'fail', error, cause };
    this.interrupt(exec, namedError(error, cause));
  }

  /** End every wait of a run (and the run itself when `abort`), so its handlers unwind. */
  private interrupt(exec: LocalExecution, error: Error, abort = true): void {
    if (abort) exec.abort?.();
    for (const token of [...exec.tokens]) {
      const waiter = this.waiters.get(token);
      this.dropWaiter(token);
      waiter?.reject(error);
    }
  }

  private track<T>(exec: LocalExecution, work: Promise<T>): Promise<T> {
    exec.inflight.add(work);
    void work.catch(() => undefined).finally(() => exec.inflight.delete(work));
    return work;
  }

  /** Waits (bounded) for step handlers still running after the run ended: they may still be writing. */
  private async settle(exec: LocalExecution): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    while (exec.inflight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...exec.inflight]), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
    }
  }

  // ---- history ---------------------------------------------------------------------------------------

  private async pumpEvents(exec: LocalExecution, events: AsyncGenerator<any>): Promise<void> {
    for await (const ev of events) {
      if (exec.ending?.by === 'shutdown') continue;
      switch (ev.type) {
        case 'ExecutionStarted':
          this.event(exec, 'ExecutionStarted', undefined, { input: JSON.stringify(ev.input), roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/dcp-local` }, ev.timestamp);
          break;
        case 'StateEntered':
          this.event(exec, `${ev.state.type}StateEntered`, ev.state.name, { name: ev.state.name, input: JSON.stringify(ev.state.input) }, ev.timestamp);
          break;
        case 'StateExited':
          this.event(exec, `${ev.state.type}StateExited`, ev.state.name, { name: ev.state.name, output: JSON.stringify(ev.state.output) }, ev.timestamp);
          break;
        case 'StateFailed':
          // Task failures are recorded by runTask (TaskFailed/TaskTimedOut); a Fail state has none in AWS.
          if (ev.state.type !== 'Task' && ev.state.type !== 'Fail') {
            this.event(exec, `${ev.state.type}StateFailed`, ev.state.name, { name: ev.state.name, error: ev.Error, cause: causeText(ev.Cause) }, ev.timestamp);
          }
          break;
        default:
          // StateRetried/StateCaught have no AWS counterpart (a retry shows as a new TaskScheduled);
          // terminal events are written by finalEvent with the run's real outcome.
          break;
      }
    }
  }

  private finalEvent(exec: LocalExecution): void {
    switch (exec.status) {
      case 'SUCCEEDED':
        this.event(exec, 'ExecutionSucceeded', undefined, { output: JSON.stringify(exec.output ?? null) });
        break;
      case 'FAILED':
        this.event(exec, 'ExecutionFailed', undefined, { error: exec.error, cause: exec.cause });
        break;
      case 'TIMED_OUT':
        this.event(exec, 'ExecutionTimedOut', undefined, { error: exec.error, cause: exec.cause });
        break;
      case 'ABORTED':
        this.event(exec, 'ExecutionAborted', undefined, { ...(exec.error ? { error: exec.error } : {}), ...(exec.cause ? { cause: exec.cause } : {}) });
        break;
      default:
        break;
    }
  }

  private event(exec: LocalExecution, type: string, state: string | undefined, details: Record<string, unknown>, at = Date.now()): void {
    if (exec.events.length >= MAX_HISTORY_EVENTS - 1 && exec.status === 'RUNNING' && !exec.ending) {
      // Step Functions fails a run whose history would pass 25,000 events.
      this.failExecution(exec, 'States.Runtime', `The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}).`);
    }
    exec.events.push({ id: exec.events.length + 1, timestamp: new Date(at).toISOString(), type, ...(state ? { state } : {}), details });
    exec.dirty = true;
    void this.flush(exec);
  }

  /** Write the history file if it changed; writes of one run never overlap. */
  private flush(exec: LocalExecution): Promise<void> {
    if (!this.opts.dataDir) return Promise.resolve();
    exec.writing ??= (async () => {
      try {
        while (exec.dirty) {
          exec.dirty = false;
          await this.writeFile(snapshot(exec));
        }
      } catch (e) {
        log('error', 'could not write execution history', { execution: exec.name, error: String(e) });
      } finally {
        exec.writing = undefined;
      }
    })();
    return exec.writing;
  }

  private dirOf(kind: EngineKind): string {
    return join(this.opts.dataDir!, 'executions', kind);
  }

  private async writeFile(file: ExecutionFile): Promise<void> {
    if (!this.opts.dataDir) return;
    const dir = this.dirOf(file.kind);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${file.name}.json`);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(file), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  }

  private async readFile(kind: EngineKind, name: string): Promise<ExecutionFile | undefined> {
    if (!this.opts.dataDir || !VALID_NAME.test(name)) return undefined;
    try {
      return JSON.parse(await readFile(join(this.dirOf(kind), `${name}.json`), 'utf8')) as ExecutionFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private async listFiles(): Promise<ExecutionFile[]> {
    if (!this.opts.dataDir) return [];
    const files: ExecutionFile[] = [];
    const root = join(this.opts.dataDir, 'executions');
    let kinds: string[];
    try {
      kinds = await readdir(root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    for (const kind of kinds) {
      for (const entry of await readdir(join(root, kind))) {
        if (!entry.endsWith('.json')) continue;
        const file = await this.readFile(kind as EngineKind, entry.slice(0, -'.json'.length)).catch(() => undefined);
        if (file) files.push(file);
      }
    }
    return files;
  }

  // ---- wiring ----------------------------------------------------------------------------------------

  private async definitionFor(kind: EngineKind): Promise<StateMachineDefinition> {
    if (this.opts.definition) return this.opts.definition(kind);
    const deployed = this.opts.machines?.[kind];
    if (this.opts.machines) {
      if (!deployed) throw namedError('StateMachineDoesNotExist', `The stack deploys no ${kind} state machine`);
      return JSON.parse(deployed.definition) as StateMachineDefinition;
    }
    return defaultDefinition(kind);
  }

  private readonly machines = new Map<string, Promise<PreparedMachine>>();

  /** Validating a definition costs the library hundreds of milliseconds, so each one is built once. */
  private machineFor(asl: StateMachineDefinition): Promise<PreparedMachine> {
    const text = JSON.stringify(asl);
    let prepared = this.machines.get(text);
    if (!prepared) {
      prepared = (async () => {
        const { StateMachine } = await import('aws-local-stepfunctions');
        const { definition, tasks } = prepare(asl);
        const machine = new StateMachine(definition, { validationOptions: { checkPaths: false } });
        return { machine, tasks, retryable: retryableStates(definition) };
      })();
      prepared.catch(() => this.machines.delete(text));
      this.machines.set(text, prepared);
    }
    return prepared;
  }

  private handlers = new Map<string, Promise<StepHandler>>();

  private handlerFor(state: string, functionName: string | undefined): Promise<StepHandler> {
    // Overridden handlers are per state (tests); the default is per function, as Lambda loads it once.
    const cacheKey = this.opts.handler ? `state:${state}` : `fn:${functionName ?? state}`;
    let h = this.handlers.get(cacheKey);
    if (!h) {
      h = this.opts.handler ? this.opts.handler(state) : defaultHandler(state, functionName);
      h.catch(() => this.handlers.delete(cacheKey));
      this.handlers.set(cacheKey, h);
    }
    return h;
  }

  private async compensate(executionId: string, reason: CompensationReason, now: Date): Promise<void> {
    if (this.opts.compensate) {
      await this.opts.compensate(executionId, reason, now);
      return;
    }
    const { compensate } = await import('../functions/steps/lib/compensate.js');
    await compensate(executionId, reason, now);
  }
}

// ---- helpers -------------------------------------------------------------------------------------------

/** Read through a function so the checks before an await do not narrow it for the code after. */
function endingOf(exec: LocalExecution): LocalExecution['ending'] {
  return exec.ending;
}

function key(kind: EngineKind, name: string): string {
  return `${kind}/${name}`;
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function newTaskToken(): string {
  return `local.${randomBytes(32).toString('base64url')}`;
}

function shown(payload: unknown): Json {
  if (!isObject(payload) || typeof payload.taskToken !== 'string') return payload as Json;
  return { ...payload, taskToken: `${payload.taskToken.slice(0, 12)}…` };
}

function causeText(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause ?? null);
}

function snapshot(exec: LocalExecution): ExecutionFile {
  const { kind, name, executionArn, input, status, startedAt, stoppedAt, output, error, cause, events } = exec;
  return { kind, name, executionArn, input, status, startedAt, ...(stoppedAt ? { stoppedAt } : {}), output, error, cause, events };
}

/** Every state map of a definition, nested ones (Parallel branches, Map processors) included. */
function stateMaps(def: { States: Record<string, AslState> }): Record<string, AslState>[] {
  const maps = [def.States];
  for (const state of Object.values(def.States)) {
    for (const branch of (state.Branches as { States: Record<string, AslState> }[] | undefined) ?? []) maps.push(...stateMaps(branch));
    const inner = (state.ItemProcessor ?? state.Iterator) as { States: Record<string, AslState> } | undefined;
    if (inner) maps.push(...stateMaps(inner));
  }
  return maps;
}

/**
 * A copy of the definition the library can run, and what the runner must enforce itself per Task state:
 * the callback pattern, TimeoutSeconds and HeartbeatSeconds.
 */
function prepare(asl: StateMachineDefinition): { definition: StateMachineDefinition; tasks: Map<string, TaskInfo> } {
  const definition = structuredClone(asl) as unknown as { States: Record<string, AslState> } & StateMachineDefinition;
  const tasks = new Map<string, TaskInfo>();
  for (const states of stateMaps(definition)) {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type !== 'Task') continue;
      const resource = String(state.Resource);
      tasks.set(name, {
        name,
        resource,
        callback: resource.endsWith('.waitForTaskToken'),
        lambdaInvoke: /^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/.test(resource),
        ...(typeof state.Parameters?.FunctionName === 'string' ? { functionName: state.Parameters.FunctionName } : {}),
        ...(typeof state.TimeoutSeconds === 'number' ? { timeoutSeconds: state.TimeoutSeconds } : {}),
        ...(typeof state.HeartbeatSeconds === 'number' ? { heartbeatSeconds: state.HeartbeatSeconds } : {}),
      });
      if (state.Parameters) state.Parameters = markContextPaths(state.Parameters);
      state.TimeoutSeconds = LIBRARY_TASK_TIMEOUT_SECONDS;
      delete state.TimeoutSecondsPath;
      delete state.HeartbeatSeconds;
      delete state.HeartbeatSecondsPath;
    }
  }
  return { definition, tasks };
}

/** Context object paths aws-local-stepfunctions lacks, and the marker each is replaced by until the task runs. */
const CONTEXT_MARKERS: Readonly<Record<string, string>> = {
  '$$.Task.Token': '\u0000dcp:Task.Token',
  '$$.State.RetryCount': '\u0000dcp:State.RetryCount',
  '$$.Execution.Name': '\u0000dcp:Execution.Name',
};

function markContextPaths(value: Json): Json {
  if (Array.isArray(value)) return value.map(markContextPaths);
  if (!isObject(value)) return value;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.endsWith('.$') && typeof v === 'string' && CONTEXT_MARKERS[v]) out[k.slice(0, -2)] = CONTEXT_MARKERS[v];
    else out[k] = markContextPaths(v);
  }
  return out;
}

function fillContext(value: Json, ctx: { token: string | undefined; attempt: number; executionName: string }): Json {
  if (Array.isArray(value)) return value.map((v) => fillContext(v, ctx));
  if (typeof value === 'string') {
    if (value === CONTEXT_MARKERS['$$.Task.Token']) {
      // Step Functions refuses a definition that asks for a token outside .waitForTaskToken; here it fails the task.
      if (ctx.token === undefined) throw namedError('States.Runtime', '$$.Task.Token is only defined for .waitForTaskToken tasks');
      return ctx.token;
    }
    if (value === CONTEXT_MARKERS['$$.State.RetryCount']) return ctx.attempt;
    if (value === CONTEXT_MARKERS['$$.Execution.Name']) return ctx.executionName;
    return value;
  }
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillContext(v, ctx)]));
}

function retryableStates(def: StateMachineDefinition): string[] {
  const names: string[] = [];
  for (const states of stateMaps(def as unknown as { States: Record<string, AslState> })) {
    for (const [name, state] of Object.entries(states)) if (Array.isArray(state.Retry) && state.Retry.length > 0) names.push(name);
  }
  return names;
}

/**
 * The ASL of `kind` as the CDK would synthesize it: numbers from the stored provisioning policy (its
 * defaults when none is stored or it cannot be read), function placeholders filled with local ARNs.
 */
async function defaultDefinition(kind: EngineKind): Promise<StateMachineDefinition> {
  if (!(MACHINE_KINDS as readonly string[]).includes(kind)) throw namedError('StateMachineDoesNotExist', `No local definition for ${kind}`);
  const workflow = kind as MachineKind;
  let numbers = numericSettings();
  try {
    const { getPolicy } = await import('../functions/adapters/policies.js');
    numbers = numericSettings((await getPolicy('provisioning')).document);
  } catch (e) {
    log('warn', 'provisioning policy unreadable; the state machine uses its defaults', { error: String(e) });
  }
  const strings: Record<string, string> = {};
  for (const placeholder of placeholdersOf(workflow)) {
    const fn = /^(\w+)FunctionArn$/.exec(placeholder)?.[1];
    const machine = /^(\w+)StateMachineArn$/.exec(placeholder)?.[1];
    const kebab = (name: string) => name.replace(/[A-Z]/g, (c: string, i: number) => (i ? '-' : '') + c.toLowerCase());
    strings[placeholder] = fn ? localFunctionArn(kebab(fn)) : machine ? localStateMachineArn(kebab(machine) as EngineKind) : placeholder;
  }
  return JSON.parse(loadDefinition(workflow, { numbers, strings })) as StateMachineDefinition;
}

const STEPS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'functions', 'steps');

/**
 * The function a Task state invokes, as AWS does it: `Parameters.FunctionName` is the local ARN of a
 * function (`...:function:dcp-<name>`), whose code is the `handler` of functions/steps/<name>.ts — for the
 * workflows' and rollouts' states, the dispatcher of their family, which runs the step the payload names.
 */
async function defaultHandler(state: string, functionName: string | undefined): Promise<StepHandler> {
  const fn = /:function:dcp-([a-z0-9-]+)$/.exec(functionName ?? '')?.[1];
  if (!fn) throw namedError('States.Runtime', `The Task state "${state}" names no local function (${String(functionName)})`);
  // A computed file URL: the module is chosen at run time (tsx and vitest both load .ts).
  const mod = (await import(pathToFileURL(join(STEPS_DIR, `${fn}.ts`)).href)) as { handler?: StepHandler };
  if (typeof mod.handler !== 'function') throw namedError('States.Runtime', `functions/steps/${fn}.ts exports no handler`);
  return mod.handler;
}

/** Execution records the runtime must recover: RUNNING ones (local tables are small; a Scan is fine). */
async function scanRunningRecords(): Promise<ExecutionRecord[]> {
  const { ddb, tableName } = await import('../functions/adapters/dynamo.js');
  const items: ExecutionRecord[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const out = await ddb().send(
      new ScanCommand({
        TableName: tableName('executions'),
        FilterExpression: '#s = :r',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':r': 'RUNNING' },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    items.push(...((out.Items ?? []) as ExecutionRecord[]));
    ExclusiveStartKey = out.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}
