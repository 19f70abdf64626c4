// The local Lambda service: each function of the synthesized template runs in worker threads of its own
// (local/lambda-worker.mjs) whose process.env holds exactly what Lambda would give it — the function's
// template variables, the Lambda runtime's own (region, function name, memory, role credentials) — and,
// because nothing else here is AWS, the service endpoints of the local runtime (AWS_ENDPOINT_URL_*). The
// credentials name the function's role, so the local endpoints judge each call against that role's policy.
//
// As in Lambda: one invocation at a time per execution environment (more environments start under load),
// the function's timeout ends the environment (Sandbox.Timedout), a response over 6 MB is refused, and a
// thrown error comes back as {errorType, errorMessage, trace}.
import { createHash, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LocalDeployment, LocalFunction } from './deployment.js';
import type { BundleMap } from './bundles.js';

const WORKER_FILE = fileURLToPath(new URL('./lambda-worker.mjs', import.meta.url));

/** Lambda's limit on a synchronous invocation's response (6 MB). */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
/** Lambda's limit on a synchronous invocation's request payload (6 MB). */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;

export interface LambdaErrorShape {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** A failed invocation: `name` is the errorType, `message` the JSON error shape (what Step Functions puts in Cause). */
export class LambdaInvokeError extends Error {
  constructor(readonly shape: LambdaErrorShape) {
    super(JSON.stringify(shape));
    this.name = shape.errorType;
  }
}

/** Where the functions' AWS SDK clients send their calls (service-specific endpoint variables). */
export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly sfn: string;
  readonly secretsManager: string;
  readonly eventBridge: string;
  readonly s3?: string;
}

export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/** Deterministic, local-only role credentials: the access key id is what the local endpoints look up. */
export function localCredentials(roleArn: string): LocalCredentials {
  const digest = createHash('sha256').update(roleArn).digest('hex').toUpperCase();
  return { accessKeyId: `ASIALOCAL${digest.slice(0, 11)}`, secretAccessKey: digest.slice(11, 51), sessionToken: `local-${digest.slice(0, 16)}` };
}

export interface LocalLambdaOptions {
  readonly endpoints: LocalEndpoints;
  /** Variables set on every function, as `aws lambda update-function-configuration` would (tests). */
  readonly environmentOverrides?: Readonly<Record<string, string>>;
  /** Further variables of one function (the local runtime's own services that only it is told about). */
  readonly functionEnvironment?: (fn: LocalFunction) => Readonly<Record<string, string>>;
  /** Drop the functions' stdout/stderr (tests). */
  readonly quiet?: boolean;
  /** Execution environments per function at most; further invocations wait (default 32). */
  readonly maxConcurrency?: number;
}

interface Environment {
  worker: Worker;
  ready: Promise<void>;
  pending?: { id: string; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
  dead: boolean;
}

interface Pool {
  fn: LocalFunction;
  idle: Environment[];
  all: Set<Environment>;
  waiting: (() => void)[];
}

export class LocalLambda {
  private readonly pools = new Map<string, Pool>();
  private closed = false;
  /** Invocations by function logical id (tests and the grants report). */
  readonly invocations = new Map<string, number>();

  constructor(
    readonly deployment: LocalDeployment,
    private readonly bundles: BundleMap,
    private readonly opts: LocalLambdaOptions,
  ) {}

  /** The environment `fn` runs with: exactly its template variables plus what Lambda itself sets. */
  environmentOf(fn: LocalFunction): Record<string, string> {
    const { endpoints } = this.opts;
    const credentials = localCredentials(fn.role.arn);
    return {
      ...fn.environment,
      ...this.opts.environmentOverrides,
      ...this.opts.functionEnvironment?.(fn),
      AWS_REGION: this.deployment.region,
      AWS_DEFAULT_REGION: this.deployment.region,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken,
      TZ: 'UTC',
      // Local only: the service endpoints of the local runtime stand where AWS's regional endpoints are.
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SFN: endpoints.sfn,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventBridge,
      ...(endpoints.s3 ? { AWS_ENDPOINT_URL_S3: endpoints.s3 } : {}),
      // The SDK warns once per environment that it will drop Node 20 (the local Node.js, not Lambda's).
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  }

  /** Invoke `ref` (ARN, qualified ARN or name) synchronously with `event`; answers the parsed result. */
  async invoke(ref: string, event: unknown): Promise<unknown> {
    const fn = this.deployment.functionByArnOrName(ref);
    if (!fn) throw new LambdaInvokeError({ errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${ref}` });
    const payload = JSON.stringify(event ?? null);
    if (Buffer.byteLength(payload) > MAX_REQUEST_BYTES) {
      throw new LambdaInvokeError({ errorType: 'RequestTooLargeException', errorMessage: `Request must be smaller than ${MAX_REQUEST_BYTES} bytes for the InvokeFunction operation` });
    }
    this.invocations.set(fn.logicalId, (this.invocations.get(fn.logicalId) ?? 0) + 1);
    const pool = this.poolOf(fn);
    const env = await this.acquire(pool);
    try {
      return await this.run(pool, env, payload);
    } finally {
      this.release(pool, env);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pools.values()].flatMap((p) => [...p.all]);
    this.pools.clear();
    await Promise.all(all.map((e) => e.worker.terminate().catch(() => undefined)));
  }

  private poolOf(fn: LocalFunction): Pool {
    let pool = this.pools.get(fn.logicalId);
    if (!pool) {
      pool = { fn, idle: [], all: new Set(), waiting: [] };
      this.pools.set(fn.logicalId, pool);
    }
    return pool;
  }

  private async acquire(pool: Pool): Promise<Environment> {
    for (;;) {
      if (this.closed) throw new LambdaInvokeError({ errorType: 'ServiceException', errorMessage: 'The local Lambda service is shut down' });
      const idle = pool.idle.pop();
      if (idle && !idle.dead) return idle;
      if (pool.all.size < (this.opts.maxConcurrency ?? 32)) return this.spawn(pool);
      await new Promise<void>((resolve) => pool.waiting.push(resolve));
    }
  }

  private release(pool: Pool, env: Environment): void {
    if (!env.dead && !this.closed) pool.idle.push(env);
    pool.waiting.shift()?.();
  }

  private spawn(pool: Pool): Environment {
    const { fn } = pool;
    const bundle = fn.entry ? this.bundles[fn.entry] : undefined;
    if (!bundle) throw new LambdaInvokeError({ errorType: 'Runtime.ImportModuleError', errorMessage: `No local bundle for ${fn.logicalId}` });
    const quiet = this.opts.quiet ?? false;
    const worker = new Worker(WORKER_FILE, {
      env: this.environmentOf(fn),
      workerData: { bundle, entry: fn.entry },
      // The environment's output comes through here, line by line, as CloudWatch Logs receives it.
      stdout: true,
      stderr: true,
      // Lambda's memory setting bounds the heap of the environment.
      resourceLimits: { maxOldGenerationSizeMb: Math.max(128, fn.memoryMb) },
    });
    for (const [stream, write] of [
      [worker.stdout, (line: string) => console.log(line)],
      [worker.stderr, (line: string) => console.error(line)],
    ] as const) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        if (!quiet) for (const line of lines) if (line) write(line);
      });
      stream.on('end', () => {
        if (!quiet && buffered) write(buffered);
      });
    }
    const env: Environment = { worker, ready: Promise.resolve(), dead: false };
    pool.all.add(env);
    env.ready = new Promise<void>((resolve, reject) => {
      const onFirst = (msg: { ready?: boolean; error?: LambdaErrorShape }) => {
        if (!('ready' in msg)) return;
        worker.off('message', onFirst);
        if (msg.ready) resolve();
        else reject(new LambdaInvokeError(msg.error ?? { errorType: 'Runtime.ImportModuleError', errorMessage: 'init failed' }));
      };
      worker.on('message', onFirst);
      worker.once('exit', () => reject(new LambdaInvokeError({ errorType: 'Runtime.ExitError', errorMessage: 'The environment exited during init' })));
    });
    env.ready.catch(() => this.retire(pool, env));
    worker.on('message', (msg: { id?: string; ok?: boolean; result?: string; error?: LambdaErrorShape; fatal?: boolean }) => {
      const p = env.pending;
      if (!p || msg.id !== p.id) return;
      env.pending = undefined;
      clearTimeout(p.timer);
      if (msg.fatal) this.retire(pool, env);
      if (msg.ok) {
        if (Buffer.byteLength(msg.result ?? '') > MAX_RESPONSE_BYTES) {
          p.reject(new LambdaInvokeError({ errorType: 'Function.ResponseSizeTooLarge', errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).` }));
        } else p.resolve(JSON.parse(msg.result ?? 'null'));
      } else p.reject(new LambdaInvokeError(msg.error!));
    });
    worker.on('error', (e) => {
      const p = env.pending;
      env.pending = undefined;
      this.retire(pool, env);
      if (p) {
        clearTimeout(p.timer);
        p.reject(new LambdaInvokeError({ errorType: 'Runtime.ExitError', errorMessage: String(e) }));
      }
    });
    worker.on('exit', () => {
      const p = env.pending;
      env.pending = undefined;
      this.retire(pool, env);
      if (p) {
        clearTimeout(p.timer);
        p.reject(new LambdaInvokeError({ errorType: 'Runtime.ExitError', errorMessage: 'The execution environment exited' }));
      }
    });
    return env;
  }

  private retire(pool: Pool, env: Environment): void {
    if (env.dead) return;
    env.dead = true;
    pool.all.delete(env);
    pool.idle = pool.idle.filter((e) => e !== env);
    void env.worker.terminate().catch(() => undefined);
    pool.waiting.shift()?.();
  }

  private async run(pool: Pool, env: Environment, payload: string): Promise<unknown> {
    await env.ready;
    const { fn } = pool;
    const id = randomUUID();
    const timeoutMs = fn.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (env.pending?.id !== id) return;
        env.pending = undefined;
        // Lambda ends the environment of a timed-out invocation.
        this.retire(pool, env);
        reject(new LambdaInvokeError({ errorType: 'Sandbox.Timedout', errorMessage: `${id} Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds` }));
      }, timeoutMs);
      env.pending = { id, resolve, reject, timer };
      env.worker.postMessage({
        id,
        event: payload,
        context: {
          awsRequestId: id,
          functionName: fn.name,
          functionVersion: '$LATEST',
          invokedFunctionArn: fn.arn,
          memoryLimitInMB: String(fn.memoryMb),
          logGroupName: `/aws/lambda/${fn.name}`,
          logStreamName: `local/${id}`,
          deadline: Date.now() + timeoutMs,
        },
      });
    });
  }
}
