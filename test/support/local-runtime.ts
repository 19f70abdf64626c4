// Integration harness with the whole local runtime (local/runtime.ts): the API server plus the
// aws-local-stepfunctions runner, the encrypted secret store and the simulated agent, over this file's own
// DynamoDB Local tables and a temporary data folder, called through real HTTP. Retries wait 0 ms.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime.js';
import type { CallOptions, CallResult } from './api.js';
import { httpCall } from './api.js';
import { useLocalTables, type LocalTables } from './ddb.js';

export interface LocalRuntimeHarness {
  readonly tables: LocalTables;
  readonly dataDir: string;
  readonly runtime: LocalRuntime;
  readonly url: string;
  readonly adminToken: string;
  call<T = any>(method: string, path: string, opts?: CallOptions): Promise<CallResult<T>>;
  /** Create a token with these scopes through the API (as admin) and return its secret. */
  token(scopes: string[]): Promise<string>;
  /**
   * Close the runtime (runs in progress stay RUNNING, as after a crash) and start a new one on the same
   * tables and data folder, which recovers them.
   */
  restart(opts?: Omit<LocalRuntimeOptions, 'dataDir' | 'adminToken'>): Promise<LocalRuntime>;
  /**
   * Invoke the Lambda function a Task state of a deployed state machine names (its FunctionName), with
   * `payload` as that state's Payload — the function runs with its own environment and IAM.
   */
  invokeState(state: string, payload: unknown): Promise<any>;
  /** Poll GET /executions/{id} until it is no longer RUNNING; answers the execution. */
  waitForExecution(id: string, timeoutMs?: number): Promise<any>;
}

export function useLocalRuntime(opts: Omit<LocalRuntimeOptions, 'dataDir'> = {}): LocalRuntimeHarness {
  process.env.DCP_LOG_LEVEL ??= 'silent';
  const tables = useLocalTables();
  // Publishing does not start rollouts unless a test asks: most tests drive updates themselves.
  // The stage's throttling is off unless a test asks: tests send faster than a deployed stage allows.
  const base: LocalRuntimeOptions = { retryIntervalMs: 0, rolloutOnPublish: false, gatewayThrottling: false, tablePrefix: tables.prefix, ...opts };
  let dataDir = '';
  let runtime: LocalRuntime | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'dcp-runtime-'));
    runtime = await startLocalRuntime({ ...base, dataDir });
  });
  afterAll(async () => {
    await runtime?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const harness: LocalRuntimeHarness = {
    tables,
    get dataDir() {
      return dataDir;
    },
    get runtime() {
      if (!runtime) throw new Error('the local runtime is not started yet (beforeAll)');
      return runtime;
    },
    get url() {
      return harness.runtime.url;
    },
    get adminToken() {
      return harness.runtime.adminToken;
    },
    call(method, path, callOpts = {}) {
      return httpCall(harness.url, harness.adminToken, method, path, callOpts);
    },
    async token(scopes) {
      const r = await harness.call('POST', '/tokens', { body: { scopes } });
      if (r.status !== 201) throw new Error(`token creation failed: ${r.status} ${r.text}`);
      return r.body.token as string;
    },
    async restart(next = {}) {
      const adminToken = harness.adminToken;
      await runtime?.close();
      runtime = await startLocalRuntime({ ...base, ...next, dataDir, adminToken });
      return runtime;
    },
    invokeState(state, payload) {
      const arn = taskFunctionArn(harness.runtime, state);
      return harness.runtime.lambda.invoke(arn, payload);
    },
    async waitForExecution(id, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await harness.call('GET', `/executions/${id}`);
        if (r.status !== 200) throw new Error(`GET /executions/${id}: ${r.status} ${r.text}`);
        if (r.body.status !== 'RUNNING') {
          // The record can end before the engine has: let the runner finish its history and reconciliation.
          await harness.runtime.engine.waitFor(r.body.kind, id).catch(() => undefined);
          return (await harness.call('GET', `/executions/${id}`)).body;
        }
        if (Date.now() > deadline) throw new Error(`execution ${id} still RUNNING after ${timeoutMs} ms: ${JSON.stringify(r.body.steps)}`);
        await new Promise((res) => setTimeout(res, 25));
      }
    },
  };
  return harness;
}

/** The FunctionName of the Task state `state` in any deployed state machine (nested states included). */
export function taskFunctionArn(runtime: LocalRuntime, state: string): string {
  const find = (states: Record<string, any>): string | undefined => {
    for (const [name, s] of Object.entries(states)) {
      if (name === state && s.Type === 'Task' && typeof s.Parameters?.FunctionName === 'string') return s.Parameters.FunctionName;
      for (const inner of [...(s.Branches ?? []), ...(s.ItemProcessor ? [s.ItemProcessor] : []), ...(s.Iterator ? [s.Iterator] : [])]) {
        const found = find(inner.States);
        if (found) return found;
      }
    }
    return undefined;
  };
  for (const machine of runtime.deployment.stateMachines) {
    const found = find(JSON.parse(machine.definition).States);
    if (found) return found;
  }
  throw new Error(`No deployed state machine has a Task state "${state}"`);
}
