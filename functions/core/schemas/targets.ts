// Request shapes of the target routes (SPEC §5). Registration checks shape only; whether a target meets
// its mode's requirements is answered by decisions.
import * as z from 'zod';
import { deploymentMode, DEPLOYMENT_MODES } from '../policies.js';
import { identifier, isoTimestamp, listQuery } from './common.js';
import { parsePublicKey } from '../crypto/ed25519.js';
import { tryDecodeBase64Strict } from '../crypto/base64.js';
import { InvalidCronError, parseCron } from '../cron.js';

export const ed25519PublicKey = z.string().max(64).refine((s) => {
  try {
    parsePublicKey(s);
    return true;
  } catch {
    return false;
  }
}, 'must be a strict base64 Ed25519 public key (32 bytes, a valid curve point)');

export const x25519PublicKey = z
  .string()
  .max(64)
  .refine((s) => tryDecodeBase64Strict(s, 32) !== undefined, 'must be a strict base64 X25519 public key (32 bytes)');

const componentName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'component names are lower-case words joined by "-"');
export const runtimeSchema = z
  .record(componentName, z.string().min(1).max(64).regex(/^[0-9A-Za-z.+-]+$/, 'must be a version such as 8.3 or 1.24.0'))
  .refine((r) => Object.keys(r).length <= 64, 'at most 64 components');

export const backupPolicySchema = z.strictObject({
  schedule: z.string().min(1).max(100),
  retentionDays: z.number().int().min(1).max(3650),
  lastBackupAt: isoTimestamp.optional(),
});

export const maintenanceWindowSchema = z.strictObject({
  /** Five-field cron expression (UTC) at which the window opens; one that can never match is refused. */
  cron: z
    .string()
    .max(200)
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
  customDomain: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a lower-case DNS name'),
  brandingRef: z.string().min(1).max(256),
  billingAccountId: identifier,
});

export const enterpriseSchema = z.strictObject({
  vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id such as vpc-0abc12345'),
  sso: z.strictObject({
    protocol: z.enum(['saml', 'oidc']),
    issuer: z.url(),
    clientId: z.string().min(1).max(256).optional(),
  }),
  privateStorageBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a bucket name'),
  aiGatewayEndpoint: z.url().optional(),
});

export const strategySchema = z.enum(['blue-green', 'rolling', 'in-place']);
export const channelSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be a lower-case channel name such as stable or beta');

export const registerTargetBody = z.strictObject({
  id: identifier.optional(),
  name: z.string().trim().min(1).max(200),
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
    name: z.string().trim().min(1).max(200),
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
  releaseVersion: z.string().min(1).max(128).optional(),
  flags: z.strictObject({ appDebug: z.boolean() }),
});
export const attestationBody = z.strictObject({
  statement: attestationStatement,
  signature: z.string().min(1).max(200),
});
export type AttestationBody = z.infer<typeof attestationBody>;
