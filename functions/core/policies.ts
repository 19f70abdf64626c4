// The four policy documents, their schemas and their documented defaults. A kind with no stored version
// answers its default at version 0; the first PUT (If-Match: "0") creates version 1.
import * as z from 'zod';

export const POLICY_KINDS = ['target', 'provisioning', 'secrets', 'attestation'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export const DEPLOYMENT_MODES = ['saas', 'self-hosted', 'white-label', 'enterprise-private-cloud'] as const;
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];
export const deploymentMode = z.enum(DEPLOYMENT_MODES);

/** SPEC §2.1: components every runtime of a mode must report. `a|b` means one of them. */
export const CUSTOMER_RUN_COMPONENTS = [
  'nginx', 'php', 'laravel-api', 'nextjs-frontend', 'node', 'queue-worker', 'scheduler', 'redis',
  'postgresql|mysql', 'object-storage', 'license-heartbeat-client', 'update-client',
] as const;
export const SAAS_COMPONENTS = [
  'cdn-waf', 'load-balancer', 'frontend-service', 'backend-api-service', 'queue-worker-service',
  'scheduler-service', 'websocket-service', 'managed-database', 'redis-cluster', 'object-storage',
  'observability-stack', 'secrets-manager',
] as const;

const semverRange = z.string().min(1).max(200).regex(/^[0-9A-Za-z.+<>=^~*| -]+$/, 'must be a semver range such as >=8.2');
const modeList = z.array(deploymentMode).max(DEPLOYMENT_MODES.length);
const component = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9-]*$/, 'component names are lower-case words joined by "-"');
/** A required component, or alternatives `a|b` (at most 4). */
const requiredComponent = z
  .string()
  .min(1)
  .max(4 * 64 + 3)
  .regex(/^[a-z0-9][a-z0-9-]*(?:\|[a-z0-9][a-z0-9-]*){0,3}$/, 'must be a component name or alternatives such as postgresql|mysql');
const componentList = z.array(requiredComponent).max(64);
/** Ages in seconds: at most a year. */
const MAX_AGE_SECONDS = 366 * 86400;
const ageSeconds = z.number().int().min(1).max(MAX_AGE_SECONDS);
const secretName = z.string().min(1).max(128).regex(/^[A-Z][A-Z0-9_]*$/, 'must be an upper-case environment variable name');

export const targetPolicyDocument = z.strictObject({
  /** Required runtime components per mode; `a|b` accepts either component. */
  requiredComponents: z.strictObject({
    saas: componentList,
    'self-hosted': componentList,
    'white-label': componentList,
    'enterprise-private-cloud': componentList,
  }),
  /** Supported version ranges (semver; versions like `8.3` are coerced to `8.3.0`). */
  supportedVersions: z.record(component, semverRange),
  /** Heartbeats older than this block update and bind (customer-run modes). */
  heartbeatMaxAgeSeconds: ageSeconds,
  /** Self-hosted updates need a successful backup younger than this. */
  backupMaxAgeSeconds: ageSeconds,
  /** SaaS deploy strategies that are allowed. */
  saasStrategies: z.array(z.enum(['blue-green', 'rolling', 'in-place'])).min(1).max(3),
});
export type TargetPolicy = z.infer<typeof targetPolicyDocument>;

const retrySettings = z.strictObject({
  maxAttempts: z.number().int().min(0).max(10),
  intervalSeconds: z.number().int().min(1).max(3600),
  backoffRate: z.number().min(1).max(10),
  maxDelaySeconds: z.number().int().min(1).max(86400),
});

export const provisioningPolicyDocument = z.strictObject({
  /** Distinct active trusted keys that must sign a release manifest. */
  signatureThreshold: z.number().int().min(1).max(16),
  /** Retry of transient step failures; filled into the state machines at synth time. */
  retry: retrySettings,
  stepTimeoutSeconds: z.number().int().min(1).max(86400),
  /** How long an agent may stay silent before a command wait times out. */
  agentHeartbeatSeconds: z.number().int().min(1).max(86400),
  rollout: z.strictObject({
    canarySize: z.number().int().min(1).max(1000),
    waveSize: z.number().int().min(1).max(10000),
    maxConcurrency: z.number().int().min(1).max(1000),
    /** A wave with more failures than this halts the rollout. */
    maxFailures: z.number().int().min(0).max(10000),
  }),
});
export type ProvisioningPolicy = z.infer<typeof provisioningPolicyDocument>;

export const secretSource = z.enum(['generated', 'secrets-manager', 'customer-provided']);
export const secretsPolicyDocument = z.strictObject({
  /** Secrets each mode needs, each with where its value comes from (absent source: SECRETS_UNAVAILABLE). */
  required: z.strictObject({
    saas: z.record(secretName, secretSource),
    'self-hosted': z.record(secretName, secretSource),
    'white-label': z.record(secretName, secretSource),
    'enterprise-private-cloud': z.record(secretName, secretSource),
  }),
});
export type SecretsPolicy = z.infer<typeof secretsPolicyDocument>;

export const attestationPolicyDocument = z.strictObject({
  requiredForModes: modeList,
  maxAgeSeconds: ageSeconds,
  /** Flags a passing attestation must report with exactly these values. */
  requiredFlags: z.strictObject({ appDebug: z.boolean() }).partial(),
  /** The attested releaseVersion must equal the target's bound release. */
  requireReleaseMatch: z.boolean(),
});
export type AttestationPolicy = z.infer<typeof attestationPolicyDocument>;

export const POLICY_SCHEMAS = {
  target: targetPolicyDocument,
  provisioning: provisioningPolicyDocument,
  secrets: secretsPolicyDocument,
  attestation: attestationPolicyDocument,
} as const;

export interface PolicyDocuments {
  target: TargetPolicy;
  provisioning: ProvisioningPolicy;
  secrets: SecretsPolicy;
  attestation: AttestationPolicy;
}

const customerRunSecrets = {
  APP_KEY: 'generated',
  DB_PASSWORD: 'generated',
  REDIS_PASSWORD: 'generated',
  LICENSE_TOKEN: 'generated',
} as const;

export const DEFAULT_POLICIES: PolicyDocuments = {
  target: {
    requiredComponents: {
      saas: [...SAAS_COMPONENTS],
      'self-hosted': [...CUSTOMER_RUN_COMPONENTS],
      'white-label': [...CUSTOMER_RUN_COMPONENTS],
      'enterprise-private-cloud': [...CUSTOMER_RUN_COMPONENTS],
    },
    supportedVersions: {
      php: '>=8.2',
      node: '>=20',
      nginx: '>=1.24',
      postgresql: '>=14',
      mysql: '>=8.0',
      redis: '>=6.2',
    },
    heartbeatMaxAgeSeconds: 15 * 60,
    backupMaxAgeSeconds: 24 * 3600,
    saasStrategies: ['blue-green', 'rolling'],
  },
  provisioning: {
    signatureThreshold: 1,
    retry: { maxAttempts: 3, intervalSeconds: 2, backoffRate: 2, maxDelaySeconds: 60 },
    stepTimeoutSeconds: 900,
    agentHeartbeatSeconds: 300,
    rollout: { canarySize: 1, waveSize: 10, maxConcurrency: 5, maxFailures: 0 },
  },
  secrets: {
    required: {
      saas: { APP_KEY: 'secrets-manager', DB_PASSWORD: 'secrets-manager', REDIS_PASSWORD: 'secrets-manager' },
      'self-hosted': { ...customerRunSecrets },
      'white-label': { ...customerRunSecrets },
      'enterprise-private-cloud': { ...customerRunSecrets },
    },
  },
  attestation: {
    requiredForModes: ['self-hosted', 'enterprise-private-cloud'],
    maxAgeSeconds: 24 * 3600,
    requiredFlags: { appDebug: false },
    requireReleaseMatch: true,
  },
};
