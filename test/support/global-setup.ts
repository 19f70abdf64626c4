// Starts ONE in-memory DynamoDB Local for the whole test run and hands its endpoint to the test files
// (inject('dynamoDbEndpoint'); test/support/ddb.ts wires it up). Each test file then works in its own
// tables under a unique prefix, so files run in parallel against the same emulator.
//
// DCP_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 reuses an emulator that is already running instead.
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // The SDK warns once per process that it will drop Node 20 in 2027; the workers inherit this.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const external = process.env.DCP_TEST_DYNAMODB_ENDPOINT;
  if (external) {
    project.provide('dynamoDbEndpoint', external);
    return undefined;
  }
  let emulator: DynamoDbLocal;
  try {
    emulator = await startDynamoDbLocal({ port: 0 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `The tests need DynamoDB Local and it did not start.\n${reason}\n` +
        '(Or set DCP_TEST_DYNAMODB_ENDPOINT to an emulator that is already running.)',
      { cause: error },
    );
  }
  project.provide('dynamoDbEndpoint', emulator.endpoint);
  return () => emulator.stop();
}
