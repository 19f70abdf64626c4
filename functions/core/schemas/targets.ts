// Request shapes of the target routes (SPEC §5). Registration checks shape only; whether a target meets
// its mode's requirements is answered by decisions.
import * as z from 'zod';
import { deploymentMode, DEPLOYMENT_MODES } from '../policies.js';
import { base64Bytes, identifier, isoTimestamp, listQuery, signature, text } from './common.js';
import { parsePublicKey } from '../crypto/ed25519.js';
import { InvalidCronError, parseCron } from '../cron.js';

export const ed25519PublicKey = base64Bytes(32).refine((s) => {
  try {
    parsePublicKey(s);
    return true;
  } catch {
    return false;
  }
}, 'must be a strict base64 Ed25519 public key (32 bytes, a valid curve point)');

/** An X25519 public key: any 32 bytes, so the canonical base64 shape is the whole rule. */
export const x25519PublicKey = base64Bytes(32);

export const componentName = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9-]*$/, 'component names are lower-case words joined by "-"');
/** Component → version; at most 64 components. */
export const MAX_RUNTIME_COMPONENTS = 64;
export const runtimeSchema = z
  .record(componentName, z.string().min(1).max(64).regex(/^[0-9A-Za-z.+-]+$/, 'must be a version such as 8.3 or 1.24.0'))
  .refine((r) => Object.keys(r).length <= MAX_RUNTIME_COMPONENTS, `at most ${MAX_RUNTIME_COMPONENTS} components`)
  .meta({ maxProperties: MAX_RUNTIME_COMPONENTS });

export const backupPolicySchema = z.strictObject({
  schedule: text(100, 1),
  retentionDays: z.number().int().min(1).max(3650),
  lastBackupAt: isoTimestamp.optional(),
});

export const maintenanceWindowSchema = z.strictObject({
  /** Five-field cron expression (UTC) at which the window opens; one that can never match is refused. */
  cron: text(200, 1)
    .superRefine((text, ctx) => {
      try {
        parseCron(text);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: e instanceof InvalidCronError ? e.message : 'must be a five-field cron expression' });
      }
    }),
  durationMinutes: z.number().int().min(15).max(24 * 60),
});

export const whiteLabelSchema = z.strictObject({
  customDomain: z.string().min(4).max(253).regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a lower-case DNS name'),
  brandingRef: text(256, 1),
  billingAccountId: identifier,
});

export const enterpriseSchema = z.strictObject({
  vpcId: z.string().min(12).max(21).regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id such as vpc-0abc12345'),
  sso: z.strictObject({
    protocol: z.enum(['saml', 'oidc']),
    issuer: z.url().max(2048),
    clientId: text(256, 1).optional(),
  }),
  privateStorageBucket: z.string().min(3).max(63).regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a bucket name'),
  aiGatewayEndpoint: z.url().max(2048).optional(),
});

export const strategySchema = z.enum(['blue-green', 'rolling', 'in-place']);
export const channelSchema = z.string().min(1).max(32).regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a lower-case channel name such as stable or beta');

export const registerTargetBody = z.strictObject({
  id: identifier.optional(),
  name: text(200).trim().min(1),
  mode: deploymentMode,
  tenantId: identifier,
  licenseId: identifier,
  publicKey: ed25519PublicKey,
  agentPublicKey: ed25519PublicKey.optional(),
  encryptionKey: x25519PublicKey.optional(),
  channel: channelSchema.optional(),
  runtime: runtimeSchema,
  backupPolicy: backupPolicySchema.optional(),
  strategy: strategySchema.optional(),
  maintenanceWindow: maintenanceWindowSchema.optional(),
  whiteLabel: whiteLabelSchema.optional(),
  enterprise: enterpriseSchema.optional(),
  agent: z.literal('simulated').optional(),
});
export type RegisterTargetBody = z.infer<typeof registerTargetBody>;

export const patchTargetBody = z
  .strictObject({
    name: text(200).trim().min(1),
    runtime: runtimeSchema,
    backupPolicy: backupPolicySchema,
    strategy: strategySchema,
    maintenanceWindow: maintenanceWindowSchema,
    channel: channelSchema,
    whiteLabel: whiteLabelSchema,
    enterprise: enterpriseSchema,
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'name at least one field to change');
export type PatchTargetBody = z.infer<typeof patchTargetBody>;

export const TARGET_STATUSES = ['registered', 'provisioning', 'active', 'updating', 'blocked', 'decommissioned'] as const;

export const listTargetsQuery = listQuery.extend({
  mode: z.enum(DEPLOYMENT_MODES).optional(),
  status: z.enum(TARGET_STATUSES).optional(),
  channel: channelSchema.optional(),
  tenantId: identifier.optional(),
});

export const heartbeatBody = z.strictObject({ runtime: runtimeSchema.optional() });

export const attestationStatement = z.strictObject({
  _type: z.literal('attestation'),
  targetId: identifier,
  issuedAt: isoTimestamp,
  runtime: runtimeSchema,
  releaseVersion: identifier.optional(),
  flags: z.strictObject({ appDebug: z.boolean() }),
});
export const attestationBody = z.strictObject({
  statement: attestationStatement,
  signature,
});
export type AttestationBody = z.infer<typeof attestationBody>;
