// Property test over every write route of the route table: start from a valid body, break it in one way that
// is invalid by construction, send it with a token that may call the route, and expect a 4xx problem
// document and no change to the audit trail or the fixture target. A write route without a valid body in
// the catalog below fails the suite, so new routes must be added here.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { useApi } from '../support/api.js';
import { attestation, CUSTOMER_RUNTIME, licenseBody, targetBody, targetKeys } from '../support/fixtures.js';
import { currentManifest, keyRecord, sampleSigned, testKey } from '../unit/crypto/release-fixtures.js';
import { ROUTES, fullPath, type RouteSpec } from '../../functions/core/routes/index.js';
import { openApiDocument } from '../../functions/core/openapi.js';
import { DEFAULT_POLICIES, POLICY_KINDS, type PolicyKind } from '../../functions/core/policies.js';
import { verifyManifest } from '../../functions/core/manifest.js';
import { signStatement } from '../../functions/core/crypto/signed-statement.js';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX } from '../../functions/core/problems.js';

const api = useApi();

// DCP_FUZZ_RUNS raises the number of runs for a deeper search (the default keeps the suite under ~20 s).
const TOTAL_RUNS = Number(process.env.DCP_FUZZ_RUNS ?? 150);
const MAX_BODY_BYTES = 256 * 1024;

// Fixtures the route paths point at (created in beforeAll).
const LICENSE = 'fz-lic';
const TARGET = 'fz-target';
const NEW_TARGET = 'fz-new'; // the id in registerTarget's valid body: must never come into existence
const RELEASE = '1.0.0';
const COMMAND = 'cmd-fuzz'; // no such command: an invalid body must be refused before any lookup
const signingKey = testKey('fuzz-signer');
const unregisteredKey = testKey('fuzz-unregistered');
const target = targetKeys();
let targetToken = '';

const future = () => new Date(Date.now() + 90 * 86400_000).toISOString();
const x25519 = () => {
  const der = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32)).toString('base64');
};
const manifest = (version: string) => currentManifest(version, [signingKey]);

// ---------------------------------------------------------------------------------------------------------
// The catalog: a valid body per write route and what about it is fixed, so mutations can be chosen that
// cannot leave it valid.

type Path = (string | number)[];
type Kind = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';

interface ValidBody {
  body: () => unknown;
  /** Path parameters of the route (fixtures created in beforeAll). */
  params?: Record<string, string>;
  /** Members whose removal makes the body invalid. */
  required?: Path[];
  /** Objects that refuse members they do not name ([] is the body itself). */
  closed?: Path[];
  /** JSON kinds a member may take when it is not just the kind it has in the valid body. */
  kinds?: [Path, Kind[]][];
}

const reason = (params: Record<string, string>): ValidBody => ({ body: () => ({ reason: 'fuzzing' }), params, required: [['reason']], closed: [[]] });
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** Every member of a policy document is required, except requiredFlags.appDebug (a partial object). */
function policyBody(kind: PolicyKind): ValidBody {
  const doc = DEFAULT_POLICIES[kind] as Record<string, unknown>;
  const required: Path[] = [['document']];
  const closed: Path[] = [[], ['document']];
  for (const [key, value] of Object.entries(doc)) {
    required.push(['document', key]);
    const isStrictChild = value !== null && typeof value === 'object' && !Array.isArray(value) && key !== 'supportedVersions';
    if (isStrictChild) {
      closed.push(['document', key]);
      if (key !== 'requiredFlags') for (const sub of Object.keys(value)) required.push(['document', key, sub]);
    }
  }
  return { body: () => ({ document: structuredClone(doc), comment: 'fuzz' }), required, closed };
}

const evaluateBody: ValidBody = {
  body: () => ({ targetId: TARGET, releaseId: RELEASE, action: 'provision' }),
  required: [['targetId']],
  closed: [[]],
};

const validBodies: Record<string, ValidBody> = {
  createToken: { body: () => ({ scopes: ['auditor'], description: 'fuzz', expiresAt: future() }), required: [['scopes']], closed: [[]] },
  ...Object.fromEntries(POLICY_KINDS.map((kind) => [`put${cap(kind)}Policy`, policyBody(kind)])),
  ...Object.fromEntries(POLICY_KINDS.map((kind) => [`evaluate${cap(kind)}Policy`, evaluateBody])),
  decide: { body: () => ({ targetId: TARGET, releaseId: RELEASE, action: 'bind' }), required: [['targetId'], ['action']], closed: [[]] },
  createLicense: {
    body: () => licenseBody('fz-lic-new'),
    required: [['customerId'], ['entitlements'], ['expiresAt'], ['entitlements', 'modes'], ['entitlements', 'maxTargets']],
    closed: [[], ['entitlements']],
  },
  revokeLicense: reason({ id: LICENSE }),
  registerTarget: {
    body: () =>
      targetBody(NEW_TARGET, 'self-hosted', LICENSE, target.publicKey, {
        encryptionKey: x25519(),
        maintenanceWindow: { cron: '0 3 * * 6', durationMinutes: 120 },
      }),
    required: [['name'], ['mode'], ['tenantId'], ['licenseId'], ['publicKey'], ['runtime'], ['backupPolicy', 'schedule'], ['backupPolicy', 'retentionDays'], ['maintenanceWindow', 'cron'], ['maintenanceWindow', 'durationMinutes']],
    closed: [[], ['backupPolicy'], ['maintenanceWindow']],
  },
  patchTarget: {
    // One member only, so removing it leaves an empty (invalid) change.
    body: () => ({ backupPolicy: { schedule: '0 4 * * *', retentionDays: 30, lastBackupAt: new Date().toISOString() } }),
    params: { id: TARGET },
    required: [['backupPolicy'], ['backupPolicy', 'schedule'], ['backupPolicy', 'retentionDays']],
    closed: [[], ['backupPolicy']],
  },
  heartbeat: { body: () => ({ runtime: CUSTOMER_RUNTIME }), params: { id: TARGET }, closed: [[]] },
  postAttestation: {
    body: () => attestation(TARGET, target.keys),
    params: { id: TARGET },
    required: [['statement'], ['signature'], ...['_type', 'targetId', 'issuedAt', 'runtime', 'flags'].map((k) => ['statement', k]), ['statement', 'flags', 'appDebug']],
    closed: [[], ['statement'], ['statement', 'flags']],
  },
  provisionTarget: { body: () => ({ releaseId: RELEASE }), params: { id: TARGET }, required: [['releaseId']], closed: [[]] },
  updateTarget: { body: () => ({ releaseId: RELEASE }), params: { id: TARGET }, required: [['releaseId']], closed: [[]] },
  unblockTarget: reason({ id: TARGET }),
  decommissionTarget: reason({ id: TARGET }),
  publishRelease: {
    body: () => manifest('2.0.0'),
    // Any change inside `signed` breaks the signature; the envelope and its entries are strict.
    required: [['signed'], ['signatures'], ['signatures', 0, 'keyId'], ['signatures', 0, 'sig'], ...Object.keys(sampleSigned()).map((k) => ['signed', k])],
    closed: [[], ['signed'], ['signatures', 0], ['signed', 'config'], ['signed', 'runtime']],
  },
  revokeRelease: reason({ id: RELEASE }),
  addSigningKey: {
    body: () => ({ keyId: unregisteredKey.keyId, publicKey: unregisteredKey.publicKeyBase64 }),
    required: [['keyId'], ['publicKey']],
    closed: [[]],
  },
  revokeSigningKey: { body: () => ({ reason: 'fuzzing' }), params: { keyId: signingKey.keyId }, closed: [[]] },
  validateConfig: {
    body: () => ({ mode: 'self-hosted', env: { APP_DEBUG: 'false', APP_ENV: 'production' } }),
    required: [['mode'], ['env']],
    closed: [[]],
    kinds: [[['env'], ['object', 'string']]],
  },
  postCommandResult: {
    body: () =>
      signStatement(
        {
          _type: 'command-result',
          commandId: COMMAND,
          targetId: TARGET,
          status: 'failed',
          output: {}, // open: members of output may be anything
          error: { name: 'Transient.AgentTimeout', message: 'no answer' },
          issuedAt: new Date().toISOString(),
        },
        target.keys.secretKey,
      ),
    params: { commandId: COMMAND },
    required: [['statement'], ['signature'], ...['_type', 'commandId', 'targetId', 'status', 'issuedAt'].map((k) => ['statement', k]), ['statement', 'error', 'name']],
    closed: [[], ['statement'], ['statement', 'error']],
  },
  postCommandHeartbeat: { body: () => ({}), params: { commandId: COMMAND }, closed: [[]] },
  createArtifactUpload: { body: () => ({ size: 1234, sha256: 'ab'.repeat(32) }), params: { id: RELEASE, name: 'app.zip' }, required: [['size'], ['sha256']], closed: [[]] },
  startRollout: {
    body: () => ({ releaseId: RELEASE, modes: ['saas', 'self-hosted'], canarySize: 1, waveSize: 10, maxConcurrency: 5, maxFailures: 0 }),
    required: [['releaseId']],
    closed: [[]],
  },
  haltRollout: reason({ id: 'ro-fuzz' }),
};

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const writeRoutes = ROUTES.filter((r) => WRITE_METHODS.has(r.method) && r.body !== undefined);

/** Does the route accept this parsed body? For POST /releases the handler's own verification decides. */
function accepts(route: RouteSpec, body: unknown): boolean {
  if (route.operationId === 'publishRelease') {
    return verifyManifest(body, { trustedKeys: [keyRecord(signingKey)], threshold: 1, now: new Date(), channelVersions: [RELEASE], existingIds: [RELEASE] }).ok;
  }
  return route.body!.safeParse(body).success;
}

// ---------------------------------------------------------------------------------------------------------
// JSON helpers

const kindOf = (v: unknown): Kind => (v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as Kind));
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function walk(value: unknown, path: Path = [], out: { path: Path; value: unknown }[] = []) {
  out.push({ path, value });
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i], out));
  else if (isRecord(value)) for (const [k, v] of Object.entries(value)) walk(v, [...path, k], out);
  return out;
}

function get(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value);
}

/** A copy with the member at `path` replaced (or removed when `next` is `REMOVE`); own properties only. */
const REMOVE = Symbol('remove');
function withMember(value: unknown, path: Path, next: unknown): unknown {
  const copy = structuredClone(value);
  const parent = get(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  if (parent === undefined || !(key in parent)) throw new Error(`mutation generator bug: no member at /${path.join('/')}`);
  if (next === REMOVE) delete parent[key];
  else Object.defineProperty(parent, key, { value: next, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Add a member to the object at `path`; defineProperty so that names like __proto__ become real members. */
function withExtraMember(value: unknown, path: Path, name: string, member: unknown): unknown {
  const copy = structuredClone(value);
  const obj = get(copy, path);
  if (!isRecord(obj)) throw new Error(`mutation generator bug: /${path.join('/')} is not an object`);
  if (Object.prototype.hasOwnProperty.call(obj, name)) throw new Error(`mutation generator bug: ${name} already exists`);
  Object.defineProperty(obj, name, { value: member, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** JSON text of `value` in which the object at `at` carries its member `name` twice. */
function stringifyWithDuplicate(value: unknown, at: Path, name: string): string {
  const same = (a: Path, b: Path) => a.length === b.length && a.every((x, i) => x === b[i]);
  const out = (v: unknown, path: Path): string => {
    if (Array.isArray(v)) return `[${v.map((x, i) => out(x, [...path, i])).join(',')}]`;
    if (isRecord(v)) {
      const members = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${out(x, [...path, k])}`);
      if (same(path, at)) members.push(`${JSON.stringify(name)}:${out(v[name], [...path, name])}`);
      return `{${members.join(',')}}`;
    }
    return JSON.stringify(v);
  };
  return out(value, []);
}

// ---------------------------------------------------------------------------------------------------------
// Mutations

type Expect = 'invalid' | 'malformed' | 'too-large';
interface Mutation {
  kind: string;
  describe: string;
  raw: string;
  expect: Expect;
}

const SAMPLE: Record<Kind, fc.Arbitrary<unknown>> = {
  string: fc.constantFrom('fuzz', '', '0', 'true'),
  number: fc.constantFrom(0, -1, 7, 1.5, 1e21),
  boolean: fc.boolean(),
  null: fc.constant(null),
  array: fc.constantFrom([], ['fuzz'], [1, 2]),
  object: fc.constantFrom({}, { fuzz: 1 }),
};
const ALL_KINDS = Object.keys(SAMPLE) as Kind[];
const UNKNOWN_NAMES = fc.oneof(fc.nat({ max: 999 }).map((n) => `fuzzUnknown${n}`), fc.constantFrom('__proto__', 'constructor', 'toString', '', ' ', 'ID', 'Reason'));
const anyJson = fc.jsonValue({ maxDepth: 2 });

function mutations(entry: ValidBody, body: unknown): fc.Arbitrary<Mutation> {
  const text = JSON.stringify(body);
  const nodes = walk(body);
  const members = nodes.filter((n) => n.path.length > 0);
  const allowedKinds = (path: Path): Kind[] =>
    entry.kinds?.find(([p]) => p.length === path.length && p.every((x, i) => x === path[i]))?.[1] ?? [kindOf(get(body, path))];
  const strings = members.filter((n) => typeof n.value === 'string');
  const objects = nodes.filter((n) => isRecord(n.value) && Object.keys(n.value).length > 0);
  const fmt = (p: Path) => `/${p.join('/')}`;

  const arbs: fc.Arbitrary<Mutation>[] = [];
  if (entry.required?.length) {
    arbs.push(
      fc.constantFrom(...entry.required).map((p) => ({ kind: 'delete-required', describe: `delete ${fmt(p)}`, raw: JSON.stringify(withMember(body, p, REMOVE)), expect: 'invalid' as const })),
    );
  }
  if (entry.closed?.length) {
    arbs.push(
      fc.tuple(fc.constantFrom(...entry.closed), UNKNOWN_NAMES, anyJson).map(([p, name, v]) => ({
        kind: 'unknown-member',
        describe: `add ${JSON.stringify(name)} to ${fmt(p)}`,
        raw: JSON.stringify(withExtraMember(body, p, name, v)),
        expect: 'invalid' as const,
      })),
    );
  }
  if (members.length > 0) {
    arbs.push(
      fc
        .constantFrom(...members)
        .chain((n) => {
          const allowed = allowedKinds(n.path);
          return fc.constantFrom(...ALL_KINDS.filter((k) => !allowed.includes(k))).chain((k) => SAMPLE[k].map((v) => ({ n, k, v })));
        })
        .map(({ n, k, v }) => ({
          kind: 'change-type',
          describe: `${fmt(n.path)} becomes ${k} ${JSON.stringify(v)}`,
          raw: JSON.stringify(withMember(body, n.path, v)),
          expect: 'invalid' as const,
        })),
    );
  }
  // Above every route's body limit (validate-config takes up to 6 × 256 Ki characters of escaped .env text).
  const huge = 'x'.repeat(1600 * 1024);
  arbs.push(
    strings.length > 0
      ? fc.constantFrom(...strings).map((n) => ({
          kind: 'huge-string',
          describe: `${fmt(n.path)} becomes 1600 KiB`,
          raw: JSON.stringify(withMember(body, n.path, huge)),
          expect: 'too-large' as const,
        }))
      : // A body with no string in it (e.g. `{}`) gets a 300 KiB member instead.
        fc.constant({ kind: 'huge-string', describe: 'a 1600 KiB member added', raw: JSON.stringify(withExtraMember(body, [], 'padding', huge)), expect: 'too-large' as const }),
  );
  arbs.push(fc.constant({ kind: 'wrap-in-array', describe: 'body wrapped in an array', raw: `[${text}]`, expect: 'invalid' as const }));
  arbs.push(
    fc
      .oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.string({ maxLength: 20 }))
      .map((v) => ({ kind: 'json-scalar', describe: `body is ${JSON.stringify(v)}`, raw: JSON.stringify(v), expect: 'invalid' as const })),
  );
  arbs.push(
    fc
      .oneof(
        fc.integer({ min: 1, max: text.length - 1 }).map((n) => text.slice(0, n)),
        fc.constantFrom(`${text} x`, `${text}${text}`, text.includes('"') ? text.replace(/"/g, "'") : "{'fuzz':1}", text.replace(/}$/, ',}'), 'undefined', 'NaN', 'hello', '{a:1}', '\u0000'),
      )
      .map((raw) => ({ kind: 'not-json', describe: `text ${JSON.stringify(raw.slice(0, 60))}`, raw, expect: 'malformed' as const })),
  );
  if (objects.length > 0) {
    arbs.push(
      fc
        .constantFrom(...objects)
        .chain((n) => fc.constantFrom(...Object.keys(n.value as object)).map((name) => ({ n, name })))
        .map(({ n, name }) => ({
          kind: 'duplicate-member',
          describe: `${JSON.stringify(name)} twice in ${fmt(n.path)}`,
          raw: stringifyWithDuplicate(body, n.path, name),
          expect: 'malformed' as const,
        })),
    );
  }
  return fc.oneof(...arbs);
}

/** Fails when a mutation did not do what it promised: that is a bug in the generator, not in the server. */
function checkInvalidByConstruction(route: RouteSpec, body: unknown, m: Mutation): void {
  const fail = (why: string) => {
    throw new Error(`mutation generator bug (${route.operationId}, ${m.kind}: ${m.describe}): ${why}`);
  };
  if (m.expect === 'too-large') {
    if (Buffer.byteLength(m.raw) <= MAX_BODY_BYTES) fail('the body is not over 256 KiB');
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(m.raw);
  } catch {
    if (m.expect !== 'malformed') fail('the text does not parse');
    return;
  }
  if (m.expect === 'malformed') {
    // Only a duplicated member may parse, and then to the very body it duplicates a member of.
    if (m.kind !== 'duplicate-member') fail('the text parses as JSON');
    if (JSON.stringify(parsed) !== JSON.stringify(body) || m.raw.length <= JSON.stringify(body).length) fail('no member was duplicated');
    return;
  }
  if (Buffer.byteLength(m.raw) > MAX_BODY_BYTES) fail('the body is over 256 KiB');
  if (accepts(route, parsed)) fail('the route accepts the mutated body');
}

// ---------------------------------------------------------------------------------------------------------
// Calls

function concretePath(route: RouteSpec, entry: ValidBody): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = entry.params?.[name];
    if (v === undefined) throw new Error(`${route.operationId}: no fixture for path parameter ${name}`);
    return encodeURIComponent(v);
  });
}

/** A token that may call the route: admin where admin may, else the fixture target's own token. */
function tokenFor(route: RouteSpec): string {
  if (route.scopes.includes('admin')) return api.adminToken;
  if (route.scopes.includes('target')) return targetToken;
  throw new Error(`${route.operationId}: no token for scopes ${route.scopes.join(', ')}`);
}

const STREAMS = ['control', `target:${TARGET}`, `target:${NEW_TARGET}`];

/** What must not change: the head of every stream a write could touch, and the fixture target itself. */
async function snapshot() {
  const heads = await Promise.all(
    STREAMS.map(async (stream) => {
      const r = await api.call('GET', `/audit/verify?stream=${encodeURIComponent(stream)}`);
      expect(r.status).toBe(200);
      expect(r.body.valid, stream).toBe(true);
      return [stream, r.body.head?.seq ?? null] as const;
    }),
  );
  const t = await api.call('GET', `/targets/${TARGET}`);
  expect(t.status).toBe(200);
  return { heads: Object.fromEntries(heads), target: t.body };
}

const seenKinds = new Set<string>();
const startedAt = Date.now();

beforeAll(async () => {
  expect((await api.call('POST', '/licenses', { body: licenseBody(LICENSE) })).status).toBe(201);
  const reg = await api.call('POST', '/targets', { body: targetBody(TARGET, 'self-hosted', LICENSE, target.publicKey, { encryptionKey: x25519() }) });
  expect(reg.status, reg.text).toBe(201);
  targetToken = reg.body.token;
  const key = await api.call('POST', '/signing-keys', { body: { keyId: signingKey.keyId, publicKey: signingKey.publicKeyBase64 } });
  expect(key.status, key.text).toBe(201);
  const rel = await api.call('POST', '/releases', { body: manifest(RELEASE) });
  expect(rel.status, rel.text).toBe(201);
});

describe('the catalog of valid bodies', () => {
  it('has an entry for every write route, and only for write routes', () => {
    expect(writeRoutes.length).toBeGreaterThan(20);
    expect(Object.keys(validBodies).sort()).toEqual(writeRoutes.map((r) => r.operationId).sort());
  });

  it.each(writeRoutes.map((r) => [r.operationId, r] as const))('%s: the valid body is accepted by its route', (op, route) => {
    const entry = validBodies[op];
    expect(entry, `no valid body for ${op}`).toBeDefined();
    expect(accepts(route, JSON.parse(JSON.stringify(entry!.body())))).toBe(true);
  });
});

describe('every write route refuses invalid bodies with a 4xx problem and changes nothing', () => {
  const runsPerRoute = Math.ceil(TOTAL_RUNS / writeRoutes.length);

  it.each(writeRoutes.map((r) => [`${r.method} ${r.path} (${r.operationId})`, r] as const))('%s', async (_name, route) => {
    const entry = validBodies[route.operationId];
    expect(entry, `no valid body for ${route.operationId}: add one to validBodies`).toBeDefined();
    const body = JSON.parse(JSON.stringify(entry!.body()));
    const path = concretePath(route, entry!);
    const token = tokenFor(route);

    await fc.assert(
      fc.asyncProperty(mutations(entry!, body), async (m) => {
        checkInvalidByConstruction(route, body, m);
        seenKinds.add(m.kind);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (route.requestHeaders?.includes('If-Match')) {
          const current = await api.call('GET', path);
          expect(current.status).toBe(200);
          headers['if-match'] = current.headers.get('etag')!;
        }
        if (route.requestHeaders?.includes('Idempotency-Key')) headers['idempotency-key'] = `fuzz-${randomUUID()}`;
        const before = await snapshot();

        const r = await api.call(route.method, path, { token, raw: m.raw, headers });

        const context = `${route.operationId} / ${m.kind}: ${m.describe} → ${r.status} ${r.text.slice(0, 300)}`;
        expect(r.status, context).toBeGreaterThanOrEqual(400);
        expect(r.status, context).toBeLessThan(500);
        expect(r.headers.get('content-type'), context).toBe(PROBLEM_CONTENT_TYPE);
        expect(r.body.type, context).toBe(`${PROBLEM_TYPE_PREFIX}${r.body.code}`);
        expect(r.body.status, context).toBe(r.status);
        if (m.expect === 'too-large') expect([r.status, r.body.code], context).toEqual([413, 'PAYLOAD_TOO_LARGE']);
        else if (m.expect === 'malformed') expect([r.status, r.body.code], context).toEqual([400, 'MALFORMED_JSON']);
        else if (route.bodyCheckedByHandler) {
          expect(r.status, context).toBe(400);
          // A "__proto__" member is refused by the strict parser before the handler sees the manifest.
          const codes = m.raw.includes('"__proto__"') ? ['VALIDATION_FAILED'] : ['RELEASE_MANIFEST_INVALID', 'RELEASE_SIGNATURE_INVALID'];
          expect(codes, context).toContain(r.body.code);
        } else expect([r.status, r.body.code], context).toEqual([400, 'VALIDATION_FAILED']);

        expect(await snapshot(), context).toEqual(before);
      }),
      { numRuns: runsPerRoute },
    );
  });

  it('used every kind of mutation, within the time budget', () => {
    expect([...seenKinds].sort()).toEqual(
      ['change-type', 'delete-required', 'duplicate-member', 'huge-string', 'json-scalar', 'not-json', 'unknown-member', 'wrap-in-array'].sort(),
    );
    if (process.env.DCP_FUZZ_RUNS === undefined) expect(Date.now() - startedAt).toBeLessThan(60_000);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Every documented bound of every member of every valid body: read from the generated OpenAPI document,
// drawn just beyond (a 400 problem naming that member, nothing changed) and at it (no error about that
// member). POST /releases is left out: every member of `signed` is covered by the signature, so a changed
// one is RELEASE_SIGNATURE_INVALID before any bound is read (test/unit/manifest.test.ts covers its schema).

type Schema = Record<string, any>;
const openApi = openApiDocument() as Schema;

function requestSchemaOf(route: RouteSpec): Schema {
  return openApi.paths[fullPath(route)][route.method.toLowerCase()].requestBody.content['application/json'].schema;
}

/** The branch of a union that describes a value of this JSON kind. */
function branchFor(s: Schema, value: unknown): Schema {
  if (!s.anyOf) return s;
  const kind = kindOf(value);
  return s.anyOf.find((b: Schema) => b.type === kind || (b.type === 'integer' && kind === 'number')) ?? s;
}

/** The documented schema of the member at `path` of `body`, or undefined where the document leaves it open. */
function documentedAt(root: Schema, body: unknown, path: Path): Schema | undefined {
  let s: Schema | undefined = branchFor(root, body);
  let v: unknown = body;
  for (const k of path) {
    if (!s) return undefined;
    s = typeof k === 'number' ? s.items : (s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined));
    v = (v as Record<string | number, unknown>)[k];
    if (s) s = branchFor(s, v);
  }
  return s;
}

interface BoundCase {
  route: RouteSpec;
  entry: ValidBody;
  member: string;
  describe: string;
  body: unknown;
}

/** Values just beyond each documented bound: maxLength + 1, minLength - 1, maximum + 1, minimum - 1, maxItems + 1. */
function beyondCases(route: RouteSpec, entry: ValidBody): BoundCase[] {
  const body = JSON.parse(JSON.stringify(entry.body()));
  const root = requestSchemaOf(route);
  const out: BoundCase[] = [];
  for (const { path, value } of walk(body).filter((n) => n.path.length > 0)) {
    const s = documentedAt(root, body, path);
    if (!s) continue;
    const member = `/${path.join('/')}`;
    const add = (describe: string, next: unknown) => out.push({ route, entry, member, describe: `${member} ${describe}`, body: withMember(body, path, next) });
    if (typeof value === 'string') {
      if (typeof s.maxLength === 'number') add(`of ${s.maxLength + 1} characters (maxLength ${s.maxLength})`, (value + 'a'.repeat(s.maxLength + 1)).slice(0, s.maxLength + 1));
      if (typeof s.minLength === 'number' && s.minLength > 0) add(`of ${s.minLength - 1} characters (minLength ${s.minLength})`, value.slice(0, s.minLength - 1));
    } else if (typeof value === 'number') {
      if (typeof s.maximum === 'number') add(`= ${s.maximum + 1} (maximum ${s.maximum})`, s.maximum + 1);
      if (typeof s.minimum === 'number') add(`= ${s.minimum - 1} (minimum ${s.minimum})`, s.minimum - 1);
    } else if (Array.isArray(value) && value.length > 0 && typeof s.maxItems === 'number') {
      add(`with ${s.maxItems + 1} items (maxItems ${s.maxItems})`, Array.from({ length: s.maxItems + 1 }, (_, i) => value[i % value.length]));
    }
  }
  return out;
}

/**
 * Members whose value must equal something else (the posting target, the command of the path, a key's own
 * hash): a padded value is refused for not being that thing, which says nothing about the bound.
 */
const MUST_MATCH = new Set(['postAttestation /statement/targetId', 'postCommandResult /statement/targetId', 'postCommandResult /statement/commandId']);

/** Values at each documented bound that stay inside the documented pattern: integers at maximum and minimum, strings padded to maxLength. */
function atBoundCases(route: RouteSpec, entry: ValidBody): BoundCase[] {
  const body = JSON.parse(JSON.stringify(entry.body()));
  const root = requestSchemaOf(route);
  const out: BoundCase[] = [];
  for (const { path, value } of walk(body).filter((n) => n.path.length > 0)) {
    const s = documentedAt(root, body, path);
    if (!s) continue;
    const member = `/${path.join('/')}`;
    if (MUST_MATCH.has(`${route.operationId} ${member}`)) continue;
    const add = (describe: string, next: unknown) => out.push({ route, entry, member, describe: `${member} ${describe}`, body: withMember(body, path, next) });
    if (typeof value === 'number' && s.type === 'integer') {
      if (typeof s.maximum === 'number') add(`= ${s.maximum} (maximum)`, s.maximum);
      if (typeof s.minimum === 'number') add(`= ${s.minimum} (minimum)`, s.minimum);
    } else if (typeof value === 'string' && typeof s.maxLength === 'number' && s.maxLength > value.length && s.format === undefined && path.at(-1) !== 'cron') {
      // (A cron expression padded to its length is no longer a cron expression: its own tests cover it.)
      const padded = ['a', '0'].map((c) => value + c.repeat(s.maxLength - value.length)).find((v) => s.pattern === undefined || new RegExp(s.pattern).test(v));
      if (padded !== undefined) add(`of ${s.maxLength} characters (maxLength)`, padded);
    }
  }
  return out;
}

async function send(c: BoundCase) {
  const path = concretePath(c.route, c.entry);
  const headers: Record<string, string> = {};
  if (c.route.requestHeaders?.includes('If-Match')) headers['if-match'] = (await api.call('GET', path)).headers.get('etag') ?? '"0"';
  if (c.route.requestHeaders?.includes('Idempotency-Key')) headers['idempotency-key'] = `bound-${randomUUID()}`;
  return api.call(c.route.method, path, { token: tokenFor(c.route), body: c.body, headers });
}

const boundRoutes = writeRoutes.filter((r) => !r.bodyCheckedByHandler);
const errorPaths = (r: { body: any }) => ((r.body?.errors ?? []) as { path: string }[]).map((e) => e.path);

describe('every documented bound: just beyond it is a 400 naming the member, at it the member is accepted', () => {
  it('just beyond: 400 VALIDATION_FAILED naming the member, and nothing changed', async () => {
    const cases = boundRoutes.flatMap((r) => beyondCases(r, validBodies[r.operationId]!));
    expect(cases.length).toBeGreaterThan(100);
    // Every family of bound is drawn somewhere.
    for (const family of ['maxLength', 'minLength', 'maximum', 'minimum', 'maxItems']) expect(cases.some((c) => c.describe.includes(`(${family} `)), family).toBe(true);
    const before = await snapshot();
    for (const c of cases) {
      const r = await send(c);
      const context = `${c.route.operationId}: ${c.describe} → ${r.status} ${r.text.slice(0, 300)}`;
      expect([r.status, r.body?.code], context).toEqual([400, 'VALIDATION_FAILED']);
      expect(r.headers.get('content-type'), context).toBe(PROBLEM_CONTENT_TYPE);
      expect(errorPaths(r), context).toContain(c.member);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('at the bound: no error names the member (and nothing answers 500)', async () => {
    const cases = boundRoutes.flatMap((r) => atBoundCases(r, validBodies[r.operationId]!));
    expect(cases.length).toBeGreaterThan(40);
    const failures: string[] = [];
    for (const c of cases) {
      const r = await send(c);
      // A refusal on the value's meaning (LICENSE_NOT_FOUND naming /licenseId) is not about its bound.
      if (r.status >= 500 || (r.body?.code === 'VALIDATION_FAILED' && errorPaths(r).includes(c.member))) failures.push(`${c.route.operationId}: ${c.describe} → ${r.status} ${r.text.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
  });
});
