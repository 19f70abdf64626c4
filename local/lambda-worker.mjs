// One Lambda execution environment of the local runtime (local/lambda.ts): a worker thread whose
// process.env is exactly the function's environment, which loads the function's bundle once (the cold
// start) and then runs one invocation at a time, answering results and errors the way the Lambda Node.js
// runtime reports them ({errorType, errorMessage, trace}).
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

let current;

function errorShape(error) {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    errorType: e.name && e.name !== 'Error' ? e.name : (e.constructor?.name ?? 'Error'),
    errorMessage: e.message,
    trace: String(e.stack ?? '').split('\n'),
  };
}

// As the Lambda runtime does: an unhandled rejection fails the invocation and ends the environment.
process.on('unhandledRejection', (reason) => {
  const shape = errorShape(reason);
  parentPort.postMessage({ id: current, ok: false, fatal: true, error: { ...shape, errorType: 'Runtime.UnhandledPromiseRejection' } });
  process.exit(1);
});

let handler;
try {
  const mod = await import(pathToFileURL(workerData.bundle).href);
  handler = mod.handler;
  if (typeof handler !== 'function') throw Object.assign(new Error(`${workerData.entry} exports no handler`), { name: 'Runtime.HandlerNotFound' });
  parentPort.postMessage({ ready: true });
} catch (e) {
  parentPort.postMessage({ ready: false, error: { ...errorShape(e), errorType: e?.name?.startsWith?.('Runtime.') ? e.name : 'Runtime.ImportModuleError' } });
}

parentPort.on('message', async ({ id, event, context }) => {
  current = id;
  const ctx = {
    ...context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, context.deadline - Date.now()),
  };
  try {
    const result = await handler(JSON.parse(event), ctx);
    parentPort.postMessage({ id, ok: true, result: result === undefined ? 'null' : JSON.stringify(result) });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: errorShape(e) });
  }
});
