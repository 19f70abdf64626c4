// The local runtime in a process of its own, for tests that kill it (test/integration/workflow-crash.test.ts):
// `node --import tsx test/support/runtime-process.ts`. It works on the DynamoDB Local tables the environment
// names (DCP_DYNAMODB_ENDPOINT, DCP_TABLE_PREFIX) and on DCP_DATA_DIR, with the bootstrap admin token
// DCP_ADMIN_TOKEN and the simulated agent answering after DCP_AGENT_ANSWER_DELAY_MS; retries wait 0 ms.
// When it listens it prints one JSON line `{"url": ...}` on stdout, then runs until it is killed.
import { startLocalRuntime } from '../../local/runtime.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

for (const name of ['DCP_DYNAMODB_ENDPOINT', 'DCP_TABLE_PREFIX']) required(name);
const runtime = await startLocalRuntime({
  dataDir: required('DCP_DATA_DIR'),
  adminToken: required('DCP_ADMIN_TOKEN'),
  agentAnswerDelayMs: Number(process.env.DCP_AGENT_ANSWER_DELAY_MS ?? 0),
  retryIntervalMs: 0,
});
process.stdout.write(`${JSON.stringify({ url: runtime.url, recovered: runtime.recovered })}\n`);
