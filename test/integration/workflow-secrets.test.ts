// No secret value ever enters an audit record, a log line or an API response (SPEC §8), and a customer-run
// target receives its secrets only sealed to its encryptionKey (SPEC §7.3). Canary values: the secrets
// policy makes self-hosted targets need a customer secret kept in the secret store (`secrets-manager`),
// created by the test with a recognisable value, besides the generated ones, whose values are read back
// from the sealed install-secrets box. One run succeeds and one fails after its secrets went out (block
// branch, secrets deleted); then every response of the run, every log line, every audit record of the
// target and control streams, every execution history and every DynamoDB item is searched for the values.
import { randomBytes } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tableName } from '../../functions/adapters/dynamo.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { generateRecipientKeyPair, openSecrets, SECRET_BOX_ALG, SecretBoxError, type SecretBox } from '../../functions/core/secret-box.js';
import { TABLE_IDS } from '../../functions/core/tables.js';

// Every log line is written (and captured below): the harness would silence them.
process.env.DCP_LOG_LEVEL = 'info';

import { useLocalRuntime } from '../support/local-runtime.js';
import { executionHistory } from '../support/history.js';
import { auditStream, provision, publishRelease, registerTarget, releaseSigner, RELEASE, trustSigner, verifyAudit, type Registered } from '../support/workflow-fixtures.js';

// ---- capture: log lines and every HTTP response in this process (the test's calls and the agent's) -----

const logLines: string[] = [];
const responses: Promise<string>[] = [];
const realFetch = globalThis.fetch;
const spies = [
  ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logLines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    }),
  ),
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const res = await realFetch(input, init);
    responses.push(res.clone().text());
    return res;
  }),
];
afterAll(() => {
  for (const spy of spies) spy.mockRestore();
});

const h = useLocalRuntime();
const signer = releaseSigner('workflow-secrets');
const CUSTOMER_SECRET = 'CUSTOMER_API_KEY';
const GENERATED = Object.keys(DEFAULT_POLICIES.secrets.required['self-hosted']).sort();

interface Run {
  target: Registered;
  executionId: string;
  /** The canary the test put in the secret store for the target. */
  canary: string;
  /** Every value the target was sent, from its sealed box. */
  values: Record<string, string>;
  installSecrets: { payload: Record<string, any> };
}

const runs: Run[] = [];

/** Register a target with its customer secret in the store, provision it and open its install-secrets box. */
async function provisionWithCanary(id: string, fault?: { command: string; kind: 'permanent' }): Promise<Run> {
  const target = await registerTarget(h, id);
  const canary = `canary-${randomBytes(18).toString('hex')}`;
  await h.runtime.secrets.create(`dcp/${id}/${CUSTOMER_SECRET}`, canary, `customer:${id}`);
  if (fault) expect((await h.call('POST', '/local/faults', { body: { targetId: id, times: 1, ...fault } })).status).toBe(201);
  const executionId = await provision(h, id, `${id}-key-0001`);
  await h.waitForExecution(executionId);
  await h.runtime.agent.idle();

  const commands = await h.call('GET', `/targets/${id}/commands?status=all&limit=100`, { token: target.token });
  expect(commands.status, commands.text).toBe(200);
  const installSecrets = (commands.body.items as { type: string; payload: Record<string, any> }[]).find((c) => c.type === 'install-secrets');
  expect(installSecrets).toBeDefined();
  const sealed = installSecrets!.payload.sealed as SecretBox;
  expect(sealed.alg).toBe(SECRET_BOX_ALG);
  const values = openSecrets(sealed, target.encryption.privateKey);
  return { target, executionId, canary, values, installSecrets: installSecrets! };
}

beforeAll(async () => {
  await trustSigner(h, signer);
  await publishRelease(h, signer, RELEASE);
  const current = await h.call('GET', '/secrets-policy');
  expect(current.status, current.text).toBe(200);
  const document = structuredClone(DEFAULT_POLICIES.secrets);
  document.required['self-hosted'][CUSTOMER_SECRET] = 'secrets-manager';
  const put = await h.call('PUT', '/secrets-policy', { body: { document, comment: 'canary customer secret' }, headers: { 'if-match': current.headers.get('etag')! } });
  expect(put.status, put.text).toBe(200);

  runs.push(await provisionWithCanary('secrets-ok'));
  runs.push(await provisionWithCanary('secrets-blocked', { command: 'run-migrations', kind: 'permanent' }));
});

describe('secrets of a customer-run target', () => {
  it('reach the agent only sealed to its encryptionKey, and the box holds the real values', async () => {
    const [ok, blocked] = runs as [Run, Run];
    expect((await h.call('GET', `/executions/${ok.executionId}`)).body.status).toBe('SUCCEEDED');
    expect((await h.call('GET', `/executions/${blocked.executionId}`)).body.status).toBe('FAILED');

    for (const run of runs) {
      expect(Object.keys(run.values).sort()).toEqual([...GENERATED, CUSTOMER_SECRET].sort());
      expect(run.values[CUSTOMER_SECRET]).toBe(run.canary);
      // Names and references only next to the box: no field but `sealed` carries anything secret.
      expect(Object.keys(run.installSecrets.payload).sort()).toEqual(['sealed', 'secrets']);
      for (const entry of run.installSecrets.payload.secrets as Record<string, unknown>[]) {
        expect(Object.keys(entry).every((k) => ['name', 'source', 'secretName', 'ref'].includes(k))).toBe(true);
      }
      const text = JSON.stringify(run.installSecrets);
      for (const value of Object.values(run.values)) expect(text).not.toContain(value);
      // Sealed to this target's key: another X25519 key does not open it.
      expect(() => openSecrets(run.installSecrets.payload.sealed, generateRecipientKeyPair().privateKey)).toThrow(SecretBoxError);
    }

    // The generated values are the ones the store keeps for the provisioned target...
    for (const name of GENERATED) expect(await h.runtime.secrets.read(`dcp/${ok.target.id}/${name}`)).toBe(ok.values[name]);
    // ...and the failed run deleted the ones it created, but not the customer's own.
    expect((await h.runtime.secrets.list(`dcp/${blocked.target.id}/`)).map((s) => s.name)).toEqual([`dcp/${blocked.target.id}/${CUSTOMER_SECRET}`]);
    expect(await h.runtime.secrets.read(`dcp/${blocked.target.id}/${CUSTOMER_SECRET}`)).toBe(blocked.canary);
  });

  it('never appear in an API response, a log line, an audit record, an execution history or a stored item', async () => {
    const canaries = runs.flatMap((run) => Object.values(run.values));
    expect(canaries).toHaveLength(runs.length * (GENERATED.length + 1));
    expect(new Set(canaries).size).toBe(canaries.length);

    // Everything an operator, an auditor or the agent can read about the runs, through the API.
    const audit: unknown[] = [...(await auditStream(h))];
    const histories: unknown[] = [];
    for (const { target, executionId } of runs) {
      for (const path of [`/executions/${executionId}`, `/targets/${target.id}`, `/targets/${target.id}/executions`]) {
        expect((await h.call('GET', path)).status).toBe(200);
      }
      expect((await h.call('GET', `/targets/${target.id}`, { token: target.token })).status).toBe(200);
      expect((await h.call('GET', `/targets/${target.id}/commands?status=all&limit=100`, { token: target.token })).status).toBe(200);
      histories.push({ executionId, events: await executionHistory(h, executionId) });
      audit.push(...(await auditStream(h, target.id)));
      expect(await verifyAudit(h, target.id)).toMatchObject({ valid: true });
    }
    const items: unknown[] = [];
    for (const id of TABLE_IDS) {
      let ExclusiveStartKey: Record<string, any> | undefined;
      do {
        const page = await h.tables.client.send(new ScanCommand({ TableName: tableName(id), ExclusiveStartKey }));
        items.push(...(page.Items ?? []));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
    }
    const bodies = await Promise.all(responses);

    // The searches are not vacuous: they hold the runs, the secrets by name and the step that sent them.
    const auditText = JSON.stringify(audit);
    const historyText = JSON.stringify(histories);
    const itemText = JSON.stringify(items);
    expect(bodies.length).toBeGreaterThan(40);
    expect(bodies.some((b) => b.includes('"sealed"'))).toBe(true);
    expect(logLines.some((l) => l.includes('"step finished"') && l.includes('injectSecrets'))).toBe(true);
    expect(logLines.some((l) => l.includes('"step finished"') && l.includes('recordBlockers'))).toBe(true);
    expect(auditText).toContain(CUSTOMER_SECRET);
    expect(auditText).toContain('secrets.deleted');
    expect(historyText).toContain('Inject secrets');
    expect(itemText).toContain(SECRET_BOX_ALG);

    for (const value of canaries) {
      expect(bodies.filter((b) => b.includes(value)), 'API response').toEqual([]);
      expect(logLines.filter((l) => l.includes(value)), 'log line').toEqual([]);
      expect(auditText.includes(value), 'audit record').toBe(false);
      expect(historyText.includes(value), 'execution history').toBe(false);
      expect(itemText.includes(value), 'DynamoDB item').toBe(false);
    }
  });
});
