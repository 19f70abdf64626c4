// Loading the facts of one decision exactly as SPEC §4 allows: one GetItem for the target and one
// BatchGetItem for everything it points to (license, latest attestation, releases, policy heads, trust
// set). UnprocessedKeys are re-requested, as DynamoDB asks; no Query or Scan is ever issued here.
import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { factKeyList, factKeys, assembleFacts, type DecisionFacts, type FactItems, type ItemRef } from '../core/decisions.js';
import { POLICY_KINDS, type PolicyDocuments, type PolicyKind } from '../core/policies.js';
import type { TargetRecord } from '../core/records.js';
import type { TableId } from '../core/tables.js';
import { ddb, tableName } from './dynamo.js';
import { policyFromItem, type StoredPolicy } from './policies.js';

export interface LoadedFacts {
  facts: DecisionFacts;
  policies: PolicyDocuments;
  policyVersions: Record<PolicyKind, number>;
}

export async function getTargetForDecision(id: string): Promise<TargetRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName('targets'), Key: { id }, ConsistentRead: true }));
  return out.Item as TargetRecord | undefined;
}

function sameKey(a: Record<string, unknown>, b: Record<string, string>): boolean {
  return Object.entries(b).every(([k, v]) => a[k] === v);
}

export async function loadFacts(target: TargetRecord, releaseId: string | undefined): Promise<LoadedFacts> {
  const keys = factKeys(target, releaseId);
  const refs = factKeyList(keys);
  // Only the tables this decision reads: a function is given the names of its own tables, no others.
  const byTable = new Map<string, TableId>();
  const request: Record<string, { Keys: Record<string, string>[]; ConsistentRead: boolean }> = {};
  for (const ref of refs) {
    const name = tableName(ref.table);
    byTable.set(name, ref.table);
    (request[name] ??= { Keys: [], ConsistentRead: true }).Keys.push(ref.key);
  }
  const found: { table: TableId; item: Record<string, unknown> }[] = [];
  let pending: typeof request | undefined = request;
  for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
    const out = await ddb().send(new BatchGetCommand({ RequestItems: pending }));
    for (const [name, items] of Object.entries(out.Responses ?? {})) {
      for (const item of items) found.push({ table: byTable.get(name)!, item });
    }
    pending = out.UnprocessedKeys as typeof request | undefined;
    if (attempt > 8) throw new Error('BatchGetItem kept returning unprocessed keys');
  }
  const pick = (ref: ItemRef | undefined) => (ref ? found.find((f) => f.table === ref.table && sameKey(f.item, ref.key))?.item : undefined);
  const items: FactItems = {
    license: pick(keys.license) as FactItems['license'],
    attestation: pick(keys.attestation) as FactItems['attestation'],
    release: pick(keys.release) as FactItems['release'],
    boundRelease: pick(keys.boundRelease) as FactItems['boundRelease'],
    trustSet: pick(keys.trustSet) as FactItems['trustSet'],
    billingGuard: pick(keys.billingGuard) as FactItems['billingGuard'],
  };
  const stored = Object.fromEntries(
    POLICY_KINDS.map((kind) => [kind, policyFromItem(kind, pick(keys.policies[kind]))]),
  ) as { [K in PolicyKind]: StoredPolicy<K> };
  return {
    facts: assembleFacts(target, releaseId, items),
    policies: {
      target: stored.target.document,
      provisioning: stored.provisioning.document,
      secrets: stored.secrets.document,
      attestation: stored.attestation.document,
    },
    policyVersions: {
      target: stored.target.version,
      provisioning: stored.provisioning.version,
      secrets: stored.secrets.version,
      attestation: stored.attestation.version,
    },
  };
}
