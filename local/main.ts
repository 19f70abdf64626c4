// `npm start`: the whole control plane on one machine (SPEC §9). Fetches and starts DynamoDB Local with its
// data under DCP_DATA_DIR, creates the tables, and starts the local runtime (local/runtime.ts: bootstrap
// admin token, API server, workflow runner, secret store, simulated agent, recovery of lost runs); on
// SIGINT/SIGTERM it stops everything it started, in reverse order, and exits 0. Runs in progress at a stop
// are left RUNNING and recovered (compensated as lost) at the next start, the same way as after a crash.
//
// Environment: PORT (default 3000), HOST (default 127.0.0.1), DCP_ADMIN_TOKEN (generated on first start and
// kept in DCP_DATA_DIR/admin-token when unset), DCP_DATA_DIR (default .dcp/), DCP_DYNAMODB_PORT (default: a
// free port).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { localDynamoDbClient, startDynamoDbLocal } from './dynamodb-local.js';
import { createTables } from './tables.js';

const TABLE_PREFIX = 'dcp_';

type Stop = () => Promise<void>;
const stops: Stop[] = [];
let shuttingDown = false;

async function main(): Promise<void> {
  const started = Date.now();
  const dataDir = resolve(process.env.DCP_DATA_DIR || '.dcp');
  const port = parsePort('PORT', process.env.PORT, 3000);
  const dynamoDbPort = parsePort('DCP_DYNAMODB_PORT', process.env.DCP_DYNAMODB_PORT, 0);
  const host = process.env.HOST || '127.0.0.1';

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await lockDataDir(dataDir);
  stops.push(() => rm(join(dataDir, 'dcp.pid'), { force: true }));

  const dynamoDb = await startDynamoDbLocal({ port: dynamoDbPort, dbPath: join(dataDir, 'dynamodb') });
  stops.push(() => dynamoDb.stop());
  void dynamoDb.exited.then((status) => {
    if (shuttingDown) return;
    console.error(`DynamoDB Local stopped unexpectedly (${status.signal ?? `code ${status.code}`}):\n${status.output}`);
    void shutdown(1);
  });

  const client = localDynamoDbClient(dynamoDb.endpoint);
  try {
    await createTables(client, TABLE_PREFIX);
  } finally {
    client.destroy();
  }
  // This process's own adapter calls (recovery, the bootstrap token) go to DynamoDB Local directly.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoDb.endpoint;

  // Imported only now: the adapters read the environment set above.
  const { startLocalRuntime } = await import('./runtime.js');
  const runtime = await startLocalRuntime({ tablePrefix: TABLE_PREFIX, dataDir, port, host, adminToken: await adminTokenFor(dataDir) });
  stops.push(() => runtime.close());
  const { adminToken } = runtime;

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    [
      '',
      `Deployment Control Plane listening on ${runtime.url} (ready in ${seconds} s)`,
      `Admin token:     ${adminToken}`,
      `Data:            ${dataDir}`,
      `DynamoDB Local:  ${dynamoDb.endpoint} (tables ${TABLE_PREFIX}*)`,
      ...(runtime.recovered.length ? [`Recovered:       ${runtime.recovered.length} run(s) lost by the last stop, compensated`] : []),
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
}

/** DCP_ADMIN_TOKEN wins; otherwise the token kept in the data folder, created (mode 0600) on first start. */
async function adminTokenFor(dataDir: string): Promise<string> {
  if (process.env.DCP_ADMIN_TOKEN) return process.env.DCP_ADMIN_TOKEN;
  const file = join(dataDir, 'admin-token');
  try {
    const saved = (await readFile(file, 'utf8')).trim();
    if (saved) return saved;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = `dcp-admin-${randomBytes(24).toString('base64url')}`;
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await rename(tmp, file);
  return token;
}

/** One runtime per data folder: two DynamoDB Locals on one database file would corrupt it. */
async function lockDataDir(dataDir: string): Promise<void> {
  const file = join(dataDir, 'dcp.pid');
  for (;;) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new Error(`Another control plane (pid ${owner}) is using ${dataDir}; stop it or set DCP_DATA_DIR.`);
    }
    await rm(file, { force: true }); // left behind by a process that is gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parsePort(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} must be a port number, got "${value}"`);
  return port;
}

async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const stop of stops.reverse()) {
    try {
      await stop();
    } catch (error) {
      console.error(error);
    }
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (shuttingDown) process.exit(1); // a second Ctrl+C: stop waiting (the emulator's watchdog still kills it)
    console.log(`\n${signal}: stopping`);
    void shutdown(0);
  });
}

main().catch((error: unknown) => {
  console.error(describeError(error));
  void shutdown(1);
});

/** The message and its causes; the stack only with DCP_DEBUG set (start-up failures are mostly setup). */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (process.env.DCP_DEBUG) return error.stack ?? error.message;
  const lines = [`Cannot start: ${error.message}`];
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause) lines.push(`  caused by: ${cause.message}`);
  lines.push('(DCP_DEBUG=1 shows the stack)');
  return lines.join('\n');
}
