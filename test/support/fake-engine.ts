// A stand-in Step Functions for tests that must control what the engine answers (a refused start, recorded
// stops): installed at the local Step Functions endpoint, after IAM has judged the caller, so the functions
// still make their real SDK calls with their own roles. The WorkflowEngine methods get the kind of state
// machine and the execution name, as the adapter (functions/adapters/engine.ts) speaks them.
import type { EngineKind, WorkflowEngine } from '../../functions/adapters/engine.js';
import type { LocalRuntime } from '../../local/runtime.js';

const KINDS: readonly EngineKind[] = ['provisioning', 'update', 'rollout-wave', 'rollout'];

function kindOf(arn: string): EngineKind {
  const name = /:(?:stateMachine|execution):([^:]+)/.exec(arn)?.[1] ?? '';
  const kind = KINDS.find((k) => name.endsWith(`-${k}`));
  if (!kind) throw new Error(`not a state machine of the stack: ${arn}`);
  return kind;
}

const executionName = (arn: string) => arn.split(':').pop()!;

/** Route the runtime's Step Functions calls to `engine`; answers a function that removes it. */
export function useFakeEngine(runtime: LocalRuntime, engine: WorkflowEngine): () => void {
  return runtime.aws.intercept('sfn', async (op, input) => {
    switch (op) {
      case 'StartExecution': {
        const out = await engine.start(kindOf(input.stateMachineArn), input.name, JSON.parse(input.input ?? '{}'));
        return { executionArn: out.executionArn, startDate: Date.now() / 1000 };
      }
      case 'StopExecution':
        await engine.stop(kindOf(input.executionArn), executionName(input.executionArn), input.error ?? '', input.cause ?? '');
        return { stopDate: Date.now() / 1000 };
      case 'SendTaskSuccess':
        await engine.sendTaskSuccess(input.taskToken, JSON.parse(input.output ?? '{}'));
        return {};
      case 'SendTaskFailure':
        await engine.sendTaskFailure(input.taskToken, input.error ?? '', input.cause ?? '');
        return {};
      case 'SendTaskHeartbeat':
        await engine.sendTaskHeartbeat(input.taskToken);
        return {};
      case 'GetExecutionHistory':
        return { events: [] };
      default:
        return undefined;
    }
  });
}
