// The local runtime runs the stack as deployed (issue: cloud fidelity): each function with exactly the
// environment of its synthesized AWS::Lambda::Function and judged by its own role's IAM policy. These are
// the regression tests of the defects an audit found in the deployed stack (D1–D6), which passed locally
// while every handler saw every table and no IAM applied.
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableEnvVar } from '../../functions/core/tables.js';
import { localCredentials } from '../../local/lambda.js';
import type { LocalFunction } from '../../local/deployment.js';
import { useLocalRuntime, taskFunctionArn } from '../support/local-runtime.js';
import { attest, provision, publishRelease, registerTarget, releaseSigner, RELEASE, trustSigner } from '../support/workflow-fixtures.js';

// With the API stage's throttling, as deployed (the other suites turn it off).
const h = useLocalRuntime({ gatewayThrottling: true });
const signer = releaseSigner('cloud-fidelity');

beforeAll(async () => {
  await trustSigner(h, signer);
  await publishRelease(h, signer, RELEASE);
});

const fnByEntry = (entry: string): LocalFunction => {
  const fn = h.runtime.deployment.functionByEntry(entry);
  if (!fn) throw new Error(`no deployed function for ${entry}`);
  return fn;
};

/** A DynamoDB client that signs as `fn`'s role, as the function's own SDK client does. */
const dynamoAs = (fn: LocalFunction) =>
  new DynamoDBClient({ endpoint: h.runtime.aws.url, region: h.runtime.deployment.region, credentials: localCredentials(fn.role.arn) });

describe('each function runs with its own environment', () => {
  it('gets exactly its template variables plus what Lambda sets, and no table it is not bound to', () => {
    for (const fn of h.runtime.deployment.functions.filter((f) => f.entry)) {
      const env = h.runtime.lambda.environmentOf(fn);
      for (const [k, v] of Object.entries(fn.environment)) expect(env[k], `${fn.logicalId} ${k}`).toBe(v);
      const tables = Object.keys(env).filter((k) => k.startsWith('DCP_TABLE_'));
      expect(tables.sort(), fn.logicalId).toEqual(Object.keys(fn.environment).filter((k) => k.startsWith('DCP_TABLE_')).sort());
      expect(env.DCP_TABLE_PREFIX, fn.logicalId).toBeUndefined();
      expect(env.AWS_LAMBDA_FUNCTION_NAME).toBe(fn.name);
      expect(env.AWS_ACCESS_KEY_ID).toBe(localCredentials(fn.role.arn).accessKeyId);
    }
  });

  it('the decisions function decides with only its own tables (D1: facts resolved every table name)', async () => {
    const decisions = fnByEntry('functions/api/decisions.ts');
    // It is not given the tokens table, which the old fact loader resolved too.
    expect(decisions.environment[tableEnvVar('tokens')]).toBeUndefined();
    const t = await registerTarget(h, 'fid-decide');
    await attest(h, t);
    const r = await h.call('POST', '/decisions', { body: { targetId: t.id, releaseId: RELEASE, action: 'provision' } });
    expect(r.status, r.text).toBe(200);
    expect(['allow', 'deny']).toContain(r.body.decision);
  });
});

describe('each AWS call is judged by the caller function\'s IAM policy', () => {
  it('a call on a table the function is not granted is AccessDeniedException; a granted one is answered', async () => {
    const authorizer = fnByEntry('functions/api/authorizer.ts');
    const client = dynamoAs(authorizer);
    const { tables } = h.runtime.deployment;
    // The authorizer reads tokens only.
    await expect(client.send(new GetItemCommand({ TableName: tables.tokens.name, Key: { id: { S: 'nope' } } }))).resolves.toBeDefined();
    const denied = await client.send(new GetItemCommand({ TableName: tables.targets.name, Key: { id: { S: 'x' } } })).catch((e: Error) => e);
    expect((denied as Error).name).toBe('AccessDeniedException');
    expect((denied as Error).message).toContain(`dynamodb:GetItem on resource: ${tables.targets.arn}`);
    expect(h.runtime.aws.denials).toContainEqual({ principal: authorizer.role.logicalId, action: 'dynamodb:GetItem', resource: tables.targets.arn });
  });

  it('a Query on an index is judged on the index ARN', async () => {
    const targets = fnByEntry('functions/api/targets.ts');
    const { tables } = h.runtime.deployment;
    const ok = await dynamoAs(targets).send(
      new QueryCommand({ TableName: tables.targets.name, IndexName: 'byTenant', KeyConditionExpression: 'tenantId = :t', ExpressionAttributeValues: { ':t': { S: 'x' } } }),
    );
    expect(ok.Items).toEqual([]);
    // The tokens function has no grant on the targets table or its indexes.
    const tokens = fnByEntry('functions/api/tokens.ts');
    const denied = await dynamoAs(tokens)
      .send(new QueryCommand({ TableName: tables.targets.name, IndexName: 'byTenant', KeyConditionExpression: 'tenantId = :t', ExpressionAttributeValues: { ':t': { S: 'x' } } }))
      .catch((e: Error) => e);
    expect((denied as Error).name).toBe('AccessDeniedException');
    expect((denied as Error).message).toContain(`${tables.targets.arn}/index/byTenant`);
  });

  it('Step Functions calls are judged too: a function without StartExecution cannot start a run', async () => {
    const audit = fnByEntry('functions/api/audit.ts');
    const sfn = new SFNClient({ endpoint: h.runtime.aws.url, region: h.runtime.deployment.region, credentials: localCredentials(audit.role.arn) });
    const machine = h.runtime.deployment.stateMachines.find((m) => m.name.endsWith('-provisioning'))!;
    const denied = await sfn.send(new StartExecutionCommand({ stateMachineArn: machine.arn, name: 'nope', input: '{}' })).catch((e: Error) => e);
    expect((denied as Error).name).toBe('AccessDeniedException');
  });

  it('an unknown access key is refused as AWS refuses it', async () => {
    const client = new DynamoDBClient({ endpoint: h.runtime.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' } });
    const e = await client.send(new GetItemCommand({ TableName: 'x', Key: { id: { S: 'x' } } })).catch((err: Error) => err);
    expect((e as Error).name).toBe('UnrecognizedClientException');
  });
});

describe('the deployed workflows work under their own grants', () => {
  it('provisions a self-hosted target with secrets to active, with no call refused (D2, D3, D5)', async () => {
    const before = h.runtime.aws.denials.length;
    const t = await registerTarget(h, 'fid-happy', { simulated: true });
    const executionId = await provision(h, t.id, 'fid-happy-00001');
    const execution = await h.waitForExecution(executionId, 60_000);
    expect(execution.status, JSON.stringify(execution.steps)).toBe('SUCCEEDED');
    expect(h.runtime.aws.denials.slice(before)).toEqual([]);
    // D2: Inject secrets looked its secrets up by name; its role has no ListSecrets.
    const inject = h.runtime.deployment.functionByArnOrName(taskFunctionArn(h.runtime, 'Inject secrets'))!;
    const actions = inject.role.policies.flatMap((p) => p.document.Statement.flatMap((s) => [s.Action ?? []].flat()));
    expect(actions).not.toContain('secretsmanager:ListSecrets');
    expect((await h.runtime.secrets.describe(`dcp/${t.id}/APP_KEY`))?.createdBy).toBe(executionId);
  });

  it('a failure after a command step is blocked and compensated, not CompensationFailed (D4)', async () => {
    const t = await registerTarget(h, 'fid-fail', { simulated: true });
    const arm = await h.call('POST', '/local/faults', { body: { targetId: t.id, command: 'run-health-checks', kind: 'permanent', times: 1 } });
    expect(arm.status, arm.text).toBe(201);
    const executionId = await provision(h, t.id, 'fid-fail-000001');
    const execution = await h.waitForExecution(executionId, 60_000);
    expect(execution.status).toBe('FAILED');
    const target = await h.call('GET', `/targets/${t.id}`);
    expect(target.body.status).toBe('blocked');
    expect(JSON.stringify(execution)).not.toContain('CompensationFailed');
    const record = execution.steps.find((s: { name: string }) => s.name === 'Record blockers');
    expect(record?.status, JSON.stringify(record)).toBe('SUCCEEDED');
  });
});

describe('the API answers a target token on routes it may not call with 403, never 500 (D6)', () => {
  it('403 on every non-target route group, with the rate limit counted only where it may call', async () => {
    const t = await registerTarget(h, 'fid-token');
    for (const [method, path] of [
      ['GET', '/tokens'],
      ['GET', '/provisioning-policy'],
      ['GET', '/licenses/lic-x'],
      ['GET', '/audit?targetId=fid-token'],
      ['POST', `/targets/${t.id}/provision`],
      ['GET', '/rollouts?releaseId=1.0.0'],
    ] as const) {
      const r = await h.call(method, path, { token: t.token, ...(method === 'POST' ? { body: { releaseId: RELEASE }, headers: { 'idempotency-key': 'fid-token-key-1' } } : {}) });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(403);
    }
  });
});

describe('API Gateway limits', () => {
  it('throttles a method past its burst with the gateway\'s own 429 problem document', async () => {
    const setting = h.runtime.deployment.apiThrottling.find((t) => t.resourcePath === '/healthz' && t.httpMethod === 'GET');
    expect(setting, 'the stage sets a limit for GET /healthz').toBeDefined();
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: setting!.burstLimit + 10 }, () => h.call('GET', '/healthz')));
    const elapsedSeconds = (Date.now() - started) / 1000;
    const throttled = answers.filter((a) => a.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0]!.body).toMatchObject({ code: 'THROTTLED', status: 429 });
    // The bucket holds the burst and refills at the rate while the requests are in flight (a loaded machine
    // takes longer to send them all), and never more: without a limit every request would pass.
    const allowed = setting!.burstLimit + Math.ceil(elapsedSeconds * setting!.rateLimit);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(allowed);
  });
});
