// Token store: only hashes are written; every change is audited on the control stream.
import { randomBytes } from 'node:crypto';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_STREAM } from '../core/audit.js';
import { BOOTSTRAP_TOKEN_ID, hashTokenSecret, newToken, type TokenRecord } from '../core/tokens.js';
import { problems } from '../core/problems.js';
import { ddb, tableName } from './dynamo.js';
import { transactWithAudit } from './audit.js';

export async function getTokenRecord(id: string): Promise<TokenRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('tokens'), Key: { id }, ConsistentRead: true }));
  return out.Item as TokenRecord | undefined;
}

export interface CreatedToken {
  record: TokenRecord;
  token: string;
}

/** Build a new token record (not yet written): callers put it in their own transaction. */
export function mintToken(scopes: string[], createdBy: string, now: Date, opts: { description?: string; expiresAt?: string } = {}): CreatedToken {
  const { id, token } = newToken();
  const record: TokenRecord = {
    id,
    secretHash: hashTokenSecret(token),
    scopes,
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    createdAt: now.toISOString(),
    createdBy,
    ...(opts.expiresAt !== undefined ? { expiresAt: opts.expiresAt } : {}),
  };
  return { record, token };
}

export function putTokenItem(record: TokenRecord) {
  return {
    item: { Put: { TableName: tableName('tokens'), Item: record, ConditionExpression: 'attribute_not_exists(id)' } },
  };
}

export async function createToken(
  scopes: string[],
  actor: string,
  now: Date,
  opts: { description?: string; expiresAt?: string } = {},
): Promise<CreatedToken> {
  const created = mintToken(scopes, actor, now, opts);
  const { secretHash: _h, ...shown } = created.record;
  void _h;
  await transactWithAudit([putTokenItem(created.record)], [{ stream: CONTROL_STREAM, actor, action: 'token.created', details: { token: shown } }], now);
  return created;
}

export async function listTokens(limit: number, startKey?: Record<string, unknown>) {
  const out = await ddb().send(
    new ScanCommand({ TableName: tableName('tokens'), Limit: limit, ExclusiveStartKey: startKey, ConsistentRead: true }),
  );
  return { items: (out.Items ?? []) as TokenRecord[], lastKey: out.LastEvaluatedKey };
}

export async function revokeToken(id: string, actor: string, now: Date): Promise<TokenRecord> {
  const at = now.toISOString();
  const existing = await getTokenRecord(id);
  if (!existing) throw problems.notFound('TOKEN_NOT_FOUND', `No token ${id}.`);
  if (existing.revokedAt) return existing;
  await transactWithAudit(
    [
      {
        item: {
          Update: {
            TableName: tableName('tokens'),
            Key: { id },
            UpdateExpression: 'SET revokedAt = :at, revokedBy = :by',
            ConditionExpression: 'attribute_exists(id) AND attribute_not_exists(revokedAt)',
            ExpressionAttributeValues: { ':at': at, ':by': actor },
          },
        },
        onConditionFailed: () => problems.conflict('TOKEN_ALREADY_REVOKED', `Token ${id} is already revoked.`),
      },
    ],
    [{ stream: CONTROL_STREAM, actor, action: 'token.revoked', details: { tokenId: id } }],
    now,
  );
  return { ...existing, revokedAt: at, revokedBy: actor };
}

/** Who stores the bootstrap token: the local runtime at start-up, or the stack's custom resource in AWS. */
export type BootstrapWriter = 'local-runtime' | 'stack';

class BootstrapUnchanged extends Error {}

/**
 * The one writer of the bootstrap admin token (SPEC §5), for the local runtime at start-up and for the
 * stack's custom resource in AWS (functions/custom/bootstrap-admin.ts): store the hash of `token` (one is
 * generated when none is given) as token "bootstrap", audited on the control stream. The same value keeps
 * the item as it is — a bootstrap token an admin revoked stays revoked, in both places; only a new value
 * (a changed DCP_ADMIN_TOKEN, a new secret) replaces it.
 */
export async function bootstrapAdminToken(token?: string, now = new Date(), writer: BootstrapWriter = 'local-runtime'): Promise<string> {
  const value = token ?? `dcp-admin-${randomBytes(24).toString('base64url')}`;
  if (value.length < 16) throw new Error('DCP_ADMIN_TOKEN must be at least 16 characters');
  const secretHash = hashTokenSecret(value);
  const existing = await getTokenRecord(BOOTSTRAP_TOKEN_ID);
  if (existing && existing.secretHash === secretHash) return value;
  const record: TokenRecord = {
    id: BOOTSTRAP_TOKEN_ID,
    secretHash,
    scopes: ['admin'],
    description: 'Bootstrap admin token',
    createdAt: now.toISOString(),
    createdBy: writer,
  };
  try {
    await transactWithAudit(
      [
        {
          item: {
            Put: {
              TableName: tableName('tokens'),
              Item: record,
              // Two writers at once (a stack update racing a retry) store one value once.
              ConditionExpression: 'attribute_not_exists(id) OR secretHash <> :hash',
              ExpressionAttributeValues: { ':hash': secretHash },
            },
          },
          onConditionFailed: () => new BootstrapUnchanged(),
        },
      ],
      [
        {
          stream: CONTROL_STREAM,
          actor: writer,
          action: 'token.bootstrapped',
          details: { tokenId: BOOTSTRAP_TOKEN_ID, scopes: ['admin'], replaced: existing !== undefined },
        },
      ],
      now,
    );
  } catch (e) {
    if (!(e instanceof BootstrapUnchanged)) throw e;
  }
  return value;
}
