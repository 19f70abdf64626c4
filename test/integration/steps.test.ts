// The step functions as deployed: every step is invoked through the local runtime's Lambda service
// (h.invokeState: the function the deployed state machine's Task state names), so it runs in its own
// worker with exactly its synthesized environment and every AWS call it makes is judged against its own
// IAM policy. Assertions read the runtime's real pieces: the local secret store, the commands and
// executions tables (adapters in this process, straight to DynamoDB Local), the simulated agents' answers,
// the IAM denials and the workflow engine. Commands and WAITING, secrets that never leak, the block
// branch, compensation and the reconciler.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { useLocalRuntime, taskFunctionArn } from '../support/local-runtime.js';
import { licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { provision, publishRelease, registerTarget as registerReadyTarget, releaseSigner, trustSigner, until } from '../support/workflow-fixtures.js';
import { targetStream, type AuditRecord } from '../../functions/core/audit.js';
import { DEFAULT_POLICIES, type DeploymentMode } from '../../functions/core/policies.js';
import type { TargetRecord } from '../../functions/core/records.js';
import { generateRecipientKeyPair, openSecrets, type SecretBox } from '../../functions/core/secret-box.js';
import { stepByState, type ExecutionInput, type ExecutionRecord, type StepPayload } from '../../functions/core/workflows.js';
import { listAudit, verifyStream } from '../../functions/adapters/audit.js';
import { commandId, getCommand, listCommandsOfTarget } from '../../functions/adapters/commands.js';
import { ddb } from '../../functions/adapters/dynamo.js';
import { getExecution, newExecutionItem } from '../../functions/adapters/executions.js';
import { revokeLicense } from '../../functions/adapters/licenses.js';
import { putPolicy } from '../../functions/adapters/policies.js';
import { targetSecretName } from '../../functions/adapters/secrets.js';
import { getTarget, updateTarget } from '../../functions/adapters/targets.js';
import { blockedError } from '../../functions/steps/lib/errors.js';
import { compensate } from '../../functions/steps/lib/compensate.js';
import type { ExecutionStatusChangeEvent } from '../../functions/steps/reconcile.js';
import { LambdaInvokeError, localCredentials } from '../../local/lambda.js';

const h = useLocalRuntime();
const signer = releaseSigner('steps');
const SMTP_CANARY = 'CANARY-smtp-value-3b9d41';
const RELEASE_ID = '2.4.0';
/** Published signed by a key revoked afterwards (bind release). */
const REVOKED_RELEASE_ID = '2.4.1';

beforeAll(async () => {
  await trustSigner(h, signer);
  // No runtime requirements: the targets here have no attestation.
  await publishRelease(h, signer, RELEASE_ID, { runtime: {} });
  // White-label targets here need one secret of every source.
  await putPolicy(
    'secrets',
    0,
    { required: { ...DEFAULT_POLICIES.secrets.required, 'white-label': { APP_KEY: 'generated', SMTP_PASSWORD: 'secrets-manager', PARTNER_TOKEN: 'customer-provided' } } },
    'test',
    new Date(),
  );
});

let counter = 0;

interface Scenario {
  targetId: string;
  executionId: string;
  input: ExecutionInput['execution'];
  recipient: { publicKey: string; privateKey: string };
  payload(state: string, attempt?: number, extra?: Partial<StepPayload>): StepPayload;
}

/**
 * A registered target (through the API, so a simulated one has its agent in the runtime) held by a run
 * whose execution record exists; the steps are then invoked one by one with that run's payloads.
 */
async function scenario(mode: DeploymentMode, options: { kind?: 'provisioning' | 'update'; encryptionKey?: boolean; simulated?: boolean; releaseId?: string } = {}): Promise<Scenario> {
  const kind = options.kind ?? 'provisioning';
  const targetId = `tgt-steps-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const licenseId = `lic-${targetId}`;
  const lic = await h.call('POST', '/licenses', { body: licenseBody(licenseId) });
  expect(lic.status, lic.text).toBe(201);
  const recipient = generateRecipientKeyPair();
  const reg = await h.call('POST', '/targets', {
    body: targetBody(targetId, mode, licenseId, targetKeys().publicKey, {
      ...(options.encryptionKey === false ? {} : { encryptionKey: recipient.publicKey }),
      ...(options.simulated ? { agent: 'simulated' } : {}),
    }),
  });
  expect(reg.status, reg.text).toBe(201);
  const now = new Date();
  const target = (await getTarget(targetId))!;
  const changes: Partial<TargetRecord> = kind === 'provisioning' ? { status: 'provisioning' } : { status: 'updating', currentRelease: RELEASE_ID, installerLocked: true };
  await updateTarget(target, changes, { actor: 'test', action: 'workflow.started', details: {} }, now);
  const executionId = `${kind === 'provisioning' ? 'provision' : 'update'}-${targetId}-0123456789abcdef`;
  const input: ExecutionInput['execution'] = {
    id: executionId,
    kind,
    targetId,
    releaseId: options.releaseId ?? RELEASE_ID,
    mode,
    ...(target.strategy ? { strategy: target.strategy } : {}),
    ...(kind === 'update' ? { previousRelease: RELEASE_ID } : {}),
    startedAt: now.toISOString(),
  };
  const record: ExecutionRecord = {
    id: executionId, kind, targetId, releaseId: input.releaseId, status: 'RUNNING', startedAt: now.toISOString(), steps: [], effects: {}, idempotencyKey: `key-${targetId}`, version: 1,
  };
  await ddb().send(new PutCommand(newExecutionItem(record).Put));
  return {
    targetId,
    executionId,
    input,
    recipient,
    payload: (state, attempt = 0, extra = {}) => ({ step: state, execution: input, attempt, taskToken: `token-${state}-${attempt}`, ...extra }),
  };
}

/** Invoke the deployed function of `state` with the run's payload for that state. */
const step = (s: Scenario, state: string, attempt = 0, extra: Partial<StepPayload> = {}) => h.invokeState(state, s.payload(state, attempt, extra));

async function auditOf(targetId: string): Promise<AuditRecord[]> {
  return (await listAudit(targetStream(targetId), 1000, 0)).items;
}

interface Failure {
  /** The Lambda errorType (what the state machine's Retry/Catch match). */
  name: string;
  /** The step error's message: its cause document. */
  message: string;
  /** The whole Lambda error shape as text: what Step Functions puts in Cause. */
  lambdaCause: string;
}

async function failureOf(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(LambdaInvokeError);
    const err = e as LambdaInvokeError;
    return { name: err.name, message: err.shape.errorMessage, lambdaCause: err.message };
  }
  throw new Error('expected the step to fail');
}

const stepOf = (record: ExecutionRecord | undefined, key: string) => record?.steps.find((s) => s.name === key);

const secretNamesOf = async (targetId: string) => (await h.runtime.secrets.list(`dcp/${targetId}/`)).map((s) => s.name);

/** Every value the local secret store holds under the target (to search outputs for them). */
async function secretValuesOf(targetId: string): Promise<string[]> {
  const names = await secretNamesOf(targetId);
  return Promise.all(names.map(async (n) => (await h.runtime.secrets.read(n))!));
}

/** The ARN the local Secrets Manager gives a secret (its name and six hex characters), as AWS names them. */
const secretArn = (name: string) =>
  `arn:aws:secretsmanager:${h.runtime.deployment.region}:${h.runtime.deployment.account}:secret:${name}-${createHash('sha256').update(name).digest('hex').slice(0, 6)}`;

const answersOf = (targetId: string) => h.runtime.agent.answers.filter((a) => a.targetId === targetId);

/** The reconciler as EventBridge invokes it with a Step Functions status change of a provisioning run. */
function reconcile(name: string, status: 'ABORTED' | 'TIMED_OUT' | 'FAILED' | 'SUCCEEDED', error?: string, kind: 'provisioning' | 'update' = 'provisioning') {
  const reconciler = h.runtime.deployment.functionByEntry('functions/steps/reconcile.ts');
  if (!reconciler) throw new Error('the stack has no reconciler function');
  return h.runtime.lambda.invoke(reconciler.arn, statusEvent(name, status, kind, error)) as Promise<any>;
}

function statusEvent(name: string, status: 'ABORTED' | 'TIMED_OUT' | 'FAILED' | 'SUCCEEDED', kind: 'provisioning' | 'update', error?: string): ExecutionStatusChangeEvent {
  const stateMachineArn = h.runtime.engine.stateMachineArn(kind);
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  return {
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: h.runtime.deployment.account,
    time: new Date().toISOString(),
    region: h.runtime.deployment.region,
    resources: [executionArn],
    detail: { executionArn, stateMachineArn, name, status, startDate: Date.now() - 60_000, stopDate: Date.now(), error: error ?? null, cause: null },
  };
}

describe('command steps', () => {
  it('store one command per attempt and mark the step WAITING', async () => {
    const s = await scenario('saas');
    const first = await step(s, 'Run migrations', 0);
    expect(first).toEqual({ summary: 'Sent run-migrations to the agent', commandId: commandId(s.executionId, 'runMigrations', 0), migrations: 2 });
    const second = await step(s, 'Run migrations', 1);
    expect(second.commandId).toBe(commandId(s.executionId, 'runMigrations', 1));

    const c0 = await getCommand(commandId(s.executionId, 'runMigrations', 0));
    const c1 = await getCommand(commandId(s.executionId, 'runMigrations', 1));
    expect(c0).toMatchObject({ status: 'pending', type: 'run-migrations', step: 'runMigrations', attempt: 0, taskToken: 'token-Run migrations-0', targetId: s.targetId });
    expect(c1).toMatchObject({ status: 'pending', attempt: 1, taskToken: 'token-Run migrations-1' });
    expect((c0!.payload.migrations as unknown[]).length).toBe(2);

    const record = await getExecution(s.executionId);
    expect(stepOf(record, 'runMigrations')).toMatchObject({ status: 'WAITING', attempts: 2 });
    const waiting = (await auditOf(s.targetId)).filter((r) => r.action === 'workflow.step' && r.details.status === 'WAITING');
    expect(waiting.map((r) => r.details.attempt)).toEqual([0, 1]);
    // Not a simulated target: no agent of the runtime is woken by its commands.
    await h.runtime.agent.idle();
    expect(answersOf(s.targetId)).toEqual([]);
  });

  it('a stored command wakes the simulated agent of a simulated target, which answers it', async () => {
    const s = await scenario('saas', { simulated: true });
    const result = await step(s, 'Run migrations', 0);
    const answer = await until(() => answersOf(s.targetId).find((a) => a.commandId === result.commandId));
    expect(answer).toMatchObject({ type: 'run-migrations', status: 'succeeded', httpStatus: 200 });
    // Its signed result completed the command through the API (no run waits on this test's token).
    expect((await getCommand(result.commandId as string))!.status).toBe('succeeded');
    expect(answersOf(s.targetId)).toHaveLength(1);
  });

  it('a re-invoked attempt replaces its own open command instead of adding one', async () => {
    const s = await scenario('saas');
    await step(s, 'Run migrations', 0);
    await step(s, 'Run migrations', 0, { taskToken: 'second-token' });
    expect((await getCommand(commandId(s.executionId, 'runMigrations', 0)))!.taskToken).toBe('second-token');
    expect(await getCommand(commandId(s.executionId, 'runMigrations', 1))).toBeUndefined();
    expect((await listCommandsOfTarget(s.targetId, false, 100)).items).toHaveLength(1);
  });

  it('bind release re-judges the release and sends its artifacts', async () => {
    const s = await scenario('saas');
    const result = await step(s, 'Bind release');
    const command = await getCommand(result.commandId as string);
    expect(command).toMatchObject({ type: 'install-release', payload: { releaseId: RELEASE_ID, version: RELEASE_ID } });
    expect((command!.payload.artifacts as { kind: string }[])[0]!.kind).toBe('zip');
  });

  it('bind release re-judges the signatures: a release whose only signer was revoked since publishing is not bound', async () => {
    const other = releaseSigner('steps-revoked');
    await trustSigner(h, other);
    await publishRelease(h, other, REVOKED_RELEASE_ID, { runtime: {} });
    const revoked = await h.call('POST', `/signing-keys/${other.keyId}/revoke`, { body: { reason: 'key compromised' } });
    expect(revoked.status, revoked.text).toBe(200);
    const s = await scenario('saas', { releaseId: REVOKED_RELEASE_ID });
    const e = await failureOf(step(s, 'Bind release'));
    expect(e.name).toBe('Blocked.ReleaseBindFailed');
    expect(JSON.parse(e.message).blockers.map((b: { code: string }) => b.code)).toEqual(['RELEASE_BIND_FAILED', 'RELEASE_SIGNATURE_INVALID']);
    expect((await listCommandsOfTarget(s.targetId, false, 100)).items).toEqual([]);
  });

  it('a step run by the wrong function is refused', async () => {
    const s = await scenario('saas');
    // The rollout family's function has no provisioning steps (and none of their grants).
    const e = await failureOf(h.runtime.lambda.invoke(taskFunctionArn(h.runtime, 'Plan rollout'), s.payload('Bind release')));
    expect(e.name).toBe('Step.Unknown');
    expect((await listCommandsOfTarget(s.targetId, false, 100)).items).toEqual([]);
  });
});

describe('inject secrets', () => {
  it('creates the generated secrets once, seals values to the target key and never shows a value', async () => {
    const s = await scenario('self-hosted');
    const first = await step(s, 'Inject secrets', 0);
    const names = ['APP_KEY', 'DB_PASSWORD', 'LICENSE_TOKEN', 'REDIS_PASSWORD'].map((n) => targetSecretName(s.targetId, n));
    expect(await secretNamesOf(s.targetId)).toEqual(names);
    const stored = Object.fromEntries(await Promise.all(names.map(async (n) => [n.split('/').pop()!, (await h.runtime.secrets.read(n))!] as const)));

    // A retry finds its own secrets: no error, no new values.
    const second = await step(s, 'Inject secrets', 1);
    expect(await secretNamesOf(s.targetId)).toEqual(names);
    for (const n of names) {
      expect((await h.runtime.secrets.describe(n))!.createdBy).toBe(s.executionId);
      expect(await h.runtime.secrets.read(n)).toBe(stored[n.split('/').pop()!]);
    }
    const record = await getExecution(s.executionId);
    expect(record!.effects!.secrets!.slice().sort()).toEqual(names);
    expect(stepOf(record, 'injectSecrets')).toMatchObject({ status: 'WAITING', attempts: 2 });

    // Both attempts' boxes open, with the recipient key only, to the values in the store.
    for (const result of [first, second]) {
      const command = await getCommand(result.commandId as string);
      expect(openSecrets(command!.payload.sealed as SecretBox, s.recipient.privateKey)).toEqual(stored);
      expect(command!.payload.secrets).toEqual(
        names.map((n) => ({ name: n.split('/').pop(), source: 'generated', secretName: n, ref: secretArn(n) })).sort((a, b) => (a.name! < b.name! ? -1 : 1)),
      );
    }

    // No value anywhere: step results, commands, the execution record, the audit trail.
    const haystack = JSON.stringify([first, second, await getCommand(first.commandId as string), await getCommand(second.commandId as string), record, await auditOf(s.targetId)]);
    const values = Object.values(stored);
    expect(new Set(values).size).toBe(4);
    for (const value of values) expect(haystack).not.toContain(value);
    expect(h.runtime.aws.denials.filter((d) => d.action.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('references Secrets Manager and customer-provided secrets, sealing only values the control plane holds', async () => {
    const s = await scenario('white-label');
    await h.runtime.secrets.create(targetSecretName(s.targetId, 'SMTP_PASSWORD'), SMTP_CANARY, 'operator');
    const result = await step(s, 'Inject secrets');
    const command = await getCommand(result.commandId as string);
    const name = (n: string) => targetSecretName(s.targetId, n);
    expect(command!.payload.secrets).toEqual([
      { name: 'APP_KEY', source: 'generated', secretName: name('APP_KEY'), ref: secretArn(name('APP_KEY')) },
      { name: 'PARTNER_TOKEN', source: 'customer-provided', secretName: name('PARTNER_TOKEN') },
      { name: 'SMTP_PASSWORD', source: 'secrets-manager', secretName: name('SMTP_PASSWORD'), ref: secretArn(name('SMTP_PASSWORD')) },
    ]);
    const opened = openSecrets(command!.payload.sealed as SecretBox, s.recipient.privateKey);
    expect(opened.SMTP_PASSWORD).toBe(SMTP_CANARY);
    expect(Object.keys(opened).sort()).toEqual(['APP_KEY', 'SMTP_PASSWORD']);
    // Only the secret this run created is its to delete; the operator's stays theirs.
    expect((await getExecution(s.executionId))!.effects!.secrets).toEqual([name('APP_KEY')]);
    expect((await h.runtime.secrets.describe(name('SMTP_PASSWORD')))!.createdBy).toBe('operator');
    expect(await h.runtime.secrets.describe(name('PARTNER_TOKEN'))).toBeUndefined();
    const haystack = JSON.stringify([result, command, await getExecution(s.executionId), await auditOf(s.targetId)]);
    expect(haystack).not.toContain(SMTP_CANARY);
  });

  it('sends SaaS services references only', async () => {
    const s = await scenario('saas');
    for (const n of ['APP_KEY', 'DB_PASSWORD', 'REDIS_PASSWORD']) await h.runtime.secrets.create(targetSecretName(s.targetId, n), `${SMTP_CANARY}-${n}`, 'operator');
    const result = await step(s, 'Inject secrets');
    const command = await getCommand(result.commandId as string);
    expect(command!.payload.sealed).toBeUndefined();
    expect(JSON.stringify(command)).not.toContain(SMTP_CANARY);
    expect(JSON.stringify(result)).not.toContain(SMTP_CANARY);
    const secrets = command!.payload.secrets as { name: string; source: string }[];
    expect(secrets.map((x) => x.name)).toEqual(['APP_KEY', 'DB_PASSWORD', 'REDIS_PASSWORD']);
    expect(secrets.every((x) => x.source === 'secrets-manager')).toBe(true);
  });

  it('fails with Blocked.SecretsUnavailable when a customer-run target has no encryption key', async () => {
    const s = await scenario('self-hosted', { encryptionKey: false });
    const e = await failureOf(step(s, 'Inject secrets'));
    expect(e.name).toBe('Blocked.SecretsUnavailable');
    expect(JSON.parse(e.message)).toMatchObject({ step: 'Inject secrets', blockers: [{ code: 'SECRETS_UNAVAILABLE' }] });
    expect(await secretNamesOf(s.targetId)).toEqual([]);
    expect(stepOf(await getExecution(s.executionId), 'injectSecrets')).toMatchObject({ status: 'FAILED', error: { name: 'Blocked.SecretsUnavailable' } });
  });

  it('never adopts a secret another run created (so compensation cannot delete it)', async () => {
    const s = await scenario('self-hosted');
    await h.runtime.secrets.create(targetSecretName(s.targetId, 'APP_KEY'), 'someone-elses', 'other-run');
    const e = await failureOf(step(s, 'Inject secrets'));
    expect(e.name).toBe('Blocked.SecretsUnavailable');
    expect((await getExecution(s.executionId))!.effects?.secrets ?? []).toEqual([]);
    expect(await h.runtime.secrets.read(targetSecretName(s.targetId, 'APP_KEY'))).toBe('someone-elses');
    expect((await h.runtime.secrets.describe(targetSecretName(s.targetId, 'APP_KEY')))!.createdBy).toBe('other-run');
  });

  it('fails with Blocked.SecretsUnavailable when a Secrets Manager secret is missing', async () => {
    const s = await scenario('saas');
    const e = await failureOf(step(s, 'Inject secrets'));
    expect(e.name).toBe('Blocked.SecretsUnavailable');
    expect(JSON.parse(e.message).blockers[0].message).toContain('APP_KEY is not in Secrets Manager');
  });
});

describe('policy gate', () => {
  it('allows a target the policies allow', async () => {
    const s = await scenario('saas');
    const result = await step(s, 'Check policy gate');
    expect(result).toMatchObject({ decision: 'allow', action: 'provision' });
    expect(stepOf(await getExecution(s.executionId), 'policyGate')).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it("denies with the first blocker's error name and every blocker in the cause", async () => {
    const s = await scenario('saas');
    await revokeLicense(`lic-${s.targetId}`, 'contract ended', 'test', new Date());
    const e = await failureOf(step(s, 'Check policy gate'));
    expect(e.name).toBe('Blocked.LicenseRevoked');
    const cause = JSON.parse(e.message);
    expect(cause.step).toBe('Check policy gate');
    expect(cause.blockers[0].code).toBe('LICENSE_REVOKED');
    expect(stepOf(await getExecution(s.executionId), 'policyGate')).toMatchObject({ status: 'FAILED', error: { name: 'Blocked.LicenseRevoked' } });
    // The gate sets nothing on the target: the block branch does.
    expect((await getTarget(s.targetId))!.status).toBe('provisioning');
  });
});

describe('the block branch', () => {
  it('its steps, invoked one by one, leave the target blocked, with no secrets, the run FAILED and the audit chain intact', async () => {
    const s = await scenario('self-hosted');
    await step(s, 'Allocate target');
    await step(s, 'Inject secrets');
    await step(s, 'Run migrations');
    expect(await secretNamesOf(s.targetId)).toHaveLength(4);
    const values = await secretValuesOf(s.targetId);

    const failure = { Error: 'Blocked.MigrationFailed', Cause: blockedError(stepByState('Run migrations')!, 'The agent reported MigrationError: relation exists').message };
    const blocked = await step(s, 'Record blockers', 0, { failure });
    expect(blocked).toMatchObject({ blockers: ['MIGRATION_FAILED'], error: 'Blocked.MigrationFailed', failedStep: 'Run migrations' });
    expect((await getCommand(commandId(s.executionId, 'runMigrations', 0)))!.status).toBe('failed');

    expect(await step(s, 'Delete injected secrets', 0, { failure })).toMatchObject({ deleted: expect.arrayContaining([targetSecretName(s.targetId, 'APP_KEY')]) });
    expect(await secretNamesOf(s.targetId)).toEqual([]);
    await step(s, 'Release allocation', 0, { failure });
    // Unlock installer answers its own wait: that needs a task token a run waits on (the next test).
    const failed = await step(s, 'Record failure', 0, { failure });
    expect(failed).toMatchObject({ error: 'Blocked.MigrationFailed' });

    const target = await getTarget(s.targetId);
    expect(target).toMatchObject({ status: 'blocked', installerLocked: false, maintenanceMode: false });
    expect(target!.blockers.map((b) => b.code)).toEqual(['MIGRATION_FAILED']);
    expect(target!.blockers[0]!.message).toContain('relation exists');
    const record = await getExecution(s.executionId);
    expect(record).toMatchObject({ status: 'FAILED', effects: { allocated: false } });
    expect(record!.compensatedAt).toBeDefined();
    expect(stepOf(record, 'runMigrations')).toMatchObject({ status: 'FAILED', error: { name: 'Blocked.MigrationFailed' } });

    expect(await verifyStream(targetStream(s.targetId))).toMatchObject({ valid: true });
    const audit = await auditOf(s.targetId);
    expect(audit.map((r) => r.action)).toEqual(expect.arrayContaining(['target.blocked', 'secrets.deleted', 'workflow.failed']));
    const outcomes = audit.filter((r) => r.action === 'workflow.step').map((r) => `${r.details.step}:${r.details.status}`);
    expect(outcomes).toEqual([
      'allocateTarget:SUCCEEDED', 'injectSecrets:WAITING', 'runMigrations:WAITING', 'recordBlockers:SUCCEEDED', 'deleteSecrets:SUCCEEDED',
      'releaseAllocation:SUCCEEDED', 'recordFailure:SUCCEEDED',
    ]);
    const haystack = JSON.stringify(audit);
    expect(values).toHaveLength(4);
    for (const value of values) expect(haystack).not.toContain(value);

    // Compensated once: the reconciler's FAILED event and a LOST recovery change nothing.
    const before = audit.length;
    expect(await reconcile(s.executionId, 'FAILED', 'Blocked.MigrationFailed')).toMatchObject({ skipped: expect.stringContaining('already compensated') });
    expect(await compensate(s.executionId, 'LOST', new Date())).toMatchObject({ skipped: expect.stringContaining('already compensated') });
    expect(await auditOf(s.targetId)).toHaveLength(before);
  });

  it('a real run blocked at Run migrations goes through the deployed block branch; Unlock installer answers its own wait', async () => {
    const denialsBefore = h.runtime.aws.denials.length;
    const t = await registerReadyTarget(h, `tgt-steps-run-${Math.random().toString(36).slice(2, 8)}`);
    const armed = await h.call('POST', '/local/faults', { body: { targetId: t.id, command: 'run-migrations', kind: 'permanent', times: 1 } });
    expect(armed.status, armed.text).toBe(201);
    const executionId = await provision(h, t.id, `key-${t.id}`, RELEASE_ID);
    expect((await h.waitForExecution(executionId)).status).toBe('FAILED');
    await h.runtime.agent.idle();

    const target = await getTarget(t.id);
    expect(target).toMatchObject({ status: 'blocked', installerLocked: false, maintenanceMode: false });
    expect(target!.blockers.map((b) => b.code)).toEqual(['MIGRATION_FAILED']);
    expect(await secretNamesOf(t.id)).toEqual([]);
    const record = await getExecution(executionId);
    expect(record).toMatchObject({ status: 'FAILED', effects: { allocated: false } });
    expect(record!.compensatedAt).toBeDefined();
    // The agent's failed result names its own error on the step (CommandFailed); the run's is the blocker's.
    expect(stepOf(record, 'runMigrations')).toMatchObject({ status: 'FAILED' });
    expect(stepOf(record, 'recordBlockers')).toMatchObject({ status: 'SUCCEEDED' });
    expect(stepOf(record, 'unlockInstaller')).toMatchObject({ status: 'SKIPPED' });

    // The engine received the step's own answer to the wait of "Unlock installer".
    const history = await h.runtime.engine.history('provisioning', executionId);
    const unlock = history.filter((e) => e.state === 'Unlock installer');
    expect(unlock.map((e) => e.type)).toContain('TaskSucceeded');
    expect(JSON.stringify(unlock.find((e) => e.type === 'TaskSucceeded')!.details)).toContain('Installer was not locked by this run');

    // The values it injected (opened from the command with the target's key) are nowhere in the audit trail.
    const injected = await getCommand(commandId(executionId, 'injectSecrets', 0));
    const values = Object.values(openSecrets(injected!.payload.sealed as SecretBox, t.encryption.privateKey));
    expect(values).toHaveLength(4);
    expect(await verifyStream(targetStream(t.id))).toMatchObject({ valid: true });
    const audit = await auditOf(t.id);
    expect(audit.map((r) => r.action)).toEqual(expect.arrayContaining(['target.blocked', 'secrets.deleted', 'workflow.failed']));
    const outcomes = audit.filter((r) => r.action === 'workflow.step').map((r) => `${r.details.step}:${r.details.status}`);
    expect(outcomes.slice(-5)).toEqual(['recordBlockers:SUCCEEDED', 'deleteSecrets:SUCCEEDED', 'releaseAllocation:SUCCEEDED', 'unlockInstaller:SKIPPED', 'recordFailure:SUCCEEDED']);
    const haystack = JSON.stringify(audit);
    for (const value of values) expect(haystack).not.toContain(value);

    // Compensated once: the reconciler (which the runtime also called when the run ended) changes nothing.
    const before = audit.length;
    expect(await reconcile(executionId, 'FAILED', 'Blocked.MigrationFailed')).toMatchObject({ skipped: expect.stringContaining('already compensated') });
    expect(await auditOf(t.id)).toHaveLength(before);
    expect(h.runtime.aws.denials.slice(denialsBefore)).toEqual([]);
  });

  it('record blockers closes the run\'s open commands (its function has the commands table)', async () => {
    const s = await scenario('self-hosted');
    const denialsBefore = h.runtime.aws.denials.length;
    await step(s, 'Inject secrets');
    await step(s, 'Run migrations');
    const open = await listCommandsOfTarget(s.targetId, true, 100);
    expect(open.items.map((c) => c.type).sort()).toEqual(['install-secrets', 'run-migrations']);

    const failure = { Error: 'Blocked.MigrationFailed', Cause: blockedError(stepByState('Run migrations')!, 'The agent reported MigrationError: relation exists').message };
    await step(s, 'Record blockers', 0, { failure });
    expect(h.runtime.aws.denials.slice(denialsBefore)).toEqual([]);
    expect((await getCommand(commandId(s.executionId, 'runMigrations', 0)))!.status).toBe('failed');
    expect((await getCommand(commandId(s.executionId, 'injectSecrets', 0)))!.status).toBe('failed');
    expect((await listCommandsOfTarget(s.targetId, true, 100)).items).toEqual([]);
  });

  it('turns a timeout of a command step into AGENT_TIMEOUT and closes the open command', async () => {
    const s = await scenario('saas');
    await step(s, 'Run migrations', 0);
    await step(s, 'Run migrations', 1);
    const result = await step(s, 'Record blockers', 0, { failure: { Error: 'States.Timeout', Cause: 'Task timed out.' } });
    expect(result).toMatchObject({ blockers: ['AGENT_TIMEOUT'], failedStep: 'Run migrations', error: 'Blocked.AgentTimeout' });
    for (const attempt of [0, 1]) expect((await getCommand(commandId(s.executionId, 'runMigrations', attempt)))!.status).toBe('timed-out');
    expect(stepOf(await getExecution(s.executionId), 'runMigrations')).toMatchObject({ status: 'FAILED', error: { name: 'States.Timeout' } });
  });

  it('reads blockers out of a Lambda-wrapped cause', async () => {
    const s = await scenario('saas');
    await revokeLicense(`lic-${s.targetId}`, 'fraud', 'test', new Date());
    const gate = await failureOf(step(s, 'Check policy gate'));
    // What Step Functions puts in Cause for a failed Lambda task: the whole {errorType, errorMessage, trace}.
    expect(JSON.parse(gate.lambdaCause)).toMatchObject({ errorType: 'Blocked.LicenseRevoked', errorMessage: gate.message, trace: expect.any(Array) });
    const result = await step(s, 'Record blockers', 0, { failure: { Error: gate.name, Cause: gate.lambdaCause } });
    expect(result.blockers).toEqual(['LICENSE_REVOKED']);
    expect((await getTarget(s.targetId))!.blockers[0]!.code).toBe('LICENSE_REVOKED');
  });
});

describe('success', () => {
  it('record audit event makes the target active on the release with the installer locked', async () => {
    const s = await scenario('self-hosted', { simulated: true });
    await step(s, 'Allocate target');
    const lock = await step(s, 'Lock installer');
    // The simulated agent answers the lock command (no run waits on this test's token).
    await until(() => answersOf(s.targetId).find((a) => a.commandId === lock.commandId));
    const result = await step(s, 'Record audit event');
    expect(result.summary).toContain(`active on release ${RELEASE_ID}`);
    expect(await getTarget(s.targetId)).toMatchObject({ status: 'active', currentRelease: RELEASE_ID, installerLocked: true, maintenanceMode: false, blockers: [] });
    expect(await getExecution(s.executionId)).toMatchObject({ status: 'SUCCEEDED', effects: { allocated: true, installerLocked: true } });
    expect((await auditOf(s.targetId)).some((r) => r.action === 'target.provisioned' && r.details.executionId === s.executionId)).toBe(true);
    expect(await reconcile(s.executionId, 'ABORTED')).toMatchObject({ skipped: 'the run succeeded' });
    expect(await compensate(s.executionId, 'LOST', new Date())).toMatchObject({ skipped: 'the run succeeded' });
  });

  it('an update retains the bound release as rollback package and switches maintenance mode off at the end', async () => {
    const s = await scenario('self-hosted', { kind: 'update' });
    await step(s, 'Enable maintenance mode');
    expect((await getTarget(s.targetId))!.maintenanceMode).toBe(true);
    await step(s, 'Retain rollback package');
    expect((await getTarget(s.targetId))!.rollbackRelease).toBe(RELEASE_ID);
    const off = await step(s, 'Disable maintenance mode');
    expect(off.summary).toBe('Sent disable-maintenance to the agent');
    expect(await getCommand(off.commandId as string)).toMatchObject({ type: 'disable-maintenance', status: 'pending' });
    await step(s, 'Record audit event');
    expect(await getTarget(s.targetId)).toMatchObject({ status: 'active', maintenanceMode: false, rollbackRelease: RELEASE_ID, installerLocked: true });
  });
});

describe('compensation outside the block branch', () => {
  it('undoes a stopped provisioning run once: secrets, installer lock, open commands, target and run', async () => {
    const s = await scenario('self-hosted');
    await step(s, 'Allocate target');
    await step(s, 'Inject secrets');
    await step(s, 'Lock installer');
    expect(await secretNamesOf(s.targetId)).toHaveLength(4);

    const outcome = await reconcile(s.executionId, 'ABORTED');
    expect(outcome).toMatchObject({ status: 'ABORTED', blockers: [{ code: 'EXECUTION_ABORTED' }] });
    expect(await secretNamesOf(s.targetId)).toEqual([]);
    const unlock = await getCommand(commandId(s.executionId, 'compensate-unlock-installer', 0));
    expect(unlock).toMatchObject({ type: 'unlock-installer', status: 'pending', taskToken: '' });
    expect((await getCommand(commandId(s.executionId, 'lockInstaller', 0)))!.status).toBe('failed');
    expect((await getCommand(commandId(s.executionId, 'injectSecrets', 0)))!.status).toBe('failed');
    // The unlock command is the only one left for the agent.
    expect((await listCommandsOfTarget(s.targetId, true, 100)).items.map((c) => c.id)).toEqual([unlock!.id]);

    const target = await getTarget(s.targetId);
    expect(target).toMatchObject({ status: 'blocked', installerLocked: false, maintenanceMode: false });
    expect(target!.blockers.map((b) => b.code)).toEqual(['EXECUTION_ABORTED']);
    const record = await getExecution(s.executionId);
    expect(record).toMatchObject({ status: 'ABORTED' });
    expect(record!.compensatedAt).toBeDefined();
    expect(stepOf(record, 'lockInstaller')).toMatchObject({ status: 'FAILED', error: { name: 'Execution.Aborted' } });

    // Again, by either path: nothing more happens.
    const auditCount = (await auditOf(s.targetId)).length;
    const commandCount = (await listCommandsOfTarget(s.targetId, false, 100)).items.length;
    expect(await reconcile(s.executionId, 'ABORTED')).toMatchObject({ skipped: expect.stringContaining('already compensated') });
    expect(await compensate(s.executionId, 'LOST', new Date())).toMatchObject({ skipped: expect.stringContaining('already compensated') });
    expect(await auditOf(s.targetId)).toHaveLength(auditCount);
    expect((await listCommandsOfTarget(s.targetId, false, 100)).items).toHaveLength(commandCount);
    expect(await verifyStream(targetStream(s.targetId))).toMatchObject({ valid: true });

    // A Lambda still running when the run was stopped acts no more: no command, no secret.
    const late = await failureOf(step(s, 'Run migrations'));
    expect(late.name).toBe('Blocked.MigrationFailed');
    expect(late.message).toContain('already ended');
    expect(await getCommand(commandId(s.executionId, 'runMigrations', 0))).toBeUndefined();
    expect((await failureOf(step(s, 'Inject secrets', 1))).name).toBe('Blocked.SecretsUnavailable');
    expect(await secretNamesOf(s.targetId)).toEqual([]);
  });

  it('switches maintenance mode off after an update that timed out', async () => {
    const s = await scenario('self-hosted', { kind: 'update' });
    await step(s, 'Enable maintenance mode');
    const outcome = await reconcile(s.executionId, 'TIMED_OUT', undefined, 'update');
    expect(outcome).toMatchObject({ status: 'TIMED_OUT', blockers: [{ code: 'EXECUTION_TIMED_OUT' }] });
    expect(await getCommand(commandId(s.executionId, 'compensate-disable-maintenance', 0))).toMatchObject({ type: 'disable-maintenance', taskToken: '' });
    expect(await getCommand(commandId(s.executionId, 'compensate-unlock-installer', 0))).toBeUndefined();
    expect((await getCommand(commandId(s.executionId, 'enableMaintenance', 0)))!.status).toBe('timed-out');
    // Provisioning locked the installer, not this update: it stays locked.
    expect(await getTarget(s.targetId)).toMatchObject({ status: 'blocked', maintenanceMode: false, installerLocked: true });
    expect(await getExecution(s.executionId)).toMatchObject({ status: 'TIMED_OUT' });
  });

  it('a lost run is FAILED with EXECUTION_LOST; a FAILED run without its block branch gets blockers from its error', async () => {
    const lost = await scenario('saas');
    await step(lost, 'Allocate target');
    // What the local runtime's start-up recovery calls for a run it lost (not a function).
    expect(await compensate(lost.executionId, 'LOST', new Date())).toMatchObject({ status: 'FAILED', blockers: [{ code: 'EXECUTION_LOST' }] });
    expect((await getTarget(lost.targetId))!.blockers.map((b) => b.code)).toEqual(['EXECUTION_LOST']);
    expect(await getExecution(lost.executionId)).toMatchObject({ status: 'FAILED' });

    const failed = await scenario('saas');
    await step(failed, 'Run migrations');
    const outcome = await reconcile(failed.executionId, 'FAILED', 'Blocked.MigrationFailed');
    expect(outcome).toMatchObject({ status: 'FAILED', blockers: [{ code: 'MIGRATION_FAILED' }] });
    expect((await getCommand(commandId(failed.executionId, 'runMigrations', 0)))!.status).toBe('failed');
  });

  it('ignores events that need no compensation and runs it does not know', async () => {
    expect(await reconcile('provision-unknown-0000', 'ABORTED')).toMatchObject({ skipped: 'no execution record' });
    expect(await reconcile('provision-unknown-0000', 'SUCCEEDED')).toMatchObject({ skipped: expect.stringContaining('SUCCEEDED') });
  });
});

describe('least privilege of the step functions', () => {
  it('a step reading a table its function is not granted gets AccessDeniedException', async () => {
    // No payload makes a workflow step read the tokens table, so the grant is checked at the IAM layer and
    // with a real SDK call signed with the step function's credentials.
    const fn = h.runtime.deployment.functionByArnOrName(taskFunctionArn(h.runtime, 'Record audit event'))!;
    expect(fn.entry).toBe('functions/steps/workflow-steps.ts');
    expect(fn.environment).not.toHaveProperty('DCP_TABLE_TOKENS');
    const principal = h.runtime.judge.principalOfRole(fn.role.arn)!;
    const { tokens: releases, targets } = h.runtime.deployment.tables;
    expect(await h.runtime.judge.authorize(principal, { action: 'dynamodb:GetItem', resource: releases.arn })).toMatchObject({ allowed: false });
    expect(await h.runtime.judge.authorize(principal, { action: 'dynamodb:GetItem', resource: targets.arn })).toMatchObject({ allowed: true });

    const client = new DynamoDBClient({ endpoint: h.runtime.aws.url, region: h.runtime.deployment.region, credentials: localCredentials(fn.role.arn) });
    try {
      const denialsBefore = h.runtime.aws.denials.length;
      const refused = await client.send(new GetItemCommand({ TableName: releases.name, Key: { id: { S: 'tok-x' } } })).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(refused?.name).toBe('AccessDeniedException');
      expect(refused?.message).toContain(`dynamodb:GetItem on resource: ${releases.arn}`);
      expect(h.runtime.aws.denials.slice(denialsBefore)).toEqual([{ principal: fn.role.logicalId, action: 'dynamodb:GetItem', resource: releases.arn }]);
      // The same credentials read a table the function is granted.
      await expect(client.send(new GetItemCommand({ TableName: targets.name, Key: { id: { S: 'no-such-target' } } }))).resolves.toBeDefined();
    } finally {
      client.destroy();
    }
  });
});
