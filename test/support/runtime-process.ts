// The local runtime in a process of its own, for tests that kill it (test/integration/workflow-crash.test.ts):
// `node --import tsx test/support/runtime-process.ts`. It works on the DynamoDB Local tables the environment
// names (AWS_ENDPOINT_URL_DYNAMODB, DCP_TABLE_PREFIX) and on DCP_DATA_DIR, with the bootstrap admin token
// DCP_ADMIN_TOKEN and the simulated agent answering after DCP_AGENT_ANSWER_DELAY_MS; retries wait 0 ms.
// When it listens it prints one JSON line `{"url": ...}` on stdout, then runs until it is killed.
import { startLocalRuntime } from '../../local/runtime.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

required('AWS_ENDPOINT_URL_DYNAMODB');
const runtime = await startLocalRuntime({
  tablePrefix: required('DCP_TABLE_PREFIX'),
  dataDir: required('DCP_DATA_DIR'),
  adminToken: required('DCP_ADMIN_TOKEN'),
  agentAnswerDelayMs: Number(process.env.DCP_AGENT_ANSWER_DELAY_MS ?? 0),
  retryIntervalMs: 0,
});
process.stdout.write(`${JSON.stringify({ url: runtime.url, recovered: runtime.recovered })}\n`);
