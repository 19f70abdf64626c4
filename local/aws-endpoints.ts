// The AWS service endpoints of the local runtime, on one loopback port: the functions' SDK clients reach it
// through AWS_ENDPOINT_URL_DYNAMODB / _SFN / _SECRETS_MANAGER / _EVENTBRIDGE (local/lambda.ts). Each call is
// told apart by its X-Amz-Target header (the JSON protocols of the four services), its caller by the access
// key id of its SigV4 Authorization header, and judged against that caller's IAM policy (local/iam.ts)
// the way the service authorizes it — DynamoDB item by item in a transaction and table by table in a batch,
// a Query on an index on `table/T/index/I` — before it reaches DynamoDB Local, the local workflow engine, the
// local secret store or the local event bus. A refusal is AWS's own AccessDeniedException.
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { EngineKind, HistoryItem } from '../functions/adapters/engine.js';
import { TaskNotWaitingError } from '../functions/adapters/engine.js';
import type { IamJudge, Principal, AuthRequest } from './iam.js';
import { localSecretArn } from './deployment.js';

type Json = any;

export interface LocalSfn {
  kindOfStateMachine(arn: string): EngineKind | undefined;
  stateMachineArn(kind: EngineKind): string;
  parseExecutionArn(arn: string): { kind: EngineKind; name: string } | undefined;
  machineOfToken(token: string): EngineKind | undefined;
  start(kind: EngineKind, name: string, input: unknown): Promise<{ executionArn: string }>;
  stop(kind: EngineKind, name: string, error: string, cause: string): Promise<void>;
  describe(kind: EngineKind, name: string): Promise<Json | undefined>;
  history(kind: EngineKind, name: string): Promise<HistoryItem[]>;
  sendTaskSuccess(token: string, output: unknown): Promise<void>;
  sendTaskFailure(token: string, error: string, cause: string): Promise<void>;
  sendTaskHeartbeat(token: string): Promise<void>;
}

export interface LocalSecrets {
  create(name: string, value: string, createdBy: string): Promise<unknown>;
  read(name: string): Promise<string | undefined>;
  describe(name: string): Promise<{ createdBy: string; createdAt: string } | undefined>;
  delete(name: string): Promise<void>;
  list(prefix: string): Promise<{ name: string }[]>;
}

export interface LocalBus {
  put(entry: { EventBusName?: string; Source?: string; DetailType?: string; Detail?: string; Resources?: string[] }): Promise<string>;
}

export interface AwsEndpointsOptions {
  readonly judge: IamJudge;
  /** DynamoDB Local, where allowed DynamoDB calls are forwarded. */
  readonly dynamoDbEndpoint: string;
  readonly region: string;
  readonly account: string;
  readonly sfn: () => LocalSfn;
  readonly secrets: LocalSecrets;
  readonly bus: () => LocalBus;
  /** Called with every item written to a table whose name passes `watch` (what a stream would carry). */
  readonly onItemWritten?: (tableName: string, item: Record<string, unknown>) => void;
  readonly watch?: (tableName: string) => boolean;
  /** The secrets' tag that IAM conditions read (`aws:ResourceTag/<tag>`). */
  readonly createdByTag: string;
}

/**
 * Answers a call in place of the local service, after IAM has allowed it (tests that stand in for a
 * service, as aws-sdk-client-mock would in-process); undefined lets the local service answer.
 */
export type Interceptor = (op: string, input: Json, caller: string) => Promise<Json | undefined> | Json | undefined;

export type InterceptedService = 'sfn' | 'secretsmanager' | 'events';

export interface AwsEndpoints {
  readonly url: string;
  /** Put `handler` in front of a service (tests); answers a function that removes it. */
  intercept(service: InterceptedService, handler: Interceptor): () => void;
  /** Hear every DynamoDB call as it arrives (op, request, calling role's logical id); answers a remover. */
  observeDynamoDb(listener: (op: string, input: Json, caller: string) => void): () => void;
  /** Calls refused, for tests: `{principal, action, resource}`. */
  readonly denials: { principal: string; action: string; resource: string }[];
  close(): Promise<void>;
}

class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startAwsEndpoints(opts: AwsEndpointsOptions): Promise<AwsEndpoints> {
  const denials: AwsEndpoints['denials'] = [];
  const interceptors: Record<InterceptedService, Interceptor[]> = { sfn: [], secretsmanager: [], events: [] };
  let observers: ((op: string, input: Json, caller: string) => void)[] = [];
  const intercepted = async (service: InterceptedService, op: string, input: Json, principal: Principal) => {
    for (const handler of interceptors[service]) {
      const out = await handler(op, input, principal.kind === 'role' ? principal.role.logicalId : 'runtime');
      if (out !== undefined) return out;
    }
    return undefined;
  };
  const dynamo = new URL(opts.dynamoDbEndpoint);

  const authorize = async (principal: Principal, requests: AuthRequest[]) => {
    for (const r of requests) {
      const judgement = await opts.judge.authorize(principal, r);
      if (!judgement.allowed) {
        denials.push({ principal: principal.kind === 'role' ? principal.role.logicalId : 'runtime', action: r.action, resource: r.resource });
        throw new AwsError(400, 'AccessDeniedException', judgement.message!);
      }
    }
  };

  const arn = (service: string, rest: string) => `arn:aws:${service}:${opts.region}:${opts.account}:${rest}`;
  const tableArn = (name: string) => (name.startsWith('arn:') ? name : arn('dynamodb', `table/${name}`));
  const secretArn = (name: string) => localSecretArn(opts.region, opts.account, name);
  const secretNameOf = (id: string) => (id.startsWith('arn:') ? id.replace(/^arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:/, '').replace(/-[0-9a-f]{6}$/, '') : id);

  async function dynamodb(req: IncomingMessage, res: ServerResponse, body: Buffer, op: string, principal: Principal) {
    const input = JSON.parse(body.toString('utf8') || '{}') as Json;
    for (const o of observers) o(op, input, principal.kind === 'role' ? principal.role.logicalId : 'runtime');
    await authorize(principal, dynamoRequests(op, input, tableArn));
    const answer = await forward(req, body);
    if (answer.status === 200 && opts.onItemWritten) notifyWrites(op, input, opts);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  function forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
      headers['content-length'] = String(body.length);
      const out = httpRequest({ hostname: dynamo.hostname, port: dynamo.port, path: '/', method: 'POST', headers }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string' && !['connection', 'transfer-encoding', 'content-length'].includes(k)) h[k] = v;
          resolve({ status: r.statusCode ?? 500, headers: h, body: Buffer.concat(chunks) });
        });
        r.on('error', reject);
      });
      out.on('error', (e) => reject(new AwsError(503, 'ServiceUnavailable', `DynamoDB Local is not reachable: ${e.message}`)));
      out.end(body);
    });
  }

  async function sfn(op: string, input: Json, principal: Principal): Promise<Json> {
    await authorize(principal, sfnRequests(op, input));
    const faked = await intercepted('sfn', op, input, principal);
    if (faked !== undefined) return faked;
    const engine = opts.sfn();
    const execution = (executionArn: string) => {
      const parsed = engine.parseExecutionArn(String(executionArn));
      if (!parsed) throw new AwsError(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${String(executionArn)}'`);
      return parsed;
    };
    const byToken = async (action: string) => {
      const token = String(input.taskToken ?? '');
      const kind = engine.machineOfToken(token);
      if (!kind) throw new AwsError(400, token.startsWith('local.') ? 'TaskTimedOut' : 'InvalidToken', 'Task Timed Out or does not exist');
      await authorize(principal, [{ action, resource: engine.stateMachineArn(kind) }]);
      return token;
    };
    const taskCall = async (fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (e) {
        if (e instanceof TaskNotWaitingError) throw new AwsError(400, 'TaskTimedOut', 'Task Timed Out');
        throw e;
      }
      return {};
    };
    switch (op) {
      case 'StartExecution': {
        const kind = engine.kindOfStateMachine(String(input.stateMachineArn));
        if (!kind) throw new AwsError(400, 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(input.stateMachineArn)}'`);
        const name = typeof input.name === 'string' ? input.name : crypto.randomUUID();
        const out = await engine.start(kind, name, input.input === undefined ? {} : JSON.parse(String(input.input)));
        return { executionArn: out.executionArn, startDate: Date.now() / 1000 };
      }
      case 'StopExecution': {
        const { kind, name } = execution(input.executionArn);
        await engine.stop(kind, name, String(input.error ?? ''), String(input.cause ?? ''));
        return { stopDate: Date.now() / 1000 };
      }
      case 'DescribeExecution': {
        const { kind, name } = execution(input.executionArn);
        const d = await engine.describe(kind, name);
        if (!d) throw new AwsError(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${String(input.executionArn)}'`);
        return {
          executionArn: d.executionArn,
          stateMachineArn: engine.stateMachineArn(kind),
          name,
          status: d.status,
          startDate: Date.parse(d.startedAt) / 1000,
          ...(d.stoppedAt ? { stopDate: Date.parse(d.stoppedAt) / 1000 } : {}),
          input: JSON.stringify(d.input ?? {}),
          ...(d.output !== undefined ? { output: JSON.stringify(d.output) } : {}),
          ...(d.error ? { error: d.error } : {}),
          ...(d.cause ? { cause: d.cause } : {}),
        };
      }
      case 'GetExecutionHistory': {
        const { kind, name } = execution(input.executionArn);
        const all = await engine.history(kind, name);
        const ordered = input.reverseOrder ? [...all].reverse() : all;
        const max = Math.min(Math.max(Number(input.maxResults) || 100, 1), 1000);
        const from = input.nextToken ? Number(Buffer.from(String(input.nextToken), 'base64url').toString('utf8')) : 0;
        if (!Number.isInteger(from) || from < 0) throw new AwsError(400, 'InvalidToken', 'Invalid Token');
        const page = ordered.slice(from, from + max);
        const next = from + max < ordered.length ? Buffer.from(String(from + max)).toString('base64url') : undefined;
        return { events: page.map(toAwsEvent), ...(next ? { nextToken: next } : {}) };
      }
      case 'SendTaskSuccess': {
        const token = await byToken('states:SendTaskSuccess');
        return taskCall(() => engine.sendTaskSuccess(token, JSON.parse(String(input.output ?? '{}'))));
      }
      case 'SendTaskFailure': {
        const token = await byToken('states:SendTaskFailure');
        return taskCall(() => engine.sendTaskFailure(token, String(input.error ?? ''), String(input.cause ?? '')));
      }
      case 'SendTaskHeartbeat': {
        const token = await byToken('states:SendTaskHeartbeat');
        return taskCall(() => engine.sendTaskHeartbeat(token));
      }
      default:
        throw new AwsError(400, 'UnknownOperationException', `The local Step Functions does not implement ${op}`);
    }
  }

  async function secretsmanager(op: string, input: Json, principal: Principal): Promise<Json> {
    const faked = interceptors.secretsmanager.length ? await intercepted('secretsmanager', op, input, principal) : undefined;
    if (faked !== undefined) return faked;
    const tag = opts.createdByTag;
    const existing = async (id: string) => {
      const name = secretNameOf(String(id));
      return { name, meta: await opts.secrets.describe(name) };
    };
    const resourceContext = (meta: { createdBy: string } | undefined): Record<string, string> => (meta?.createdBy ? { [`aws:ResourceTag/${tag}`]: meta.createdBy } : {});
    const notFound = () => new AwsError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    switch (op) {
      case 'CreateSecret': {
        const name = String(input.Name);
        const tags = ((input.Tags ?? []) as { Key: string; Value: string }[]);
        const context: Record<string, string | string[]> = { 'aws:TagKeys': tags.map((t) => t.Key) };
        for (const t of tags) context[`aws:RequestTag/${t.Key}`] = t.Value;
        const requests: AuthRequest[] = [{ action: 'secretsmanager:CreateSecret', resource: secretArn(name), context }];
        if (tags.length > 0) requests.push({ action: 'secretsmanager:TagResource', resource: secretArn(name), context });
        await authorize(principal, requests);
        if (await opts.secrets.describe(name)) throw new AwsError(400, 'ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
        const createdBy = tags.find((t) => t.Key === tag)?.Value ?? '';
        await opts.secrets.create(name, String(input.SecretString ?? ''), createdBy);
        return { ARN: secretArn(name), Name: name, VersionId: createHash('sha256').update(`${name}\n${createdBy}`).digest('hex').slice(0, 32) };
      }
      case 'DescribeSecret': {
        const { name, meta } = await existing(input.SecretId);
        await authorize(principal, [{ action: 'secretsmanager:DescribeSecret', resource: secretArn(name), context: resourceContext(meta) }]);
        if (!meta) throw notFound();
        return { ARN: secretArn(name), Name: name, CreatedDate: Date.parse(meta.createdAt) / 1000, Tags: meta.createdBy ? [{ Key: tag, Value: meta.createdBy }] : [] };
      }
      case 'GetSecretValue': {
        const { name, meta } = await existing(input.SecretId);
        await authorize(principal, [{ action: 'secretsmanager:GetSecretValue', resource: secretArn(name), context: resourceContext(meta) }]);
        const value = meta ? await opts.secrets.read(name) : undefined;
        if (value === undefined) throw notFound();
        return { ARN: secretArn(name), Name: name, SecretString: value, VersionStages: ['AWSCURRENT'] };
      }
      case 'DeleteSecret': {
        const { name, meta } = await existing(input.SecretId);
        await authorize(principal, [{ action: 'secretsmanager:DeleteSecret', resource: secretArn(name), context: resourceContext(meta) }]);
        if (!meta) throw notFound();
        await opts.secrets.delete(name);
        return { ARN: secretArn(name), Name: name, DeletionDate: Date.now() / 1000 };
      }
      case 'ListSecrets': {
        // ListSecrets supports no resource-level permissions: only Resource "*" allows it.
        await authorize(principal, [{ action: 'secretsmanager:ListSecrets', resource: '*' }]);
        const filter = ((input.Filters ?? []) as { Key: string; Values: string[] }[]).find((f) => f.Key === 'name');
        const prefix = filter?.Values?.[0] ?? '';
        const list = await opts.secrets.list(prefix);
        return { SecretList: list.map((s) => ({ ARN: secretArn(s.name), Name: s.name })) };
      }
      default:
        throw new AwsError(400, 'UnknownOperationException', `The local Secrets Manager does not implement ${op}`);
    }
  }

  async function events(op: string, input: Json, principal: Principal): Promise<Json> {
    if (op !== 'PutEvents') throw new AwsError(400, 'UnknownOperationException', `The local EventBridge does not implement ${op}`);
    const entries = (input.Entries ?? []) as Json[];
    if (entries.length < 1 || entries.length > 10) throw new AwsError(400, 'ValidationException', 'Entries must hold 1 to 10 events');
    await authorize(
      principal,
      entries.map((e) => {
        const bus = String(e.EventBusName ?? 'default');
        return { action: 'events:PutEvents', resource: bus.startsWith('arn:') ? bus : arn('events', `event-bus/${bus}`) };
      }),
    );
    const faked = await intercepted('events', op, input, principal);
    if (faked !== undefined) return faked;
    const out: Json[] = [];
    for (const e of entries) out.push({ EventId: await opts.bus().put(e) });
    return { FailedEntryCount: 0, Entries: out };
  }

  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      const [service, op = ''] = target.split('.');
      const json11 = service === 'secretsmanager' || service === 'AWSEvents';
      const contentType = json11 ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0';
      try {
        const principal = opts.judge.principalOf(req.headers.authorization);
        if (!principal) throw new AwsError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
        if (service === 'DynamoDB_20120810') return await dynamodb(req, res, body, op, principal);
        const input = JSON.parse(body.toString('utf8') || '{}') as Json;
        let output: Json;
        if (service === 'AWSStepFunctions') output = await sfn(op, input, principal);
        else if (service === 'secretsmanager') output = await secretsmanager(op, input, principal);
        else if (service === 'AWSEvents') output = await events(op, input, principal);
        else throw new AwsError(400, 'UnknownOperationException', `No local service answers ${target || 'this request'}`);
        res.writeHead(200, { 'content-type': contentType });
        res.end(JSON.stringify(output));
      } catch (e) {
        const error =
          e instanceof AwsError
            ? e
            : e instanceof Error && /^[A-Z][A-Za-z]+$/.test(e.name) && e.name !== 'Error' && e.name !== 'TypeError'
              ? new AwsError(400, e.name, e.message)
              : new AwsError(500, 'InternalFailure', e instanceof Error ? e.message : String(e));
        const type = service === 'DynamoDB_20120810' ? `com.amazonaws.dynamodb.v20120810#${error.type}` : error.type;
        res.writeHead(error.status, { 'content-type': contentType, 'x-amzn-errortype': error.type });
        res.end(JSON.stringify({ __type: type, message: error.message, Message: error.message }));
      }
    })();
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    denials,
    observeDynamoDb(listener) {
      observers.push(listener);
      return () => {
        observers = observers.filter((o) => o !== listener);
      };
    },
    intercept(service, handler) {
      interceptors[service].push(handler);
      return () => {
        interceptors[service] = interceptors[service].filter((h) => h !== handler);
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What IAM evaluates for a Step Functions call whose resource is in the request (StartExecution on the state
 * machine, the execution calls on the execution); SendTask* are judged on the token's state machine later.
 */
function sfnRequests(op: string, input: Json): AuthRequest[] {
  switch (op) {
    case 'StartExecution':
      return [{ action: 'states:StartExecution', resource: String(input.stateMachineArn) }];
    case 'StopExecution':
    case 'DescribeExecution':
    case 'GetExecutionHistory':
      return [{ action: `states:${op}`, resource: String(input.executionArn) }];
    default:
      return [];
  }
}

/** What IAM evaluates for one DynamoDB call: one action and resource per table, index or transaction item. */
export function dynamoRequests(op: string, input: Json, tableArn: (name: string) => string): AuthRequest[] {
  const one = (action: string, table: unknown, index?: unknown): AuthRequest => ({
    action: `dynamodb:${action}`,
    resource: `${tableArn(String(table))}${index ? `/index/${String(index)}` : ''}`,
  });
  switch (op) {
    case 'Query':
    case 'Scan':
      return [one(op, input.TableName, input.IndexName)];
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys(input.RequestItems ?? {}).map((t) => one(op, t));
    case 'TransactWriteItems':
      return ((input.TransactItems ?? []) as Json[]).map((item) => {
        if (item.Put) return one('PutItem', item.Put.TableName);
        if (item.Update) return one('UpdateItem', item.Update.TableName);
        if (item.Delete) return one('DeleteItem', item.Delete.TableName);
        return one('ConditionCheckItem', item.ConditionCheck?.TableName);
      });
    case 'TransactGetItems':
      return ((input.TransactItems ?? []) as Json[]).map((item) => one('GetItem', item.Get?.TableName));
    default:
      return [one(op, input.TableName)];
  }
}

function notifyWrites(op: string, input: Json, opts: AwsEndpointsOptions): void {
  const puts: { table: string; item: Json }[] = [];
  if (op === 'PutItem') puts.push({ table: input.TableName, item: input.Item });
  if (op === 'TransactWriteItems') for (const i of (input.TransactItems ?? []) as Json[]) if (i.Put) puts.push({ table: i.Put.TableName, item: i.Put.Item });
  if (op === 'BatchWriteItem') {
    for (const [table, writes] of Object.entries(input.RequestItems ?? {}) as [string, Json[]][]) for (const w of writes) if (w.PutRequest) puts.push({ table, item: w.PutRequest.Item });
  }
  for (const { table, item } of puts) {
    if (opts.watch && !opts.watch(String(table))) continue;
    try {
      opts.onItemWritten!(String(table), unmarshall(item));
    } catch {
      // a watcher's failure is not the writer's
    }
  }
}

/** A local history item as GetExecutionHistory returns events: the details under `<type>EventDetails`. */
function toAwsEvent(item: HistoryItem, index: number, all: HistoryItem[]): Json {
  const type = item.type;
  const detailsKey = /StateEntered$/.test(type)
    ? 'stateEnteredEventDetails'
    : /StateExited$/.test(type)
      ? 'stateExitedEventDetails'
      : `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
  return {
    id: item.id,
    ...(index > 0 ? { previousEventId: all[index - 1]?.id ?? item.id - 1 } : { previousEventId: 0 }),
    timestamp: Date.parse(item.timestamp) / 1000,
    type,
    ...(item.details ? { [detailsKey]: item.details } : {}),
  };
}
