// Decisions: POST /decisions (every code) and POST /KIND-policy/evaluate (the codes one policy owns).
// Facts come from one GetItem and one BatchGetItem; the evaluation is the pure core/decisions.ts; each
// decision is appended to the target's audit stream.
import { decisionRoutes } from '../core/routes/decisions.js';
import { policyRoutes } from '../core/routes/policies.js';
import { actorOf, canSeeTenant } from '../core/principal.js';
import { problems } from '../core/problems.js';
import { decide, decideFor, defaultAction, type DecisionAction } from '../core/decisions.js';
import { POLICY_KINDS, type PolicyKind } from '../core/policies.js';
import { targetStream } from '../core/audit.js';
import { getTargetForDecision, loadFacts } from '../adapters/facts.js';
import { appendAudit, readHead } from '../adapters/audit.js';
import { createApiHandler, type ApiRequest, type RouteImpl } from './lib/http.js';

interface DecisionBody {
  targetId: string;
  releaseId?: string;
  action?: DecisionAction;
}

async function evaluate(req: ApiRequest<DecisionBody>, kind: PolicyKind | undefined) {
  // The audit head is read alongside the facts rather than after them: one round trip fewer per decision.
  // (A stale head only costs the append a retry; it is re-read then.)
  const stream = targetStream(req.body.targetId);
  const head = readHead(stream);
  head.catch(() => undefined);
  const target = await getTargetForDecision(req.body.targetId);
  if (!target || !canSeeTenant(req.principal, target.tenantId)) {
    throw problems.notFound('TARGET_NOT_FOUND', `No target ${req.body.targetId}.`);
  }
  const action = req.body.action ?? defaultAction(target);
  const { facts, policies, policyVersions } = await loadFacts(target, req.body.releaseId);
  const input = { action, facts, policies, now: req.now };
  const result = kind ? decideFor(kind, input) : decide(input);
  const evaluatedAt = req.now.toISOString();
  await appendAudit(
    [
      {
        stream,
        actor: actorOf(req.principal),
        action: kind ? `policy.evaluated` : 'decision.made',
        targetId: target.id,
        details: {
          ...(kind ? { policy: kind, policyVersion: policyVersions[kind] } : { policyVersions }),
          action,
          releaseId: req.body.releaseId ?? null,
          decision: result.decision,
          blockers: result.blockers.map((b) => b.code),
          evaluatedAt,
        },
      },
    ],
    req.now,
    new Map([[stream, head]]),
  );
  return kind
    ? { decision: result.decision, blockers: result.blockers, policyVersion: policyVersions[kind], action, evaluatedAt }
    : { decision: result.decision, blockers: result.blockers, policyVersions, action, evaluatedAt };
}

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

const impls: Record<string, RouteImpl> = {
  async decide(req) {
    return { status: 200, body: await evaluate(req, undefined) };
  },
};
for (const kind of POLICY_KINDS) {
  impls[`evaluate${cap(kind)}Policy`] = async (req) => ({ status: 200, body: await evaluate(req, kind) });
}

export const handler = createApiHandler('decisions', impls, [...decisionRoutes, ...policyRoutes]);
