// Target store. Every state change goes out in one transaction with its audit record; the target's
// `version` is the optimistic-concurrency token (ETag), and uniqueness rules (billing account per tenant,
// license target counts) are enforced by items written in the same transaction.
import { randomBytes } from 'node:crypto';
import { GetCommand, QueryCommand, ScanCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { targetStream } from '../core/audit.js';
import { billingAccountGuardKey } from '../core/guards.js';
import { problems, ProblemError } from '../core/problems.js';
import type { LicenseRecord, TargetRecord } from '../core/records.js';
import type { PatchTargetBody, RegisterTargetBody } from '../core/schemas/targets.js';
import type { CursorKey } from '../core/cursor.js';
import { ddb, tableName } from './dynamo.js';
import { transactWithAudit, type StateWrite } from './audit.js';
import { mintToken } from './tokens.js';
import { getLicense } from './licenses.js';

export async function getTarget(id: string): Promise<TargetRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('targets'), Key: { id }, ConsistentRead: true }));
  return out.Item as TargetRecord | undefined;
}

/** The billing account belongs to the first tenant that uses it; the same tenant may reuse it. */
function billingGuard(billingAccountId: string, tenantId: string, targetId: string): StateWrite {
  return {
    item: {
      Put: {
        TableName: tableName('guards'),
        Item: { key: billingAccountGuardKey(billingAccountId), kind: 'billing-account', tenantId, targetId },
        ConditionExpression: 'attribute_not_exists(#k) OR tenantId = :t',
        ExpressionAttributeNames: { '#k': 'key' },
        ExpressionAttributeValues: { ':t': tenantId },
      },
    },
    onConditionFailed: () =>
      problems.conflict('BILLING_ACCOUNT_IN_USE', `Billing account ${billingAccountId} belongs to another tenant.`),
  };
}

function licenseSeat(license: LicenseRecord): StateWrite {
  return {
    item: {
      Update: {
        TableName: tableName('licenses'),
        Key: { id: license.id },
        UpdateExpression: 'SET targetCount = if_not_exists(targetCount, :zero) + :one',
        ConditionExpression: 'attribute_exists(id) AND (attribute_not_exists(targetCount) OR targetCount < :max)',
        ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':max': license.entitlements.maxTargets },
      },
    },
    onConditionFailed: () =>
      problems.conflict(
        'LICENSE_MAX_TARGETS',
        `License ${license.id} allows ${license.entitlements.maxTargets} targets and all are taken.`,
      ),
  };
}

export interface Registered {
  target: TargetRecord;
  token: string;
  tokenId: string;
}

export async function registerTarget(body: RegisterTargetBody, actor: string, now: Date): Promise<Registered> {
  const id = body.id ?? `tgt-${randomBytes(8).toString('hex')}`;
  const at = now.toISOString();
  const channel = body.channel ?? 'stable';
  const { record: tokenRecord, token } = mintToken([`target:${id}`], actor, now, { description: `Target ${id}` });
  const target: TargetRecord = {
    id,
    name: body.name,
    mode: body.mode,
    tenantId: body.tenantId,
    licenseId: body.licenseId,
    channel,
    channelMode: `${channel}#${body.mode}`,
    publicKey: body.publicKey,
    ...(body.agentPublicKey ? { agentPublicKey: body.agentPublicKey } : {}),
    ...(body.encryptionKey ? { encryptionKey: body.encryptionKey } : {}),
    ...(body.agent ? { agent: body.agent } : {}),
    tokenId: tokenRecord.id,
    runtime: body.runtime,
    runtimeReportedAt: at,
    ...(body.backupPolicy ? { backupPolicy: body.backupPolicy } : {}),
    ...(body.strategy ? { strategy: body.strategy } : {}),
    ...(body.maintenanceWindow ? { maintenanceWindow: body.maintenanceWindow } : {}),
    ...(body.whiteLabel ? { whiteLabel: body.whiteLabel } : {}),
    ...(body.enterprise ? { enterprise: body.enterprise } : {}),
    status: 'registered',
    licenseSeat: true,
    blockers: [],
    installerLocked: false,
    maintenanceMode: false,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
  // Every target takes a seat of its license in the registration transaction, so a license's maxTargets
  // holds: registering against a license that does not exist (yet) would take none, and is refused.
  const license = await getLicense(body.licenseId);
  if (!license) {
    throw new ProblemError(400, 'LICENSE_NOT_FOUND', `No license ${body.licenseId}: create it first (POST /licenses); each target takes one of its seats.`, [{ path: '/licenseId', message: 'names no license' }]);
  }
  const writes: StateWrite[] = [
    {
      item: { Put: { TableName: tableName('targets'), Item: target, ConditionExpression: 'attribute_not_exists(id)' } },
      onConditionFailed: () => problems.conflict('TARGET_EXISTS', `Target ${id} already exists.`),
    },
    { item: { Put: { TableName: tableName('tokens'), Item: tokenRecord, ConditionExpression: 'attribute_not_exists(id)' } } },
  ];
  writes.push(licenseSeat(license));
  if (body.whiteLabel) writes.push(billingGuard(body.whiteLabel.billingAccountId, body.tenantId, id));
  await transactWithAudit(
    writes,
    [
      {
        stream: targetStream(id),
        actor,
        action: 'target.registered',
        targetId: id,
        details: { target: target, tokenId: tokenRecord.id },
      },
    ],
    now,
  );
  return { target, token, tokenId: tokenRecord.id };
}

/**
 * Conditional update of a target at an expected version, with its audit record. Only the changed
 * attributes are written (UpdateItem), so facts recorded alongside — heartbeats, attestation summaries —
 * are never overwritten by a stale copy.
 */
export async function updateTarget(
  current: TargetRecord,
  changes: Partial<TargetRecord>,
  audit: { actor: string; action: string; details: Record<string, unknown> },
  now: Date,
  extraWrites: StateWrite[] = [],
  expectedVersion = current.version,
): Promise<TargetRecord> {
  const updatedAt = now.toISOString();
  const next: TargetRecord = { ...current, ...changes, updatedAt, version: expectedVersion + 1 };
  const names: Record<string, string> = { '#version': 'version', '#updatedAt': 'updatedAt' };
  const values: Record<string, unknown> = { ':v': expectedVersion, ':next': expectedVersion + 1, ':updatedAt': updatedAt };
  const sets = ['#version = :next', '#updatedAt = :updatedAt'];
  const removes: string[] = [];
  Object.entries(changes).forEach(([k, v], i) => {
    names[`#f${i}`] = k;
    if (v === undefined) {
      removes.push(`#f${i}`);
      delete (next as unknown as Record<string, unknown>)[k];
    } else {
      values[`:f${i}`] = v;
      sets.push(`#f${i} = :f${i}`);
    }
  });
  await transactWithAudit(
    [
      {
        item: {
          Update: {
            TableName: tableName('targets'),
            Key: { id: current.id },
            UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
            ConditionExpression: '#version = :v',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        },
        onConditionFailed: () =>
          problems.preconditionFailed(`Target ${current.id} is no longer at version ${expectedVersion}; read it again and retry.`),
      },
      ...extraWrites,
    ],
    [{ stream: targetStream(current.id), actor: audit.actor, action: audit.action, targetId: current.id, details: audit.details }],
    now,
  );
  return next;
}

/** Record a heartbeat: time and, when reported, the runtime. Not a user edit, so the version stays. */
export async function recordHeartbeat(id: string, runtime: TargetRecord['runtime'] | undefined, now: Date): Promise<void> {
  const at = now.toISOString();
  await ddb().send(
    new UpdateCommand({
      TableName: tableName('targets'),
      Key: { id },
      UpdateExpression: runtime ? 'SET lastHeartbeatAt = :at, runtime = :rt, runtimeReportedAt = :at' : 'SET lastHeartbeatAt = :at',
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeValues: runtime ? { ':at': at, ':rt': runtime } : { ':at': at },
    }),
  );
}

export async function patchTarget(current: TargetRecord, expectedVersion: number, body: PatchTargetBody, actor: string, now: Date) {
  if (current.version !== expectedVersion) {
    throw problems.preconditionFailed(`Target ${current.id} is at version ${current.version}, not ${expectedVersion}.`);
  }
  if (current.status === 'decommissioned') throw problems.conflict('TARGET_DECOMMISSIONED', `Target ${current.id} is decommissioned.`);
  const changes: Partial<TargetRecord> = { ...body } as Partial<TargetRecord>;
  if (body.channel) changes.channelMode = `${body.channel}#${current.mode}`;
  if (body.runtime) changes.runtimeReportedAt = now.toISOString();
  const extra: StateWrite[] = [];
  if (body.whiteLabel && body.whiteLabel.billingAccountId !== current.whiteLabel?.billingAccountId) {
    extra.push(billingGuard(body.whiteLabel.billingAccountId, current.tenantId, current.id));
  }
  return updateTarget(current, changes, { actor, action: 'target.updated', details: { changed: Object.keys(body), changes: body } }, now, extra, expectedVersion);
}

export type TargetListFilter = { mode?: string; status?: string; channel?: string; tenantId?: string };

/** Pick the index that narrows a listing most; the remaining filters become a FilterExpression. */
export function listPlan(f: TargetListFilter): { index?: string; keyNames: string[]; key?: [string, string] } {
  if (f.tenantId) return { index: 'byTenant', keyNames: ['id', 'tenantId'], key: ['tenantId', f.tenantId] };
  if (f.channel && f.mode) return { index: 'byChannelMode', keyNames: ['id', 'channelMode'], key: ['channelMode', `${f.channel}#${f.mode}`] };
  if (f.status) return { index: 'byStatus', keyNames: ['id', 'status'], key: ['status', f.status] };
  return { keyNames: ['id'] };
}

export async function listTargets(f: TargetListFilter, limit: number, startKey?: CursorKey) {
  const plan = listPlan(f);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const filters: string[] = [];
  for (const [field, value] of Object.entries(f)) {
    if (value === undefined) continue;
    if (plan.key && (plan.key[0] === field || (plan.key[0] === 'channelMode' && (field === 'channel' || field === 'mode')))) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    filters.push(`#${field} = :${field}`);
  }
  const common = {
    TableName: tableName('targets'),
    Limit: limit,
    ExclusiveStartKey: startKey,
    ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
  };
  if (plan.index && plan.key) {
    names['#pk'] = plan.key[0];
    values[':pk'] = plan.key[1];
    const input: QueryCommandInput = {
      ...common,
      IndexName: plan.index,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
    const out = await ddb().send(new QueryCommand(input));
    return { items: (out.Items ?? []) as TargetRecord[], lastKey: out.LastEvaluatedKey };
  }
  const out = await ddb().send(
    new ScanCommand({
      ...common,
      ...(filters.length ? { ExpressionAttributeNames: names, ExpressionAttributeValues: values } : {}),
    }),
  );
  return { items: (out.Items ?? []) as TargetRecord[], lastKey: out.LastEvaluatedKey };
}

/** Decommission: the target stops, its token is revoked and its license seat is freed. */
export async function decommissionTarget(current: TargetRecord, reason: string, actor: string, now: Date): Promise<TargetRecord> {
  if (current.status === 'decommissioned') throw problems.conflict('TARGET_DECOMMISSIONED', `Target ${current.id} is already decommissioned.`);
  if (current.status === 'provisioning' || current.status === 'updating') {
    throw problems.conflict('TARGET_BUSY', `Target ${current.id} is ${current.status}; wait for the run to end.`);
  }
  const extra: StateWrite[] = [
    {
      item: {
        Update: {
          TableName: tableName('tokens'),
          Key: { id: current.tokenId },
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at), revokedBy = if_not_exists(revokedBy, :by)',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':at': now.toISOString(), ':by': actor },
        },
      },
    },
  ];
  // Only a seat the target holds is freed (targets registered against a license before it existed never
  // took one); the flag goes with it, so the seat is freed once.
  if (current.licenseSeat === true) {
    extra.push({
      item: {
        Update: {
          TableName: tableName('licenses'),
          Key: { id: current.licenseId },
          UpdateExpression: 'SET targetCount = targetCount - :one',
          ConditionExpression: 'targetCount > :zero',
          ExpressionAttributeValues: { ':one': 1, ':zero': 0 },
        },
      },
    });
  }
  return updateTarget(current, { status: 'decommissioned', licenseSeat: false }, { actor, action: 'target.decommissioned', details: { reason, seatFreed: current.licenseSeat === true } }, now, extra);
}
