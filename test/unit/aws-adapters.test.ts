// The adapters for services with no local emulator here (Step Functions, Secrets Manager), against
// aws-sdk-client-mock: the exact commands each operation sends.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  GetExecutionHistoryCommand,
  SFNClient,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { StepFunctionsEngine, TaskNotWaitingError, executionArnOf } from '../../functions/adapters/engine.js';
import { SecretOwnedElsewhereError, SecretsManagerStore } from '../../functions/adapters/secrets.js';

const SM_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Provisioning';

describe('StepFunctionsEngine', () => {
  const sfn = mockClient(SFNClient);
  const engine = new StepFunctionsEngine(new SFNClient({ region: 'eu-west-1' }));
  beforeEach(() => {
    process.env.DCP_STATE_MACHINE_PROVISIONING = SM_ARN;
  });
  afterEach(() => {
    sfn.reset();
    delete process.env.DCP_STATE_MACHINE_PROVISIONING;
  });

  it('starts a named execution with the JSON input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${SM_ARN}:x`, startDate: new Date() });
    const out = await engine.start('provisioning', 'provision-t1-abc', { execution: { id: 'provision-t1-abc' } });
    expect(out.executionArn).toBe(`${SM_ARN}:x`);
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: SM_ARN, name: 'provision-t1-abc', input: '{"execution":{"id":"provision-t1-abc"}}' },
    ]);
  });

  it('completes, fails and keeps alive waits with the task token', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    sfn.on(SendTaskHeartbeatCommand).resolves({});
    await engine.sendTaskSuccess('tok-1', { summary: 'ok' });
    await engine.sendTaskFailure('tok-2', 'Blocked.MigrationFailed', '{"step":"Run migrations"}');
    await engine.sendTaskHeartbeat('tok-3');
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input).toEqual({ taskToken: 'tok-1', output: '{"summary":"ok"}' });
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input).toEqual({ taskToken: 'tok-2', error: 'Blocked.MigrationFailed', cause: '{"step":"Run migrations"}' });
    expect(sfn.commandCalls(SendTaskHeartbeatCommand)[0]!.args[0].input).toEqual({ taskToken: 'tok-3' });
  });

  it('reports a token nobody waits on as TaskNotWaitingError', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'timed out', $metadata: {} }));
    await expect(engine.sendTaskSuccess('tok', {})).rejects.toBeInstanceOf(TaskNotWaitingError);
  });

  it('stops and reads history by the execution ARN derived from the name', async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: [{ id: 1, timestamp: new Date(0), type: 'ExecutionStarted', executionStartedEventDetails: { input: '{}' } }], nextToken: 'n' })
      .resolvesOnce({ events: [{ id: 2, timestamp: new Date(1), type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Allocate target' } }] });
    await engine.stop('provisioning', 'run-1', 'RolloutHalted', 'halted by operator');
    const arn = executionArnOf(SM_ARN, 'run-1');
    expect(arn).toBe('arn:aws:states:eu-west-1:123456789012:execution:Provisioning:run-1');
    expect(sfn.commandCalls(StopExecutionCommand)[0]!.args[0].input).toEqual({ executionArn: arn, error: 'RolloutHalted', cause: 'halted by operator' });
    const events = await engine.history('provisioning', 'run-1');
    expect(events.map((e) => [e.id, e.type, e.state])).toEqual([[1, 'ExecutionStarted', undefined], [2, 'TaskStateEntered', 'Allocate target']]);
    expect(sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, 'n']);
  });
});

describe('SecretsManagerStore', () => {
  const sm = mockClient(SecretsManagerClient);
  const store = new SecretsManagerStore(new SecretsManagerClient({ region: 'eu-west-1' }));
  afterEach(() => sm.reset());

  it('creates a tagged secret', async () => {
    sm.on(CreateSecretCommand).resolves({ ARN: 'arn:secret:1' });
    expect(await store.create('dcp/t1/APP_KEY', 'v', 'exec-1')).toEqual({ name: 'dcp/t1/APP_KEY', ref: 'arn:secret:1' });
    expect(sm.commandCalls(CreateSecretCommand)[0]!.args[0].input).toEqual({
      Name: 'dcp/t1/APP_KEY',
      SecretString: 'v',
      Tags: [{ Key: 'dcp:created-by', Value: 'exec-1' }],
    });
  });

  it('a retry that finds its own secret succeeds; someone else\'s is an error', async () => {
    sm.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    sm.on(DescribeSecretCommand).resolves({ ARN: 'arn:secret:1', Tags: [{ Key: 'dcp:created-by', Value: 'exec-1' }] });
    expect((await store.create('dcp/t1/APP_KEY', 'v', 'exec-1')).ref).toBe('arn:secret:1');
    await expect(store.create('dcp/t1/APP_KEY', 'v', 'exec-2')).rejects.toBeInstanceOf(SecretOwnedElsewhereError);
  });

  it('deletes without a recovery window and ignores a missing secret', async () => {
    sm.on(DeleteSecretCommand).resolvesOnce({}).rejectsOnce(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    await store.delete('dcp/t1/APP_KEY');
    await store.delete('dcp/t1/APP_KEY');
    expect(sm.commandCalls(DeleteSecretCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: 'dcp/t1/APP_KEY', ForceDeleteWithoutRecovery: true },
      { SecretId: 'dcp/t1/APP_KEY', ForceDeleteWithoutRecovery: true },
    ]);
  });
});
