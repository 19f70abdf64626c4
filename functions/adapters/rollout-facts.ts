// The facts of a whole rollout (SPEC §7.4), read in bulk: the targets of the release's channel and modes
// by the byChannelMode index (one paginated Query per mode, never a Scan), the items every decision
// shares once (the release, the four policy heads, the trust set), and each target's own items (license,
// latest attestation, bound release, billing guard) with BatchGetItem, 100 keys a request, every key read
// once however many targets point at it. The decision per target is then the same pure `decide` as
// POST /decisions, over the same assembled facts.
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { assembleFacts, decide, factKeys, type FactItems, type ItemRef } from '../core/decisions.js';
import { POLICY_KINDS, type DeploymentMode, type PolicyDocuments, type PolicyKind } from '../core/policies.js';
import type { ReleaseRecord, TargetRecord } from '../core/records.js';
import { skipReason, type RolloutCandidate } from '../core/rollouts.js';
import { TABLES, type TableId } from '../core/tables.js';
import { TRUST_SET_KEY } from '../core/guards.js';
import { ddb, queryAll, tableName } from './dynamo.js';
import { policyFromItem, policyHeadKey, type StoredPolicy } from './policies.js';
import type { TrustSetItem } from '../core/decisions.js';

/** BatchGetItem's limit. */
const BATCH_GET_KEYS = 100;
/** Requests in flight at once; enough to hide latency without tripping throttling on a cold table. */
const PARALLEL_REQUESTS = 8;
const MAX_BATCH_ATTEMPTS = 10;

/** The items every decision of one rollout shares. */
export interface SharedFacts {
  release?: ReleaseRecord;
  trustSet?: TrustSetItem;
  policies: PolicyDocuments;
  policyVersions: Record<PolicyKind, number>;
}

export interface RolloutFacts {
  /** Every target of the channel and modes, with its `update` decision when it is a candidate for one. */
  candidates: RolloutCandidate[];
  /** The targets as read (by id), for whoever starts their runs. */
  targets: Map<string, TargetRecord>;
}

type Key = Record<string, string>;

/** `table\0pk\0sk`: one string per item, from a key or from the item itself. */
function keyString(table: TableId, item: Record<string, unknown>): string {
  const spec = TABLES[table];
  return [table, item[spec.partitionKey.name], spec.sortKey ? item[spec.sortKey.name] : ''].join('\u0000');
}

/**
 * Read items by key: BatchGetItem in chunks of 100, a few requests in parallel, UnprocessedKeys re-asked
 * with backoff until none are left. Duplicate refs are read once. Answers the found items by keyString.
 */
export async function batchGetItems(refs: readonly ItemRef[], consistentRead: boolean): Promise<Map<string, Record<string, unknown>>> {
  const unique = new Map<string, ItemRef>();
  for (const ref of refs) unique.set(keyString(ref.table, ref.key), ref);
  const list = [...unique.values()];
  const chunks: ItemRef[][] = [];
  for (let i = 0; i < list.length; i += BATCH_GET_KEYS) chunks.push(list.slice(i, i + BATCH_GET_KEYS));

  // Only the tables the refs name: a function is given the names of its own tables, no others.
  const byName = new Map<string, TableId>([...new Set(list.map((r) => r.table))].map((id) => [tableName(id), id]));
  const found = new Map<string, Record<string, unknown>>();
  await forEachLimited(chunks, PARALLEL_REQUESTS, async (chunk) => {
    let pending: Record<string, { Keys: Key[]; ConsistentRead: boolean }> | undefined = {};
    for (const ref of chunk) (pending[tableName(ref.table)] ??= { Keys: [], ConsistentRead: consistentRead }).Keys.push(ref.key);
    for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchGetItem still left keys unprocessed after ${MAX_BATCH_ATTEMPTS} attempts`);
      if (attempt > 0) await sleep(Math.min(2000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2));
      const out = await ddb().send(new BatchGetCommand({ RequestItems: pending }));
      for (const [name, items] of Object.entries(out.Responses ?? {})) {
        const table = byName.get(name)!;
        for (const item of items) found.set(keyString(table, item), item);
      }
      pending = out.UnprocessedKeys as typeof pending;
    }
  });
  return found;
}

/** The release and the items every decision shares, in one BatchGetItem (consistent: they are few). */
export async function loadSharedFacts(releaseId: string): Promise<SharedFacts> {
  const refs: ItemRef[] = [
    { table: 'releases', key: { id: releaseId } },
    { table: 'guards', key: { key: TRUST_SET_KEY } },
    ...POLICY_KINDS.map((kind): ItemRef => ({ table: 'policies', key: policyHeadKey(kind) })),
  ];
  const found = await batchGetItems(refs, true);
  const get = (ref: ItemRef) => found.get(keyString(ref.table, ref.key));
  const stored = Object.fromEntries(
    POLICY_KINDS.map((kind) => [kind, policyFromItem(kind, get({ table: 'policies', key: policyHeadKey(kind) }))]),
  ) as { [K in PolicyKind]: StoredPolicy<K> };
  return {
    release: get(refs[0]!) as ReleaseRecord | undefined,
    trustSet: get(refs[1]!) as TrustSetItem | undefined,
    policies: {
      target: stored.target.document,
      provisioning: stored.provisioning.document,
      secrets: stored.secrets.document,
      attestation: stored.attestation.document,
    },
    policyVersions: Object.fromEntries(POLICY_KINDS.map((k) => [k, stored[k].version])) as Record<PolicyKind, number>,
  };
}

/** Every target of one channel and these modes, by the byChannelMode index: one paginated Query per mode. */
export async function selectTargets(channel: string, modes: readonly DeploymentMode[]): Promise<TargetRecord[]> {
  const perMode = await Promise.all(
    modes.map((mode) =>
      queryAll<TargetRecord>({
        TableName: tableName('targets'),
        IndexName: 'byChannelMode',
        KeyConditionExpression: 'channelMode = :cm',
        ExpressionAttributeValues: { ':cm': `${channel}#${mode}` },
      }),
    ),
  );
  return perMode.flat();
}

/**
 * The targets of the release's channel and `modes`, each with its `update` decision for the release when
 * it is a candidate (active, not already on the release). Targets that are not candidates are returned
 * without a decision and cost no reads beyond the index. Per-target items are read eventually consistent:
 * the update workflow's policy gate decides again, with consistent reads, before it changes anything.
 */
export async function loadRolloutFacts(
  release: ReleaseRecord,
  modes: readonly DeploymentMode[],
  shared: SharedFacts,
  now: Date,
): Promise<RolloutFacts> {
  const targets = await selectTargets(release.channel, modes);
  const candidates = targets.filter((t) => !skipReason(t, release.id));

  const keysOf = new Map<string, ReturnType<typeof factKeys>>();
  const refs: ItemRef[] = [];
  for (const target of candidates) {
    const keys = factKeys(target, release.id);
    keysOf.set(target.id, keys);
    refs.push(keys.license, keys.attestation);
    // The release asked for is shared; a bound release is usually shared by many targets (read once).
    if (keys.boundRelease && target.currentRelease !== release.id) refs.push(keys.boundRelease);
    if (keys.billingGuard) refs.push(keys.billingGuard);
  }
  const found = await batchGetItems(refs, false);
  const get = (ref: ItemRef | undefined) => (ref ? found.get(keyString(ref.table, ref.key)) : undefined);

  const decisions = new Map<string, ReturnType<typeof decide>>();
  for (const target of candidates) {
    const keys = keysOf.get(target.id)!;
    const items: FactItems = {
      license: get(keys.license) as FactItems['license'],
      attestation: get(keys.attestation) as FactItems['attestation'],
      release: shared.release,
      boundRelease: get(keys.boundRelease) as FactItems['boundRelease'],
      trustSet: shared.trustSet,
      billingGuard: get(keys.billingGuard) as FactItems['billingGuard'],
    };
    const facts = assembleFacts(target, release.id, items);
    decisions.set(target.id, decide({ action: 'update', facts, policies: shared.policies, now }));
  }
  return {
    candidates: targets.map((target) => ({ target, ...(decisions.has(target.id) ? { decision: decisions.get(target.id)! } : {}) })),
    targets: new Map(targets.map((t) => [t.id, t])),
  };
}

/** Run `fn` over `items` with at most `limit` in flight; after the first failure no new item starts. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  });
  await Promise.all(workers);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
