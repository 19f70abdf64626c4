// The bootstrap admin token has one writer (functions/adapters/tokens.ts bootstrapAdminToken), used by the
// local runtime at start-up and by the stack's custom resource in AWS: both audit what they store, and in
// both a revoked bootstrap token stays revoked for the same value; only a new value replaces it.
import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';

const api = useApi();
const sm = mockClient(SecretsManagerClient);

function cfnEvent(requestType: 'Create' | 'Update'): CloudFormationCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/DeploymentControlPlane/0',
    RequestId: 'req-1',
    LogicalResourceId: 'Token',
    ResourceType: 'Custom::BootstrapAdminToken',
    ResourceProperties: { ServiceToken: 'x', SecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:admin-AbCdEf' },
    ...(requestType === 'Update' ? { PhysicalResourceId: 'bootstrap-admin-token', OldResourceProperties: {} } : {}),
  } as CloudFormationCustomResourceEvent;
}

async function bootstrapAudit(): Promise<{ actor: string; details: Record<string, unknown> }[]> {
  const { listAudit } = await import('../../functions/adapters/audit.js');
  const { CONTROL_STREAM } = await import('../../functions/core/audit.js');
  const page = await listAudit(CONTROL_STREAM, 1000, 0);
  return (page.items as { action: string; actor: string; details: Record<string, unknown> }[]).filter((r) => r.action === 'token.bootstrapped');
}

const whoAmI = (token: string) => api.call('GET', '/tokens', { token });
// A named admin token: the harness's own admin token is a bootstrap value, which these tests replace.
let ops = '';
const revokeBootstrap = () => api.call('DELETE', '/tokens/bootstrap', { token: ops });
beforeAll(async () => {
  ops = await api.token(['admin']);
});

describe('bootstrap admin token: one writer, same semantics locally and in AWS', () => {
  it('the custom resource stores the secret through the shared writer, audited, and a revoked token stays revoked', async () => {
    const { handler } = await import('../../functions/custom/bootstrap-admin.js');
    const value = 'stack-secret-value-0123456789abcdef';
    sm.on(GetSecretValueCommand).resolves({ SecretString: value });
    const before = (await bootstrapAudit()).length;
    expect(await handler(cfnEvent('Create'), new SecretsManagerClient({ region: 'eu-west-1' }))).toEqual({ PhysicalResourceId: 'bootstrap-admin-token' });
    const audited = (await bootstrapAudit()).slice(before);
    expect(audited).toEqual([expect.objectContaining({ actor: 'stack', details: expect.objectContaining({ tokenId: 'bootstrap' }) })]);
    expect((await whoAmI(value)).status).toBe(200);

    // An admin revokes it; a stack update with the same secret keeps it revoked and audits nothing.
    expect((await revokeBootstrap()).status).toBeLessThan(300);
    expect((await whoAmI(value)).status).toBe(401);
    await handler(cfnEvent('Update'), new SecretsManagerClient({ region: 'eu-west-1' }));
    expect((await whoAmI(value)).status).toBe(401);
    expect((await bootstrapAudit()).slice(before)).toHaveLength(1);

    // A new secret value replaces it, audited.
    const rotated = 'stack-secret-value-rotated-0123456789';
    sm.on(GetSecretValueCommand).resolves({ SecretString: rotated });
    await handler(cfnEvent('Update'), new SecretsManagerClient({ region: 'eu-west-1' }));
    expect((await whoAmI(rotated)).status).toBe(200);
    expect((await bootstrapAudit()).slice(before).map((r) => r.details.replaced)).toEqual([true, true]);
  });

  it('the local runtime\'s start-up is the same writer: a revoked DCP_ADMIN_TOKEN stays revoked across restarts', async () => {
    const { bootstrapAdminToken } = await import('../../functions/adapters/tokens.js');
    const value = 'local-admin-token-0123456789abcdef';
    const before = (await bootstrapAudit()).length;
    await bootstrapAdminToken(value);
    expect((await bootstrapAudit()).slice(before)).toEqual([expect.objectContaining({ actor: 'local-runtime' })]);
    expect((await revokeBootstrap()).status).toBeLessThan(300);
    await bootstrapAdminToken(value); // a restart with the same DCP_ADMIN_TOKEN
    expect((await whoAmI(value)).status).toBe(401);
    expect((await bootstrapAudit()).slice(before)).toHaveLength(1);
  });
});
