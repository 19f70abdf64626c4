// License store. targetCount is kept by target registration and decommissioning in their transactions.
import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_STREAM } from '../core/audit.js';
import { problems } from '../core/problems.js';
import type { LicenseRecord } from '../core/records.js';
import type { CreateLicenseBody } from '../core/schemas/licenses.js';
import { ddb, tableName } from './dynamo.js';
import { transactWithAudit } from './audit.js';

export async function getLicense(id: string): Promise<LicenseRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('licenses'), Key: { id }, ConsistentRead: true }));
  return out.Item as LicenseRecord | undefined;
}

export async function createLicense(body: CreateLicenseBody, actor: string, now: Date): Promise<LicenseRecord> {
  const record: LicenseRecord = {
    id: body.id ?? `lic-${randomBytes(8).toString('hex')}`,
    customerId: body.customerId,
    entitlements: { modes: body.entitlements.modes, maxTargets: body.entitlements.maxTargets, features: body.entitlements.features },
    expiresAt: new Date(body.expiresAt).toISOString(),
    status: 'active',
    targetCount: 0,
    createdAt: now.toISOString(),
  };
  await transactWithAudit(
    [
      {
        item: { Put: { TableName: tableName('licenses'), Item: record, ConditionExpression: 'attribute_not_exists(id)' } },
        onConditionFailed: () => problems.conflict('LICENSE_EXISTS', `License ${record.id} already exists.`),
      },
    ],
    [{ stream: CONTROL_STREAM, actor, action: 'license.created', details: { license: record } }],
    now,
  );
  return record;
}

export async function revokeLicense(id: string, reason: string, actor: string, now: Date): Promise<LicenseRecord> {
  const existing = await getLicense(id);
  if (!existing) throw problems.notFound('LICENSE_NOT_FOUND', `No license ${id}.`);
  if (existing.status === 'revoked') throw problems.conflict('LICENSE_ALREADY_REVOKED', `License ${id} is already revoked.`);
  const at = now.toISOString();
  await transactWithAudit(
    [
      {
        item: {
          Update: {
            TableName: tableName('licenses'),
            Key: { id },
            UpdateExpression: 'SET #s = :revoked, revokedAt = :at, revokedReason = :reason',
            ConditionExpression: '#s = :active',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':revoked': 'revoked', ':active': 'active', ':at': at, ':reason': reason },
          },
        },
        onConditionFailed: () => problems.conflict('LICENSE_ALREADY_REVOKED', `License ${id} is already revoked.`),
      },
    ],
    [{ stream: CONTROL_STREAM, actor, action: 'license.revoked', details: { licenseId: id, reason } }],
    now,
  );
  return { ...existing, status: 'revoked', revokedAt: at, revokedReason: reason };
}

/** License status as a heartbeat client sees it. */
export function licenseStatus(l: LicenseRecord | undefined, now: Date): { status: 'active' | 'revoked' | 'expired' | 'not-found'; expiresAt: string | null } {
  if (!l) return { status: 'not-found', expiresAt: null };
  if (l.status === 'revoked') return { status: 'revoked', expiresAt: l.expiresAt };
  if (Date.parse(l.expiresAt) <= now.getTime()) return { status: 'expired', expiresAt: l.expiresAt };
  return { status: 'active', expiresAt: l.expiresAt };
}
