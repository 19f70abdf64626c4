// Starts and stops DynamoDB Local (the emulator fetched by scripts/fetch-dynamodb-local.ts) for `npm start`
// and the tests. The emulator must never outlive the process that started it: on POSIX it runs under a small
// sh watchdog that kills it as soon as our end of its stdin pipe closes, which happens however we die,
// SIGKILL included; stop() and an exit hook kill it on the orderly paths.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { checkJava, ensureDynamoDbLocal } from '../scripts/fetch-dynamodb-local.js';

export interface DynamoDbLocalOptions {
  /** Port to listen on (all interfaces; DynamoDB Local has no bind-address option). 0 = pick a free one. */
  readonly port?: number;
  /** Folder for the database file (created if missing); undefined = in memory, gone on stop. */
  readonly dbPath?: string;
  /** Extra JVM options, e.g. ['-Xmx512m']. */
  readonly javaOptions?: readonly string[];
  /** Give up when it does not answer within this time. */
  readonly startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly port: number;
  /** Settles when the emulator exits, for whatever reason (stop() or a crash). */
  readonly exited: Promise<ExitStatus>;
  /** Kills the emulator and resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines it printed (stdout and stderr), for error messages. */
  readonly output: string;
}

/** A client for DynamoDB Local: any region and credentials do, since it runs with -sharedDb. */
export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

// No web page may call the emulator from a browser (it answers any credentials): allow only an origin that
// cannot exist (.invalid never resolves), instead of DynamoDB Local's default '*'.
const CORS_ALLOW_LIST = 'https://dcp.invalid';

// Runs "$@" (java ...) in the background; kills it on SIGTERM/SIGINT/SIGHUP or when stdin reaches EOF, i.e.
// when the parent Node process is gone; exits with java's status only after java has exited.
const WATCHDOG = `
exec 3<&0
"$@" </dev/null &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
( while read -r _ <&3; do :; done; kill -TERM "$child" 2>/dev/null ) &
watcher=$!
code=0
wait "$child" || code=$?
while kill -0 "$child" 2>/dev/null; do wait "$child" || code=$?; done
kill "$watcher" 2>/dev/null
exit "$code"
`;

const STOP_GRACE_MS = 5_000;
const OUTPUT_LINES = 60;

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const [dir, java] = await Promise.all([ensureDynamoDbLocal(), checkJava()]);
  const dbPath = options.dbPath === undefined ? undefined : resolve(options.dbPath);
  if (dbPath) await mkdir(dbPath, { recursive: true });
  const storage = dbPath ? ['-dbPath', dbPath] : ['-inMemory'];
  const timeoutMs = options.startTimeoutMs ?? 60_000;

  // A free port found by us can be taken before java binds it; with a port of our choosing, try again.
  const attempts = options.port ? 1 : 3;
  for (let attempt = 1; ; attempt++) {
    const port = options.port || (await freePort());
    const args = [
      ...(options.javaOptions ?? []),
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      '-port',
      String(port),
      '-disableTelemetry',
      '-sharedDb',
      '-cors',
      CORS_ALLOW_LIST,
      ...storage,
    ];
    const instance = launch(java.command, args, dir, port);
    try {
      await waitUntilReady(instance, timeoutMs);
      return instance;
    } catch (error) {
      await instance.stop();
      const status = await instance.exited;
      const portTaken = /BindException|Address already in use/i.test(status.output);
      if (portTaken && attempt < attempts) continue;
      throw error;
    }
  }
}

function launch(java: string, args: readonly string[], cwd: string, port: number): DynamoDbLocal {
  const posix = process.platform !== 'win32';
  const child: ChildProcess = posix
    ? spawn('/bin/sh', ['-c', WATCHDOG, 'dynamodb-local', java, ...args], {
        cwd,
        detached: true, // own process group: stop() signals the watchdog and java together
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn(java, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

  const lines: string[] = [];
  const collect = (chunk: Buffer): void => {
    lines.push(...chunk.toString().split(/\r?\n/).filter(Boolean));
    if (lines.length > OUTPUT_LINES) lines.splice(0, lines.length - OUTPUT_LINES);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let running = true;
  const killGroup = (signal: NodeJS.Signals): void => {
    if (!running || child.pid === undefined) return;
    try {
      if (posix) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // already gone
    }
  };
  const onParentExit = (): void => killGroup('SIGTERM');
  process.on('exit', onParentExit);

  const exited = new Promise<ExitStatus>((resolveExit) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (!running) return;
      running = false;
      process.off('exit', onParentExit);
      child.stdin?.destroy();
      resolveExit({ code, signal, output: lines.join('\n') });
    };
    child.on('exit', done);
    child.on('error', (error) => {
      lines.push(String(error));
      done(null, null);
    });
  });

  // Neither the emulator nor its pipes keep Node alive: a caller that never calls stop() can still exit,
  // and the exit hook or the watchdog then takes the emulator down.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!running) return;
      child.ref(); // keep Node alive until the emulator is really gone
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };

  return { endpoint: `http://127.0.0.1:${port}`, port, exited, stop };
}

async function waitUntilReady(instance: DynamoDbLocal, timeoutMs: number): Promise<void> {
  const client = new DynamoDBClient({
    endpoint: instance.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  let exitedEarly: ExitStatus | undefined;
  void instance.exited.then((status) => (exitedEarly = status));
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      if (exitedEarly) {
        throw new Error(
          `DynamoDB Local exited during startup (${exitedEarly.signal ?? `code ${exitedEarly.code}`}):\n` +
            exitedEarly.output,
        );
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        lastError = error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`DynamoDB Local did not answer on ${instance.endpoint} within ${timeoutMs} ms`, {
      cause: lastError,
    });
  } finally {
    client.destroy();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
