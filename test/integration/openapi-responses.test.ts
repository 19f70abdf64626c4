// The documented success bodies against real answers: representative routes are called through real HTTP
// on DynamoDB Local, and each body must parse with its route's response schema (the one the OpenAPI
// document is generated from) and carry no field that schema leaves undocumented.
import { beforeAll, describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { useApi, type CallResult } from '../support/api.js';
import { attestation, licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { currentManifest, testKey } from '../unit/crypto/release-fixtures.js';
import { ROUTES } from '../../functions/core/routes/index.js';
import { RESPONSE_SCHEMAS } from '../../functions/core/schemas/responses.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';

const api = useApi();

interface Def {
  type: string;
  shape?: Record<string, ZodType>;
  catchall?: unknown;
  element?: ZodType;
  innerType?: ZodType;
}
const defOf = (s: ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** JSON pointers of members the body has but the schema does not name (objects are open in the schema). */
function undocumented(schema: ZodType, value: unknown, path = ''): string[] {
  const def = defOf(schema);
  if ((def.type === 'optional' || def.type === 'nullable') && def.innerType) return undocumented(def.innerType, value, path);
  if (def.type === 'array' && def.element && Array.isArray(value)) return value.flatMap((v, i) => undocumented(def.element!, v, `${path}/${i}`));
  if (def.type === 'object' && def.shape && !def.catchall && value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => (k in def.shape! ? undocumented(def.shape![k]!, v, `${path}/${k}`) : [`${path}/${k}`]));
  }
  return [];
}

/** The answer has its route's documented status, parses with its response schema, and has nothing more. */
function expectDocumented(operationId: string, r: CallResult) {
  const route = ROUTES.find((x) => x.operationId === operationId);
  expect(route, operationId).toBeDefined();
  const documented = Object.keys(route!.responses ?? { 200: '' }).map(Number);
  expect(documented, `${operationId}: ${r.text}`).toContain(r.status);
  const schema = RESPONSE_SCHEMAS[operationId]!;
  const parsed = schema.safeParse(r.body);
  expect(parsed.success, `${operationId}: ${parsed.error ? JSON.stringify(parsed.error.issues) : ''}\n${r.text}`).toBe(true);
  expect(undocumented(schema, r.body), operationId).toEqual([]);
}

const signer = testKey('openapi-responses');
const LICENSE = 'lic-openapi';
const TARGET = 'tgt-openapi';
const VERSION = '5.0.0';
const keys = targetKeys();
let targetToken = '';

beforeAll(async () => {
  const license = await api.call('POST', '/licenses', { body: licenseBody(LICENSE) });
  expectDocumented('createLicense', license);
  const registered = await api.call('POST', '/targets', {
    body: targetBody(TARGET, 'self-hosted', LICENSE, keys.publicKey, { maintenanceWindow: { cron: '0 2 * * *', durationMinutes: 60 } }),
  });
  expectDocumented('registerTarget', registered);
  targetToken = registered.body.token;
});

describe('answers match the documented response schemas', () => {
  it('public routes', async () => {
    expectDocumented('getHealth', await api.call('GET', '/healthz', { token: null }));
    expectDocumented('getOpenApi', await api.call('GET', '/openapi.json', { token: null }));
  });

  it('targets: read, list, change, heartbeat, attestation', async () => {
    const got = await api.call('GET', `/targets/${TARGET}`);
    expectDocumented('getTarget', got);
    expect(got.body.channelMode).toBeUndefined();
    const list = await api.call('GET', '/targets?limit=10');
    expectDocumented('listTargets', list);
    expect(list.body.items.length).toBeGreaterThan(0);
    expectDocumented('heartbeat', await api.call('POST', `/targets/${TARGET}/heartbeat`, { token: targetToken, body: { runtime: { php: '8.4' } } }));
    expectDocumented('postAttestation', await api.call('POST', `/targets/${TARGET}/attestations`, { token: targetToken, body: attestation(TARGET, keys.keys) }));
    const patched = await api.call('PATCH', `/targets/${TARGET}`, { body: { name: 'Renamed' }, headers: { 'if-match': got.headers.get('etag')! } });
    expectDocumented('patchTarget', patched);
    expect(patched.body.attestation).toBeDefined();
    expectDocumented('getLicense', await api.call('GET', `/licenses/${LICENSE}`));
  });

  it('signing keys, releases and config validation', async () => {
    expectDocumented('addSigningKey', await api.call('POST', '/signing-keys', { body: { keyId: signer.keyId, publicKey: signer.publicKeyBase64 } }));
    expectDocumented('listSigningKeys', await api.call('GET', '/signing-keys'));
    expectDocumented('publishRelease', await api.call('POST', '/releases', { body: currentManifest(VERSION, [signer]) }));
    expectDocumented('getRelease', await api.call('GET', `/releases/${VERSION}`));
    expectDocumented('listReleases', await api.call('GET', '/releases?channel=stable'));
    expectDocumented('validateConfig', await api.call('POST', '/packaging/validate-config', { body: { mode: 'self-hosted', env: 'APP_DEBUG=true\nAPP_KEY=base64:abc\n' } }));
  });

  it('decisions and policy evaluations', async () => {
    const decision = await api.call('POST', '/decisions', { body: { targetId: TARGET, releaseId: VERSION, action: 'provision' } });
    expectDocumented('decide', decision);
    const denied = await api.call('POST', '/decisions', { body: { targetId: TARGET, releaseId: '9.9.9', action: 'update' } });
    expectDocumented('decide', denied);
    expect(denied.body.decision).toBe('deny');
    expectDocumented('evaluateTargetPolicy', await api.call('POST', '/target-policy/evaluate', { body: { targetId: TARGET, releaseId: VERSION } }));
  });

  it('policies: read, replace, versions', async () => {
    const got = await api.call('GET', '/target-policy');
    expectDocumented('getTargetPolicy', got);
    expectDocumented('getProvisioningPolicy', await api.call('GET', '/provisioning-policy'));
    const put = await api.call('PUT', '/secrets-policy', { body: { document: DEFAULT_POLICIES.secrets, comment: 'same as default' }, headers: { 'if-match': '"0"' } });
    expectDocumented('putSecretsPolicy', put);
    expectDocumented('listSecretsPolicyVersions', await api.call('GET', '/secrets-policy/versions'));
  });

  it('tokens: create, list, revoke', async () => {
    expectDocumented('createToken', await api.call('POST', '/tokens', { body: { scopes: ['auditor'] } }));
    const created = await api.call('POST', '/tokens', {
      body: { scopes: ['operator', 'tenant:tenant-a'], description: 'ci', expiresAt: new Date(Date.now() + 86400_000).toISOString() },
    });
    expectDocumented('createToken', created);
    expectDocumented('listTokens', await api.call('GET', '/tokens?limit=100'));
    expectDocumented('revokeToken', await api.call('DELETE', `/tokens/${created.body.id}`));
  });

  it('audit: control and target streams, verification', async () => {
    const control = await api.call('GET', '/audit?limit=5');
    expectDocumented('listAudit', control);
    expect(control.body.items.length).toBeGreaterThan(0);
    expectDocumented('listAudit', await api.call('GET', `/audit?targetId=${TARGET}`));
    const verified = await api.call('GET', '/audit/verify');
    expectDocumented('verifyAudit', verified);
    expect(verified.body.valid).toBe(true);
    expectDocumented('verifyAudit', await api.call('GET', `/audit/verify?targetId=${TARGET}`));
  });

  it('executions and commands of a target with no runs yet', async () => {
    expectDocumented('listTargetExecutions', await api.call('GET', `/targets/${TARGET}/executions`));
    expectDocumented('listTargetCommands', await api.call('GET', `/targets/${TARGET}/commands`, { token: targetToken }));
  });

  it('decommissioning answers the target', async () => {
    const other = targetKeys();
    expectDocumented('registerTarget', await api.call('POST', '/targets', { body: targetBody('tgt-openapi-2', 'saas', LICENSE, other.publicKey) }));
    expectDocumented('decommissionTarget', await api.call('POST', '/targets/tgt-openapi-2/decommission', { body: { reason: 'test' } }));
  });
});
