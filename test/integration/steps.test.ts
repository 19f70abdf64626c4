// The step handlers against DynamoDB Local, with an in-memory secret store, a recording workflow engine
// and a recording simulated-agent host: commands and WAITING, secrets that never leak, the block branch,
// compensation and the reconciler.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { useLocalTables } from '../support/ddb.js';
import { licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { keyRecord, sampleSigned, signedBy, testKey } from '../unit/crypto/release-fixtures.js';
import { targetStream, type AuditRecord } from '../../functions/core/audit.js';
import { verifyManifest } from '../../functions/core/manifest.js';
import { DEFAULT_POLICIES, type DeploymentMode } from '../../functions/core/policies.js';
import type { TargetRecord } from '../../functions/core/records.js';
import type { RegisterTargetBody } from '../../functions/core/schemas/targets.js';
import { generateRecipientKeyPair, openSecrets, type SecretBox } from '../../functions/core/secret-box.js';
import { stepByState, type CommandRecord, type ExecutionInput, type ExecutionRecord, type StepPayload } from '../../functions/core/workflows.js';
import { setSimulatedAgentHost } from '../../functions/adapters/agent-host.js';
import { listAudit, verifyStream } from '../../functions/adapters/audit.js';
import { commandId, getCommand } from '../../functions/adapters/commands.js';
import { ddb } from '../../functions/adapters/dynamo.js';
import { setWorkflowEngine, type WorkflowEngine } from '../../functions/adapters/engine.js';
import { getExecution, newExecutionItem } from '../../functions/adapters/executions.js';
import { createLicense, revokeLicense } from '../../functions/adapters/licenses.js';
import { putPolicy } from '../../functions/adapters/policies.js';
import { addSigningKey, publishRelease } from '../../functions/adapters/releases.js';
import { SecretOwnedElsewhereError, setSecretStore, targetSecretName, type SecretRef, type SecretStore } from '../../functions/adapters/secrets.js';
import { getTarget, registerTarget, updateTarget } from '../../functions/adapters/targets.js';
import { blockedError } from '../../functions/steps/lib/errors.js';
import { compensate } from '../../functions/steps/lib/compensate.js';
import { handler as policyGate } from '../../functions/steps/policy-gate.js';
import { handler as allocateTarget } from '../../functions/steps/allocate-target.js';
import { handler as injectSecrets } from '../../functions/steps/inject-secrets.js';
import { handler as runMigrations } from '../../functions/steps/run-migrations.js';
import { handler as bindRelease } from '../../functions/steps/bind-release.js';
import { handler as lockInstaller } from '../../functions/steps/lock-installer.js';
import { handler as enableMaintenance } from '../../functions/steps/enable-maintenance.js';
import { handler as retainRollbackPackage } from '../../functions/steps/retain-rollback-package.js';
import { handler as recordAuditEvent } from '../../functions/steps/record-audit-event.js';
import { handler as recordBlockers } from '../../functions/steps/record-blockers.js';
import { handler as deleteSecrets } from '../../functions/steps/delete-secrets.js';
import { handler as releaseAllocation } from '../../functions/steps/release-allocation.js';
import { handler as unlockInstaller } from '../../functions/steps/unlock-installer.js';
import { handler as disableMaintenance } from '../../functions/steps/disable-maintenance.js';
import { handler as recordFailure } from '../../functions/steps/record-failure.js';
import { handler as reconcile, type ExecutionStatusChangeEvent } from '../../functions/steps/reconcile.js';

useLocalTables();
process.env.DCP_LOG_LEVEL ??= 'silent';

/** Secret store in memory that remembers every value it was ever given, to search outputs for them. */
class MemorySecretStore implements SecretStore {
  readonly secrets = new Map<string, { value: string; createdBy: string }>();
  readonly valuesSeen = new Set<string>();

  async create(name: string, value: string, createdBy: string): Promise<SecretRef> {
    this.valuesSeen.add(value);
    const existing = this.secrets.get(name);
    if (existing && existing.createdBy !== createdBy) throw new SecretOwnedElsewhereError(`${name} belongs to ${existing.createdBy}`);
    if (!existing) this.secrets.set(name, { value, createdBy });
    return { name, ref: `mem:${name}` };
  }
  async read(name: string) {
    return this.secrets.get(name)?.value;
  }
  async delete(name: string) {
    this.secrets.delete(name);
  }
  async list(prefix: string) {
    return [...this.secrets.keys()].filter((n) => n.startsWith(prefix)).map((name) => ({ name, ref: `mem:${name}` }));
  }
  namesUnder(prefix: string): string[] {
    return [...this.secrets.keys()].filter((n) => n.startsWith(prefix)).sort();
  }
}

class RecordingEngine implements WorkflowEngine {
  readonly calls: { method: string; args: unknown[] }[] = [];
  async start(...args: unknown[]) {
    this.calls.push({ method: 'start', args });
    return { executionArn: 'arn:local' };
  }
  async stop(...args: unknown[]) {
    this.calls.push({ method: 'stop', args });
  }
  async sendTaskSuccess(...args: unknown[]) {
    this.calls.push({ method: 'sendTaskSuccess', args });
  }
  async sendTaskFailure(...args: unknown[]) {
    this.calls.push({ method: 'sendTaskFailure', args });
  }
  async sendTaskHeartbeat(...args: unknown[]) {
    this.calls.push({ method: 'sendTaskHeartbeat', args });
  }
  async historyPage() {
    return { events: [] };
  }
  async history() {
    return [];
  }
}

const SMTP_CANARY = 'CANARY-smtp-value-3b9d41';
const RELEASE_ID = '2.4.0';
let store: MemorySecretStore;
let engine: RecordingEngine;
let agentCommands: Omit<CommandRecord, 'taskToken'>[];

beforeAll(async () => {
  const now = new Date();
  const key = testKey('steps');
  await addSigningKey(keyRecord(key), 'test', now);
  const signed = sampleSigned({
    version: RELEASE_ID,
    publishedAt: new Date(now.getTime() - 86400_000).toISOString(),
    expiresAt: new Date(now.getTime() + 365 * 86400_000).toISOString(),
    runtime: {},
  });
  const verified = verifyManifest(signedBy(signed, key), { trustedKeys: [keyRecord(key)], threshold: 1, now, channelVersions: [] });
  if (!verified.ok) throw new Error(`fixture release does not verify: ${JSON.stringify(verified)}`);
  await publishRelease({ ...verified.release, validSignerKeyIds: verified.validSignerKeyIds }, undefined, 'test', now);
  // White-label targets here need one secret of every source.
  await putPolicy(
    'secrets',
    0,
    { required: { ...DEFAULT_POLICIES.secrets.required, 'white-label': { APP_KEY: 'generated', SMTP_PASSWORD: 'secrets-manager', PARTNER_TOKEN: 'customer-provided' } } },
    'test',
    now,
  );
});

beforeEach(() => {
  store = new MemorySecretStore();
  engine = new RecordingEngine();
  agentCommands = [];
  setSecretStore(store);
  setWorkflowEngine(engine);
  setSimulatedAgentHost({ createAgentKey: async () => 'unused', commandStored: (c) => agentCommands.push(c) });
});

afterAll(() => {
  setSecretStore(undefined);
  setWorkflowEngine(undefined);
  setSimulatedAgentHost(undefined);
});

let counter = 0;

interface Scenario {
  targetId: string;
  executionId: string;
  input: ExecutionInput['execution'];
  recipient: { publicKey: string; privateKey: string };
  payload(state: string, attempt?: number, extra?: Partial<StepPayload>): StepPayload;
}

async function scenario(
  mode: DeploymentMode,
  options: { kind?: 'provisioning' | 'update'; encryptionKey?: boolean; simulated?: boolean; licenseId?: string } = {},
): Promise<Scenario> {
  const kind = options.kind ?? 'provisioning';
  const targetId = `tgt-steps-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const now = new Date();
  const licenseId = options.licenseId ?? `lic-${targetId}`;
  if (!options.licenseId) await createLicense(licenseBody(licenseId) as never, 'test', now);
  const recipient = generateRecipientKeyPair();
  const body = targetBody(targetId, mode, licenseId, targetKeys().publicKey, {
    ...(options.encryptionKey === false ? {} : { encryptionKey: recipient.publicKey }),
    ...(options.simulated ? { agent: 'simulated' } : {}),
  }) as unknown as RegisterTargetBody;
  const { target } = await registerTarget(body, 'test', now);
  const changes: Partial<TargetRecord> = kind === 'provisioning' ? { status: 'provisioning' } : { status: 'updating', currentRelease: RELEASE_ID, installerLocked: true };
  await updateTarget(target, changes, { actor: 'test', action: 'workflow.started', details: {} }, now);
  const executionId = `${kind === 'provisioning' ? 'provision' : 'update'}-${targetId}-0123456789abcdef`;
  const input: ExecutionInput['execution'] = {
    id: executionId,
    kind,
    targetId,
    releaseId: RELEASE_ID,
    mode,
    ...(target.strategy ? { strategy: target.strategy } : {}),
    ...(kind === 'update' ? { previousRelease: RELEASE_ID } : {}),
    startedAt: now.toISOString(),
  };
  const record: ExecutionRecord = {
    id: executionId, kind, targetId, releaseId: RELEASE_ID, status: 'RUNNING', startedAt: now.toISOString(), steps: [], effects: {}, idempotencyKey: `key-${targetId}`, version: 1,
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

async function auditOf(targetId: string): Promise<AuditRecord[]> {
  return (await listAudit(targetStream(targetId), 1000, 0)).items;
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the step to fail');
}

const stepOf = (record: ExecutionRecord | undefined, key: string) => record?.steps.find((s) => s.name === key);

describe('command steps', () => {
  it('store one command per attempt, mark the step WAITING and notify a simulated agent', async () => {
    const s = await scenario('saas', { simulated: true });
    const first = await runMigrations(s.payload('Run migrations', 0));
    expect(first).toEqual({ summary: 'Sent run-migrations to the agent', commandId: commandId(s.executionId, 'runMigrations', 0), migrations: 2 });
    const second = await runMigrations(s.payload('Run migrations', 1));
    expect(second.commandId).toBe(commandId(s.executionId, 'runMigrations', 1));

    const c0 = await getCommand(commandId(s.executionId, 'runMigrations', 0));
    const c1 = await getCommand(commandId(s.executionId, 'runMigrations', 1));
    expect(c0).toMatchObject({ status: 'pending', type: 'run-migrations', step: 'runMigrations', attempt: 0, taskToken: 'token-Run migrations-0', targetId: s.targetId });
    expect(c1).toMatchObject({ status: 'pending', attempt: 1, taskToken: 'token-Run migrations-1' });
    expect((c0!.payload.migrations as unknown[]).length).toBe(2);

    const record = await getExecution(s.executionId);
    expect(stepOf(record, 'runMigrations')).toMatchObject({ status: 'WAITING', attempts: 2 });
    expect(agentCommands.map((c) => c.id)).toEqual([c0!.id, c1!.id]);
    expect(agentCommands.every((c) => !('taskToken' in c))).toBe(true);

    const waiting = (await auditOf(s.targetId)).filter((r) => r.action === 'workflow.step' && r.details.status === 'WAITING');
    expect(waiting.map((r) => r.details.attempt)).toEqual([0, 1]);
  });

  it('a re-invoked attempt replaces its own open command instead of adding one', async () => {
    const s = await scenario('saas');
    await runMigrations(s.payload('Run migrations', 0));
    await runMigrations(s.payload('Run migrations', 0, { taskToken: 'second-token' }));
    expect((await getCommand(commandId(s.executionId, 'runMigrations', 0)))!.taskToken).toBe('second-token');
    expect(await getCommand(commandId(s.executionId, 'runMigrations', 1))).toBeUndefined();
    expect(agentCommands).toHaveLength(0); // not a simulated agent
  });

  it('bind release re-judges the release and sends its artifacts', async () => {
    const s = await scenario('saas', { simulated: true });
    const result = await bindRelease(s.payload('Bind release'));
    const command = await getCommand(result.commandId as string);
    expect(command).toMatchObject({ type: 'install-release', payload: { releaseId: RELEASE_ID, version: RELEASE_ID } });
    expect((command!.payload.artifacts as { kind: string }[])[0]!.kind).toBe('zip');
  });

  it('a step run by the wrong function is refused', async () => {
    const s = await scenario('saas');
    const e = await errorOf(runMigrations(s.payload('Bind release')));
    expect(e.name).toBe('Blocked.StepMisconfigured');
  });
});

describe('inject secrets', () => {
  it('creates the generated secrets once, seals values to the target key and never shows a value', async () => {
    const s = await scenario('self-hosted');
    const first = await injectSecrets(s.payload('Inject secrets', 0));
    const names = ['APP_KEY', 'DB_PASSWORD', 'LICENSE_TOKEN', 'REDIS_PASSWORD'].map((n) => targetSecretName(s.targetId, n));
    expect(store.namesUnder(`dcp/${s.targetId}/`)).toEqual(names);
    const stored = Object.fromEntries(names.map((n) => [n.split('/').pop()!, store.secrets.get(n)!.value]));

    // A retry finds its own secrets: no error, no new values.
    const second = await injectSecrets(s.payload('Inject secrets', 1));
    expect(store.namesUnder(`dcp/${s.targetId}/`)).toEqual(names);
    for (const n of names) expect(store.secrets.get(n)!.createdBy).toBe(s.executionId);
    const record = await getExecution(s.executionId);
    expect(record!.effects!.secrets!.slice().sort()).toEqual(names);
    expect(stepOf(record, 'injectSecrets')).toMatchObject({ status: 'WAITING', attempts: 2 });

    // Both attempts' boxes open, with the recipient key only, to the values in the store.
    for (const result of [first, second]) {
      const command = await getCommand(result.commandId as string);
      expect(openSecrets(command!.payload.sealed as SecretBox, s.recipient.privateKey)).toEqual(stored);
      expect(command!.payload.secrets).toEqual(
        names.map((n) => ({ name: n.split('/').pop(), source: 'generated', secretName: n, ref: `mem:${n}` })).sort((a, b) => (a.name! < b.name! ? -1 : 1)),
      );
    }

    // No value anywhere: step results, commands, the execution record, the audit trail.
    const haystack = JSON.stringify([first, second, await getCommand(first.commandId as string), await getCommand(second.commandId as string), record, await auditOf(s.targetId)]);
    expect(store.valuesSeen.size).toBeGreaterThanOrEqual(8);
    for (const value of store.valuesSeen) expect(haystack).not.toContain(value);
  });

  it('references Secrets Manager and customer-provided secrets, sealing only values the control plane holds', async () => {
    const s = await scenario('white-label');
    await store.create(targetSecretName(s.targetId, 'SMTP_PASSWORD'), SMTP_CANARY, 'operator');
    const result = await injectSecrets(s.payload('Inject secrets'));
    const command = await getCommand(result.commandId as string);
    expect(command!.payload.secrets).toEqual([
      { name: 'APP_KEY', source: 'generated', secretName: targetSecretName(s.targetId, 'APP_KEY'), ref: `mem:${targetSecretName(s.targetId, 'APP_KEY')}` },
      { name: 'PARTNER_TOKEN', source: 'customer-provided', secretName: targetSecretName(s.targetId, 'PARTNER_TOKEN') },
      { name: 'SMTP_PASSWORD', source: 'secrets-manager', secretName: targetSecretName(s.targetId, 'SMTP_PASSWORD'), ref: `mem:${targetSecretName(s.targetId, 'SMTP_PASSWORD')}` },
    ]);
    const opened = openSecrets(command!.payload.sealed as SecretBox, s.recipient.privateKey);
    expect(opened.SMTP_PASSWORD).toBe(SMTP_CANARY);
    expect(Object.keys(opened).sort()).toEqual(['APP_KEY', 'SMTP_PASSWORD']);
    // Only the secret this run created is its to delete.
    expect((await getExecution(s.executionId))!.effects!.secrets).toEqual([targetSecretName(s.targetId, 'APP_KEY')]);
    const haystack = JSON.stringify([result, command, await getExecution(s.executionId), await auditOf(s.targetId)]);
    expect(haystack).not.toContain(SMTP_CANARY);
  });

  it('sends SaaS services references only', async () => {
    const s = await scenario('saas');
    for (const n of ['APP_KEY', 'DB_PASSWORD', 'REDIS_PASSWORD']) await store.create(targetSecretName(s.targetId, n), `${SMTP_CANARY}-${n}`, 'operator');
    const result = await injectSecrets(s.payload('Inject secrets'));
    const command = await getCommand(result.commandId as string);
    expect(command!.payload.sealed).toBeUndefined();
    expect(JSON.stringify(command)).not.toContain(SMTP_CANARY);
    expect((command!.payload.secrets as { source: string }[]).every((x) => x.source === 'secrets-manager')).toBe(true);
  });

  it('fails with Blocked.SecretsUnavailable when a customer-run target has no encryption key', async () => {
    const s = await scenario('self-hosted', { encryptionKey: false });
    const e = await errorOf(injectSecrets(s.payload('Inject secrets')));
    expect(e.name).toBe('Blocked.SecretsUnavailable');
    expect(JSON.parse(e.message)).toMatchObject({ step: 'Inject secrets', blockers: [{ code: 'SECRETS_UNAVAILABLE' }] });
    expect(store.namesUnder(`dcp/${s.targetId}/`)).toEqual([]);
    expect(stepOf(await getExecution(s.executionId), 'injectSecrets')).toMatchObject({ status: 'FAILED', error: { name: 'Blocked.SecretsUnavailable' } });
  });

  it('never adopts a secret another run created (so compensation cannot delete it)', async () => {
    const s = await scenario('self-hosted');
    await store.create(targetSecretName(s.targetId, 'APP_KEY'), 'someone-elses', 'other-run');
    const e = await errorOf(injectSecrets(s.payload('Inject secrets')));
    expect(e.name).toBe('Blocked.SecretsUnavailable');
    expect((await getExecution(s.executionId))!.effects?.secrets ?? []).toEqual([]);
  });

  it('fails with Blocked.SecretsUnavailable when a Secrets Manager secret is missing', async () => {
    const s = await scenario('saas');
    const e = await errorOf(injectSecrets(s.payload('Inject secrets')));
    expect(e.name).toBe('Blocked.SecretsUnavailable');
    expect(JSON.parse(e.message).blockers[0].message).toContain('APP_KEY is not in Secrets Manager');
  });
});

describe('policy gate', () => {
  it('allows a target the policies allow', async () => {
    const s = await scenario('saas');
    const result = await policyGate(s.payload('Check policy gate'));
    expect(result).toMatchObject({ decision: 'allow', action: 'provision' });
    expect(stepOf(await getExecution(s.executionId), 'policyGate')).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it("denies with the first blocker's error name and every blocker in the cause", async () => {
    const s = await scenario('saas');
    await revokeLicense(`lic-${s.targetId}`, 'contract ended', 'test', new Date());
    const e = await errorOf(policyGate(s.payload('Check policy gate')));
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
  it('leaves the target blocked, with no secrets, the run FAILED and the audit chain intact', async () => {
    const s = await scenario('self-hosted');
    await allocateTarget(s.payload('Allocate target'));
    await injectSecrets(s.payload('Inject secrets'));
    await runMigrations(s.payload('Run migrations'));
    expect(store.namesUnder(`dcp/${s.targetId}/`)).toHaveLength(4);

    const failure = { Error: 'Blocked.MigrationFailed', Cause: blockedError(stepByState('Run migrations')!, 'The agent reported MigrationError: relation exists').message };
    const blocked = await recordBlockers(s.payload('Record blockers', 0, { failure }));
    expect(blocked).toMatchObject({ blockers: ['MIGRATION_FAILED'], error: 'Blocked.MigrationFailed', failedStep: 'Run migrations' });
    expect((await getCommand(commandId(s.executionId, 'runMigrations', 0)))!.status).toBe('failed');

    expect(await deleteSecrets(s.payload('Delete injected secrets'))).toMatchObject({ deleted: expect.arrayContaining([targetSecretName(s.targetId, 'APP_KEY')]) });
    expect(store.namesUnder(`dcp/${s.targetId}/`)).toEqual([]);
    await releaseAllocation(s.payload('Release allocation'));
    const unlocked = await unlockInstaller(s.payload('Unlock installer', 0, { taskToken: 'unlock-token' }));
    expect(unlocked).toEqual({ summary: 'Installer was not locked by this run', skipped: true });
    expect(engine.calls).toContainEqual({ method: 'sendTaskSuccess', args: ['unlock-token', unlocked] });
    const failed = await recordFailure(s.payload('Record failure', 0, { failure }));
    expect(failed).toMatchObject({ error: 'Blocked.MigrationFailed' });

    const target = await getTarget(s.targetId);
    expect(target).toMatchObject({ status: 'blocked', installerLocked: false, maintenanceMode: false });
    expect(target!.blockers.map((b) => b.code)).toEqual(['MIGRATION_FAILED']);
    expect(target!.blockers[0]!.message).toContain('relation exists');
    const record = await getExecution(s.executionId);
    expect(record).toMatchObject({ status: 'FAILED', effects: { allocated: false } });
    expect(record!.compensatedAt).toBeDefined();
    expect(stepOf(record, 'runMigrations')).toMatchObject({ status: 'FAILED', error: { name: 'Blocked.MigrationFailed' } });
    expect(stepOf(record, 'unlockInstaller')).toMatchObject({ status: 'SKIPPED' });

    expect(await verifyStream(targetStream(s.targetId))).toMatchObject({ valid: true });
    const audit = await auditOf(s.targetId);
    expect(audit.map((r) => r.action)).toEqual(expect.arrayContaining(['target.blocked', 'secrets.deleted', 'workflow.failed']));
    const outcomes = audit.filter((r) => r.action === 'workflow.step').map((r) => `${r.details.step}:${r.details.status}`);
    expect(outcomes).toEqual([
      'allocateTarget:SUCCEEDED', 'injectSecrets:WAITING', 'runMigrations:WAITING', 'recordBlockers:SUCCEEDED', 'deleteSecrets:SUCCEEDED',
      'releaseAllocation:SUCCEEDED', 'unlockInstaller:SKIPPED', 'recordFailure:SUCCEEDED',
    ]);
    const haystack = JSON.stringify(audit);
    for (const value of store.valuesSeen) expect(haystack).not.toContain(value);

    // Compensated once: the reconciler's FAILED event changes nothing.
    const before = audit.length;
    expect(await compensate(s.executionId, 'FAILED', new Date())).toMatchObject({ skipped: expect.stringContaining('already compensated') });
    expect(await reconcile(statusEvent(s.executionId, 'FAILED', 'Blocked.MigrationFailed'))).toMatchObject({ skipped: expect.any(String) });
    expect(await auditOf(s.targetId)).toHaveLength(before);
  });

  it('turns a timeout of a command step into AGENT_TIMEOUT and closes the open command', async () => {
    const s = await scenario('saas');
    await runMigrations(s.payload('Run migrations', 0));
    await runMigrations(s.payload('Run migrations', 1));
    const result = await recordBlockers(s.payload('Record blockers', 0, { failure: { Error: 'States.Timeout', Cause: 'Task timed out.' } }));
    expect(result).toMatchObject({ blockers: ['AGENT_TIMEOUT'], failedStep: 'Run migrations', error: 'Blocked.AgentTimeout' });
    for (const attempt of [0, 1]) expect((await getCommand(commandId(s.executionId, 'runMigrations', attempt)))!.status).toBe('timed-out');
    expect(stepOf(await getExecution(s.executionId), 'runMigrations')).toMatchObject({ status: 'FAILED', error: { name: 'States.Timeout' } });
  });

  it('reads blockers out of a Lambda-wrapped cause', async () => {
    const s = await scenario('saas');
    await revokeLicense(`lic-${s.targetId}`, 'fraud', 'test', new Date());
    const gate = await errorOf(policyGate(s.payload('Check policy gate')));
    const Cause = JSON.stringify({ errorType: gate.name, errorMessage: gate.message, trace: [] });
    const result = await recordBlockers(s.payload('Record blockers', 0, { failure: { Error: gate.name, Cause } }));
    expect(result.blockers).toEqual(['LICENSE_REVOKED']);
    expect((await getTarget(s.targetId))!.blockers[0]!.code).toBe('LICENSE_REVOKED');
  });
});

describe('success', () => {
  it('record audit event makes the target active on the release with the installer locked', async () => {
    const s = await scenario('self-hosted', { simulated: true });
    await allocateTarget(s.payload('Allocate target'));
    await lockInstaller(s.payload('Lock installer'));
    const result = await recordAuditEvent(s.payload('Record audit event'));
    expect(result.summary).toContain(`active on release ${RELEASE_ID}`);
    expect(await getTarget(s.targetId)).toMatchObject({ status: 'active', currentRelease: RELEASE_ID, installerLocked: true, maintenanceMode: false, blockers: [] });
    expect(await getExecution(s.executionId)).toMatchObject({ status: 'SUCCEEDED', effects: { allocated: true, installerLocked: true } });
    expect((await auditOf(s.targetId)).some((r) => r.action === 'target.provisioned' && r.details.executionId === s.executionId)).toBe(true);
    expect(await compensate(s.executionId, 'LOST', new Date())).toMatchObject({ skipped: 'the run succeeded' });
  });

  it('an update retains the bound release as rollback package and switches maintenance mode off at the end', async () => {
    const s = await scenario('self-hosted', { kind: 'update' });
    await enableMaintenance(s.payload('Enable maintenance mode'));
    expect((await getTarget(s.targetId))!.maintenanceMode).toBe(true);
    await retainRollbackPackage(s.payload('Retain rollback package'));
    expect((await getTarget(s.targetId))!.rollbackRelease).toBe(RELEASE_ID);
    const off = await disableMaintenance(s.payload('Disable maintenance mode'));
    expect(off.summary).toBe('Sent disable-maintenance to the agent');
    await recordAuditEvent(s.payload('Record audit event'));
    expect(await getTarget(s.targetId)).toMatchObject({ status: 'active', maintenanceMode: false, rollbackRelease: RELEASE_ID, installerLocked: true });
  });
});

function statusEvent(name: string, status: 'ABORTED' | 'TIMED_OUT' | 'FAILED' | 'SUCCEEDED', error?: string): ExecutionStatusChangeEvent {
  const stateMachineArn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:dcp-provisioning';
  return {
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'eu-west-1',
    resources: [`arn:aws:states:eu-west-1:123456789012:execution:dcp-provisioning:${name}`],
    detail: {
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:dcp-provisioning:${name}`,
      stateMachineArn,
      name,
      status,
      startDate: Date.now() - 60_000,
      stopDate: Date.now(),
      error: error ?? null,
      cause: null,
    },
  };
}

describe('compensation outside the block branch', () => {
  it('undoes a stopped provisioning run once: secrets, installer lock, open commands, target and run', async () => {
    const s = await scenario('self-hosted', { simulated: true });
    await allocateTarget(s.payload('Allocate target'));
    await injectSecrets(s.payload('Inject secrets'));
    await lockInstaller(s.payload('Lock installer'));
    agentCommands.length = 0;

    const outcome = await reconcile(statusEvent(s.executionId, 'ABORTED'));
    expect(outcome).toMatchObject({ status: 'ABORTED', blockers: [{ code: 'EXECUTION_ABORTED' }] });
    expect(store.namesUnder(`dcp/${s.targetId}/`)).toEqual([]);
    const unlock = await getCommand(commandId(s.executionId, 'compensate-unlock-installer', 0));
    expect(unlock).toMatchObject({ type: 'unlock-installer', status: 'pending', taskToken: '' });
    expect(agentCommands.map((c) => c.id)).toEqual([unlock!.id]);
    expect((await getCommand(commandId(s.executionId, 'lockInstaller', 0)))!.status).toBe('failed');
    expect((await getCommand(commandId(s.executionId, 'injectSecrets', 0)))!.status).toBe('failed');

    const target = await getTarget(s.targetId);
    expect(target).toMatchObject({ status: 'blocked', installerLocked: false, maintenanceMode: false });
    expect(target!.blockers.map((b) => b.code)).toEqual(['EXECUTION_ABORTED']);
    const record = await getExecution(s.executionId);
    expect(record).toMatchObject({ status: 'ABORTED' });
    expect(record!.compensatedAt).toBeDefined();
    expect(stepOf(record, 'lockInstaller')).toMatchObject({ status: 'FAILED', error: { name: 'Execution.Aborted' } });

    // Again, by either path: nothing more happens.
    const auditCount = (await auditOf(s.targetId)).length;
    expect(await compensate(s.executionId, 'ABORTED', new Date())).toMatchObject({ skipped: expect.stringContaining('already compensated') });
    expect(await compensate(s.executionId, 'LOST', new Date())).toMatchObject({ skipped: expect.stringContaining('already compensated') });
    expect(await auditOf(s.targetId)).toHaveLength(auditCount);
    expect(agentCommands).toHaveLength(1);
    expect(await verifyStream(targetStream(s.targetId))).toMatchObject({ valid: true });

    // A Lambda still running when the run was stopped acts no more: no command, no secret.
    const late = await errorOf(runMigrations(s.payload('Run migrations')));
    expect(late.name).toBe('Blocked.MigrationFailed');
    expect(late.message).toContain('already ended');
    expect(await getCommand(commandId(s.executionId, 'runMigrations', 0))).toBeUndefined();
    expect((await errorOf(injectSecrets(s.payload('Inject secrets', 1)))).name).toBe('Blocked.SecretsUnavailable');
    expect(store.namesUnder(`dcp/${s.targetId}/`)).toEqual([]);
  });

  it('switches maintenance mode off after an update that timed out', async () => {
    const s = await scenario('self-hosted', { kind: 'update' });
    await enableMaintenance(s.payload('Enable maintenance mode'));
    const outcome = await reconcile(statusEvent(s.executionId, 'TIMED_OUT'));
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
    await allocateTarget(lost.payload('Allocate target'));
    expect(await compensate(lost.executionId, 'LOST', new Date())).toMatchObject({ status: 'FAILED', blockers: [{ code: 'EXECUTION_LOST' }] });
    expect((await getTarget(lost.targetId))!.blockers.map((b) => b.code)).toEqual(['EXECUTION_LOST']);

    const failed = await scenario('saas');
    await runMigrations(failed.payload('Run migrations'));
    const outcome = await reconcile(statusEvent(failed.executionId, 'FAILED', 'Blocked.MigrationFailed'));
    expect(outcome).toMatchObject({ status: 'FAILED', blockers: [{ code: 'MIGRATION_FAILED' }] });
  });

  it('ignores events that need no compensation and runs it does not know', async () => {
    expect(await reconcile(statusEvent('provision-unknown-0000', 'ABORTED'))).toMatchObject({ skipped: 'no execution record' });
    expect(await reconcile(statusEvent('provision-unknown-0000', 'SUCCEEDED'))).toMatchObject({ skipped: expect.stringContaining('SUCCEEDED') });
  });
});
