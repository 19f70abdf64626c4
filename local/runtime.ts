// Wires the local runtime's stand-ins into the ports the handlers use — the workflow engine
// (aws-local-stepfunctions), the encrypted secret store and the simulated agent — serves the API with the
// local-only /local/faults route, and recovers runs lost by an earlier process. `npm start` (local/main.ts)
// and the integration tests (test/support/local-runtime.ts) both start the control plane through here.
//
// Assumes DynamoDB Local is up and the adapters point at it (DCP_DYNAMODB_ENDPOINT, DCP_TABLE_PREFIX) with
// the tables created.
import { join } from 'node:path';
import { setWorkflowEngine } from '../functions/adapters/engine.js';
import { setSecretStore } from '../functions/adapters/secrets.js';
import { setSimulatedAgentHost } from '../functions/adapters/agent-host.js';
import { setEventPublisher } from '../functions/adapters/events.js';
import { LocalEventBus } from './event-bus.js';
import { bootstrapAdminToken } from '../functions/adapters/tokens.js';
import { startApiServer } from './server.js';
import { FaultRegistry, faultsRoute } from './faults.js';
import { LocalSecretStore } from './secret-store.js';
import { SimulatedAgents } from './simulated-agent.js';
import { startLocalS3, type LocalS3 } from './s3.js';
import { LocalWorkflowEngine, type LocalEngineOptions, type RunnerSettings } from './workflow-runner.js';

export interface LocalRuntimeOptions extends RunnerSettings {
  /**
   * Where runs' histories, agent keys and secrets are kept (`executions/`, `agents/`, `secrets/`).
   * Without it everything but DynamoDB lives in memory (tests).
   */
  dataDir?: string;
  port?: number;
  host?: string;
  /** Bootstrap admin token; generated when unset. */
  adminToken?: string;
  /** Pause before the simulated agent answers a command. */
  agentAnswerDelayMs?: number;
  /** Test seams of the engine (inline definitions, stub handlers, a stub compensation). */
  engine?: Pick<LocalEngineOptions, 'definition' | 'handler' | 'compensate'>;
  /** Skip start-up recovery (tests that want to call it themselves). */
  recover?: boolean;
  /** Whether publishing a release starts a rollout, as the ReleasePublished rule does in AWS (default true). */
  rolloutOnPublish?: boolean;
}

export interface LocalRuntime {
  readonly url: string;
  readonly adminToken: string;
  readonly engine: LocalWorkflowEngine;
  readonly agent: SimulatedAgents;
  readonly faults: FaultRegistry;
  readonly secrets: LocalSecretStore;
  readonly bus: LocalEventBus;
  /** The artifact bucket's emulator (s3rver). */
  readonly s3: LocalS3;
  /** Execution ids compensated as LOST at start-up. */
  readonly recovered: string[];
  /**
   * Stops the API server, interrupts runs in progress WITHOUT compensating them (they stay RUNNING and
   * the next start recovers them as LOST, exactly as after a crash) and unregisters the ports.
   */
  close(): Promise<void>;
}

export async function startLocalRuntime(opts: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const faults = new FaultRegistry();
  const secrets = opts.dataDir ? LocalSecretStore.inDirectory(join(opts.dataDir, 'secrets')) : LocalSecretStore.inMemory();
  const agent = new SimulatedAgents({
    ...(opts.dataDir ? { dir: join(opts.dataDir, 'agents') } : {}),
    faults,
    ...(opts.agentAnswerDelayMs !== undefined ? { answerDelayMs: opts.agentAnswerDelayMs } : {}),
  });
  const settings: RunnerSettings = {
    ...(opts.retryIntervalMs !== undefined ? { retryIntervalMs: opts.retryIntervalMs } : {}),
    ...(opts.taskTimeoutMs !== undefined ? { taskTimeoutMs: opts.taskTimeoutMs } : {}),
    ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
  };
  const engine = new LocalWorkflowEngine({ ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), settings, faults, ...(opts.engine ?? {}) });

  setWorkflowEngine(engine);
  setSecretStore(secrets);
  setSimulatedAgentHost(agent);
  const bus = new LocalEventBus(engine, opts.rolloutOnPublish ?? true);
  setEventPublisher(bus);

  const adminToken = await bootstrapAdminToken(opts.adminToken);
  const s3 = await startLocalS3(opts.dataDir ? { dataDir: opts.dataDir } : {});
  const server = await startApiServer({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1', extra: faultsRoute(faults) });
  agent.setApiUrl(server.url);

  // After the server is up: compensation may reach agents, whose answers come back through the API.
  const recovered = opts.recover === false ? [] : await engine.recoverLostExecutions();

  let closed = false;
  return {
    url: server.url,
    adminToken,
    engine,
    agent,
    faults,
    secrets,
    bus,
    s3,
    recovered,
    async close() {
      if (closed) return;
      closed = true;
      await engine.close();
      await agent.close();
      await server.close();
      await s3.close();
      setWorkflowEngine(undefined);
      setSecretStore(undefined);
      setSimulatedAgentHost(undefined);
      setEventPublisher(undefined);
    },
  };
}
