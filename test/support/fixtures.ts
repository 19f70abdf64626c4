// Request bodies and keys for integration tests: valid by default, overridable per test.
import { generateKeyPair, encodePublicKey, type Ed25519KeyPair } from '../../functions/core/crypto/ed25519.js';
import { signStatement } from '../../functions/core/crypto/signed-statement.js';
import { DEFAULT_POLICIES, type DeploymentMode } from '../../functions/core/policies.js';

export const CUSTOMER_RUNTIME: Record<string, string> = {
  nginx: '1.26', php: '8.3', 'laravel-api': '11.0', 'nextjs-frontend': '15.0', node: '22.1', 'queue-worker': '11.0',
  scheduler: '11.0', redis: '7.2', postgresql: '16.2', 'object-storage': '1.0', 'license-heartbeat-client': '1.0', 'update-client': '1.0',
};
export const SAAS_RUNTIME: Record<string, string> = Object.fromEntries(
  DEFAULT_POLICIES.target.requiredComponents.saas.map((c) => [c, '1.0.0']),
);

export interface TargetKeys {
  keys: Ed25519KeyPair;
  publicKey: string;
}

export function targetKeys(): TargetKeys {
  const keys = generateKeyPair();
  return { keys, publicKey: encodePublicKey(keys.publicKey) };
}

export function licenseBody(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    customerId: 'cust-1',
    entitlements: { modes: ['saas', 'self-hosted', 'white-label', 'enterprise-private-cloud'], maxTargets: 100, features: ['private-ai-gateway'] },
    expiresAt: new Date(Date.now() + 365 * 86400_000).toISOString(),
    ...overrides,
  };
}

export function targetBody(id: string, mode: DeploymentMode, licenseId: string, publicKey: string, overrides: Record<string, unknown> = {}) {
  const base: Record<string, unknown> = {
    id,
    name: `Target ${id}`,
    mode,
    tenantId: 'tenant-a',
    licenseId,
    publicKey,
    runtime: mode === 'saas' ? SAAS_RUNTIME : CUSTOMER_RUNTIME,
  };
  if (mode === 'saas') base.strategy = 'blue-green';
  if (mode === 'self-hosted') base.backupPolicy = { schedule: '0 2 * * *', retentionDays: 14, lastBackupAt: new Date().toISOString() };
  if (mode === 'white-label') base.whiteLabel = { customDomain: `${id}.example.com`, brandingRef: 'brand-1', billingAccountId: `bill-${id}` };
  if (mode === 'enterprise-private-cloud') {
    base.enterprise = { vpcId: 'vpc-0abc12345', sso: { protocol: 'oidc', issuer: 'https://sso.example.com' }, privateStorageBucket: 'private-bucket' };
  }
  return { ...base, ...overrides };
}

export function attestation(targetId: string, keys: Ed25519KeyPair, overrides: Record<string, unknown> = {}) {
  const statement = {
    _type: 'attestation',
    targetId,
    issuedAt: new Date().toISOString(),
    runtime: CUSTOMER_RUNTIME,
    flags: { appDebug: false },
    ...overrides,
  };
  return signStatement(statement, keys.secretKey);
}
