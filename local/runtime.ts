// The local runtime: the deployed stack run on one machine. It reads the synthesized template
// (local/deployment.ts), bundles every function as the stack does (local/bundles.ts) and runs each in
// execution environments of its own with exactly its template environment (local/lambda.ts). Their AWS
// calls reach local service endpoints (local/aws-endpoints.ts) that judge each against the function's own
// IAM policy before DynamoDB Local, the workflow runner (aws-local-stepfunctions with the synthesized
// definitions), the encrypted secret store or the event bus (the template's rules) answers. The API
// server plays API Gateway in front of the route functions and the authorizer. `npm start` (local/main.ts)
// and the integration tests (test/support/local-runtime.ts) both start the control plane through here.
//
// Assumes DynamoDB Local is up, the tables `<tablePrefix><id>` exist, and this process reaches DynamoDB
// Local through AWS_ENDPOINT_URL_DYNAMODB (its own code — recovery, the bootstrap token — is not a function
// and is not restricted).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { setWorkflowEngine, stateMachineEnvVar } from '../functions/adapters/engine.js';
import { CREATED_BY_TAG, setSecretStore } from '../functions/adapters/secrets.js';
import { LOCAL_AGENT_HOST_ENV } from '../functions/adapters/agent-host.js';
import { setEventPublisher } from '../functions/adapters/events.js';
import { setDdbClient } from '../functions/adapters/dynamo.js';
import { bootstrapAdminToken } from '../functions/adapters/tokens.js';
import { EVENT_SOURCE } from '../functions/core/events.js';
import { TABLE_IDS, tableEnvVar } from '../functions/core/tables.js';
import type { CommandRecord } from '../functions/core/workflows.js';
import { log } from '../functions/api/lib/log.js';
import { startAwsEndpoints, type AwsEndpoints } from './aws-endpoints.js';
import { lambdaBundles } from './bundles.js';
import { resolveDeployment, templateSnapshot, type LocalDeployment } from './deployment.js';
import { LocalEventBus } from './event-bus.js';
import { IamJudge, RUNTIME_CREDENTIALS } from './iam.js';
import { LambdaInvokeError, LocalLambda, localCredentials } from './lambda.js';
import { ARTIFACTS_BUCKET_ENV } from '../functions/adapters/artifacts.js';
import { GatewayThrottle, startApiServer } from './server.js';
import { FaultRegistry, faultsRoute } from './faults.js';
import { LocalSecretStore } from './secret-store.js';
import { SimulatedAgents } from './simulated-agent.js';
import { startLocalS3, type LocalS3 } from './s3.js';
import { LocalWorkflowEngine, type LocalEngineOptions, type RunnerSettings } from './workflow-runner.js';
import type { MachineKind } from '../statemachines/definitions.js';
import { MACHINE_KINDS } from '../statemachines/definitions.js';

export interface LocalRuntimeOptions extends RunnerSettings {
  /** Prefix of the local table names (`<prefix><table id>`); default DCP_TABLE_PREFIX or `dcp_`. */
  tablePrefix?: string;
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
  /** Apply the API stage's throttling as API Gateway does (default true; test harnesses turn it off). */
  gatewayThrottling?: boolean;
  /** Variables set on every function, as a configuration update of the deployed functions would (tests). */
  functionEnvironment?: Record<string, string>;
}

export interface LocalRuntime {
  readonly url: string;
  readonly adminToken: string;
  readonly deployment: LocalDeployment;
  readonly lambda: LocalLambda;
  readonly judge: IamJudge;
  readonly aws: AwsEndpoints;
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
   * the next start recovers them as LOST, exactly as after a crash) and ends the functions' environments.
   */
  close(): Promise<void>;
}

export async function startLocalRuntime(opts: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const tablePrefix = opts.tablePrefix ?? process.env.DCP_TABLE_PREFIX ?? 'dcp_';
  const dynamoDbEndpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!dynamoDbEndpoint) throw new Error('AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local');
  const deployment = resolveDeployment(await templateSnapshot(), { tablePrefix });
  const bundles = await lambdaBundles(deployment.functions.flatMap((f) => (f.entry ? [f.entry] : [])));

  // This process's own AWS identity and tables (the runtime's code, not a function's).
  process.env.AWS_REGION = deployment.region;
  process.env.AWS_ACCESS_KEY_ID = RUNTIME_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = RUNTIME_CREDENTIALS.secretAccessKey;
  process.env.AWS_SESSION_TOKEN = RUNTIME_CREDENTIALS.sessionToken;
  for (const id of TABLE_IDS) process.env[tableEnvVar(id)] = deployment.tables[id].name;

  const faults = new FaultRegistry();
  const secrets = opts.dataDir ? LocalSecretStore.inDirectory(join(opts.dataDir, 'secrets')) : LocalSecretStore.inMemory();
  const agent = new SimulatedAgents({
    ...(opts.dataDir ? { dir: join(opts.dataDir, 'agents') } : {}),
    faults,
    ...(opts.agentAnswerDelayMs !== undefined ? { answerDelayMs: opts.agentAnswerDelayMs } : {}),
  });
  const judge = new IamJudge(deployment);
  // What CloudFormation does at deploy: secrets with a generated value (the cursor key) get one.
  for (const name of deployment.generatedSecrets) {
    if (!(await secrets.describe(name))) await secrets.create(name, randomBytes(48).toString('base64url'), 'cloudformation');
  }

  let engine: LocalWorkflowEngine | undefined;
  let bus: LocalEventBus | undefined;
  const commandsTable = deployment.tables.commands.name;
  const aws = await startAwsEndpoints({
    judge,
    dynamoDbEndpoint,
    region: deployment.region,
    account: deployment.account,
    sfn: () => engine!,
    secrets,
    bus: () => bus!,
    createdByTag: CREATED_BY_TAG,
    // What a DynamoDB stream on the commands table would carry: a stored command wakes its simulated agent.
    watch: (table) => table === commandsTable,
    onItemWritten: (_table, item) => {
      const command = item as unknown as CommandRecord;
      if (command.status !== 'pending') return;
      const { taskToken: _token, ...view } = command;
      void _token;
      void agent.hasAgent(command.targetId).then((has) => {
        if (has) agent.commandStored(view);
      });
    },
  });

  // The simulated agents' key service, which only the targets function is told about (local only).
  const agentHost = createServer((req, res) => {
    const targetId = decodeURIComponent((req.url ?? '/').slice(1));
    if (req.method !== 'POST' || !targetId) {
      res.writeHead(404).end();
      return;
    }
    agent
      .createAgentKey(targetId)
      .then((publicKey) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ publicKey })))
      .catch((e: unknown) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve) => agentHost.listen(0, '127.0.0.1', resolve));
  const agentHostUrl = `http://127.0.0.1:${(agentHost.address() as AddressInfo).port}`;

  // The artifact bucket, under the name the stack gives the functions, accepting their role credentials.
  const bucket = deployment.functions.map((f) => f.environment[ARTIFACTS_BUCKET_ENV]).find(Boolean);
  const s3 = await startLocalS3({
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(bucket ? { bucket } : {}),
    // The functions' role credentials, and this process's own (its adapters and the tests').
    credentials: [...[...new Set(deployment.functions.map((f) => f.role.arn))].map((arn) => localCredentials(arn)), RUNTIME_CREDENTIALS],
  });

  const targetsFunction = deployment.apiFunctions.targets?.logicalId;
  const lambda = new LocalLambda(deployment, bundles, {
    endpoints: { dynamodb: aws.url, sfn: aws.url, secretsManager: aws.url, eventBridge: aws.url, s3: s3.endpoint },
    ...(opts.functionEnvironment ? { environmentOverrides: opts.functionEnvironment } : {}),
    functionEnvironment: (fn): Record<string, string> => (fn.logicalId === targetsFunction ? { [LOCAL_AGENT_HOST_ENV]: agentHostUrl } : {}),
    quiet: process.env.DCP_LOG_LEVEL === 'silent',
  });

  const machines: LocalEngineOptions['machines'] = {};
  for (const kind of MACHINE_KINDS) {
    // Fixed names `<stack>-<kind>` (infra/workflows.ts stateMachineNames).
    const m = deployment.stateMachines.find((sm) => sm.name.endsWith(`-${kind}`));
    if (m) machines[kind as MachineKind] = { arn: m.arn, name: m.name, definition: m.definition, roleArn: m.role.arn };
  }
  const settings: RunnerSettings = {
    ...(opts.retryIntervalMs !== undefined ? { retryIntervalMs: opts.retryIntervalMs } : {}),
    ...(opts.taskTimeoutMs !== undefined ? { taskTimeoutMs: opts.taskTimeoutMs } : {}),
    ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
  };
  engine = new LocalWorkflowEngine({
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    settings,
    faults,
    machines,
    // A Task's Lambda call, made as the state machine's role, as Step Functions makes it.
    invokeFunction: async (functionArn, payload, kind) => {
      const principal = judge.principalOfRole(machines[kind as MachineKind]!.roleArn)!;
      const judgement = await judge.authorize(principal, { action: 'lambda:InvokeFunction', resource: functionArn });
      if (!judgement.allowed) throw namedError('Lambda.AWSLambdaException', judgement.message!);
      try {
        return await lambda.invoke(functionArn, payload);
      } catch (e) {
        if (e instanceof LambdaInvokeError) throw e; // name = errorType, message = the error shape (the Cause)
        throw namedError('Lambda.ServiceException', String(e));
      }
    },
    publishStatusChange: (event) => bus!.statusChange(event),
    ...(opts.engine ?? {}),
  });
  const rolloutArn = machines.rollout?.arn;
  bus = new LocalEventBus({
    deployment,
    engine,
    lambda,
    judge,
    disabled: (rule) => opts.rolloutOnPublish === false && rule.targets.some((t) => t.arn === rolloutArn) && JSON.stringify(rule.eventPattern ?? {}).includes(EVENT_SOURCE),
    log: (message, fields) => log('error', message, fields),
  });

  // This process's own code (recovery, test fixtures) may start and read runs and publish, as an operator's
  // tools would: the state machines and the bus in the variables the adapters read.
  for (const kind of MACHINE_KINDS) if (machines[kind]) process.env[stateMachineEnvVar(kind)] = machines[kind]!.arn;
  const eventBus = deployment.functions.map((f) => f.environment.DCP_EVENT_BUS).find(Boolean);
  if (eventBus) process.env.DCP_EVENT_BUS = eventBus;
  // This process's own SDK clients go to the local endpoints too (recovery compensates through them).
  process.env.AWS_ENDPOINT_URL_SFN = aws.url;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = aws.url;
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = aws.url;
  resetClients();

  const adminToken = await bootstrapAdminToken(opts.adminToken);
  const server = await startApiServer({
    port: opts.port ?? 0,
    host: opts.host ?? '127.0.0.1',
    extra: faultsRoute(faults),
    ...(opts.gatewayThrottling === false ? {} : { throttle: new GatewayThrottle(deployment.apiThrottling) }),
    invoke: (group, event) => {
      const fn = deployment.apiFunctions[group];
      if (!fn) throw new Error(`The stack has no function for ${group}`);
      return lambda.invoke(fn.arn, event);
    },
  });
  agent.setApiUrl(server.url);

  // After the server is up: compensation may reach agents, whose answers come back through the API.
  const recovered = opts.recover === false ? [] : await engine.recoverLostExecutions();

  let closed = false;
  return {
    url: server.url,
    adminToken,
    deployment,
    lambda,
    judge,
    aws,
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
      await engine!.close();
      await agent.close();
      await bus!.idle();
      await server.close();
      await lambda.close();
      await aws.close();
      await s3.close();
      await new Promise<void>((resolve) => agentHost.close(() => resolve()));
      resetClients();
    },
  };
}

/** The SDK clients of this process are built from the environment once; a new runtime means new ones. */
function resetClients(): void {
  setWorkflowEngine(undefined);
  setSecretStore(undefined);
  setEventPublisher(undefined);
  setDdbClient(undefined);
}

function namedError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}
