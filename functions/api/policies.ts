// Policy documents: read with ETag, replace with If-Match, list versions. Every change is audited.
import { policyRoutes } from '../core/routes/policies.js';
import { actorOf } from '../core/principal.js';
import { POLICY_KINDS, type PolicyKind } from '../core/policies.js';
import { getPolicy, listPolicyVersions, putPolicy } from '../adapters/policies.js';
import { problems } from '../core/problems.js';
import { createApiHandler, etag, requireIfMatch, type ApiRequest, type RouteImpl } from './lib/http.js';
import { pageRequest, pageResponse } from './lib/pagination.js';

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

function implsFor(kind: PolicyKind): Record<string, RouteImpl> {
  return {
    [`get${cap(kind)}Policy`]: async () => {
      const p = await getPolicy(kind);
      return { status: 200, body: p, headers: { etag: etag(p.version) } };
    },
    [`put${cap(kind)}Policy`]: async (req: ApiRequest<{ document: never; comment?: string }>) => {
      const expected = requireIfMatch(req);
      const p = await putPolicy(kind, expected, req.body.document, actorOf(req.principal), req.now, req.body.comment);
      return { status: 200, body: p, headers: { etag: etag(p.version) } };
    },
    [`list${cap(kind)}PolicyVersions`]: async (req) => {
      const page = await pageRequest(req.query, ['policy-versions', kind], ['kind', 'rev'], { kind });
      if (page.startKey && (page.startKey.kind !== kind || !/^\d{10}$/.test(String(page.startKey.rev)))) {
        throw problems.badCursor();
      }
      const { items, lastKey } = await listPolicyVersions(kind, page.limit, page.startKey);
      return { status: 200, body: pageResponse(items, lastKey, page) };
    },
  };
}

export const handler = createApiHandler('policies', Object.assign({}, ...POLICY_KINDS.map(implsFor)), policyRoutes);
