// Target routes: register, read, list, change, heartbeat, attestations, unblock, decommission.
import { randomBytes } from 'node:crypto';
import { targetRoutes } from '../core/routes/targets.js';
import { actorOf, canSeeTenant, canUseLicense } from '../core/principal.js';
import { problems, ProblemError } from '../core/problems.js';
import type { AttestationRecord, TargetRecord } from '../core/records.js';
import type { AttestationBody, PatchTargetBody, RegisterTargetBody } from '../core/schemas/targets.js';
import { judgeAttestation } from '../core/attestations.js';
import { verifySignedStatement } from '../core/crypto/signed-statement.js';
import {
  decommissionTarget,
  listPlan,
  listTargets,
  patchTarget,
  recordHeartbeat,
  registerTarget,
  updateTarget,
} from '../adapters/targets.js';
import { getLicense, licenseStatus } from '../adapters/licenses.js';
import { getPolicy } from '../adapters/policies.js';
import { storeAttestation } from '../adapters/attestations.js';
import { simulatedAgentHost } from '../adapters/agent-host.js';
import { visibleTarget } from './lib/targets-visible.js';
import { createApiHandler, etag, requireIfMatch, type ApiRequest } from './lib/http.js';
import { pageRequest, pageResponse } from './lib/pagination.js';

/** The API view of a target: the stored record less its index key. */
export function targetView(target: TargetRecord): Omit<TargetRecord, 'channelMode'> {
  const { channelMode: _index, ...view } = target;
  void _index;
  return view;
}

function withEtag(target: TargetRecord, status = 200) {
  return { status, body: targetView(target), headers: { etag: etag(target.version) } };
}

export const handler = createApiHandler(
  'targets',
  {
    async registerTarget(req: ApiRequest<RegisterTargetBody>) {
      if (!canSeeTenant(req.principal, req.body.tenantId)) {
        throw problems.forbidden(`This token is restricted to tenant ${req.principal.tenant}.`);
      }
      if (req.principal.tenant !== undefined) {
        // Seats are the license holder's: a tenant-restricted token registers only on its own customer's
        // licenses (customerId = its tenant), and only on one that exists.
        const license = await getLicense(req.body.licenseId);
        if (!license || !canUseLicense(req.principal, license.customerId)) {
          throw problems.forbidden(`This token is restricted to tenant ${req.principal.tenant}; it registers targets only on that customer's existing licenses.`);
        }
      }
      let body = req.body;
      if (body.agent === 'simulated') {
        // Only the local runtime hosts simulated agents; it creates the agent's key pair.
        const host = simulatedAgentHost();
        if (!host) throw new ProblemError(400, 'SIMULATED_AGENT_UNAVAILABLE', 'Simulated agents exist only in the local runtime.');
        const id = body.id ?? `tgt-${randomBytes(8).toString('hex')}`;
        body = { ...body, id, agentPublicKey: await host.createAgentKey(id) };
      }
      const { target, token, tokenId } = await registerTarget(body, actorOf(req.principal), req.now);
      return { status: 201, body: { target: targetView(target), token, tokenId }, headers: { etag: etag(target.version), location: `/api/v1/deployment-server/targets/${target.id}` } };
    },

    async getTarget(req) {
      return withEtag(await visibleTarget(req.params.id!, req.principal));
    },

    async listTargets(req) {
      const q = req.query as { mode?: string; status?: string; channel?: string; tenantId?: string; limit?: number; cursor?: string };
      if (req.principal.tenant !== undefined) {
        if (q.tenantId !== undefined && q.tenantId !== req.principal.tenant) {
          throw problems.forbidden(`This token is restricted to tenant ${req.principal.tenant}.`);
        }
        q.tenantId = req.principal.tenant;
      }
      const filter = { mode: q.mode, status: q.status, channel: q.channel, tenantId: q.tenantId };
      const plan = listPlan(filter);
      const page = await pageRequest(q, ['targets', filter.mode, filter.status, filter.channel, filter.tenantId], plan.keyNames, plan.key ? { [plan.key[0]]: plan.key[1] } : undefined);
      const { items, lastKey } = await listTargets(filter, page.limit, page.startKey);
      return { status: 200, body: pageResponse(items.map(targetView), lastKey, page) };
    },

    async patchTarget(req: ApiRequest<PatchTargetBody>) {
      const expected = requireIfMatch(req);
      const current = await visibleTarget(req.params.id!, req.principal);
      return withEtag(await patchTarget(current, expected, req.body, actorOf(req.principal), req.now));
    },

    async heartbeat(req: ApiRequest<{ runtime?: Record<string, string> }>) {
      const target = await visibleTarget(req.params.id!, req.principal);
      if (target.status === 'decommissioned') throw problems.conflict('TARGET_DECOMMISSIONED', `Target ${target.id} is decommissioned.`);
      await recordHeartbeat(target.id, req.body.runtime, req.now);
      const license = await getLicense(target.licenseId);
      return { status: 200, body: { license: licenseStatus(license, req.now), receivedAt: req.now.toISOString() } };
    },

    async postAttestation(req: ApiRequest<AttestationBody>) {
      const target = await visibleTarget(req.params.id!, req.principal);
      const { statement, signature } = req.body;
      if (statement.targetId !== target.id) {
        throw problems.validation([{ path: '/statement/targetId', message: `must be ${target.id}, the target posting it` }]);
      }
      // The target's key, or its agent's: the update client attests what it installed (SPEC §7.3).
      let verification = verifySignedStatement({ statement, signature }, target.publicKey);
      if (!verification.ok && verification.reason !== 'malformed-signature' && target.agentPublicKey) {
        const byAgent = verifySignedStatement({ statement, signature }, target.agentPublicKey);
        if (byAgent.ok) verification = byAgent;
      }
      if (!verification.ok && verification.reason === 'malformed-signature') {
        throw problems.validation([{ path: '/signature', message: verification.message }]);
      }
      const policy = await getPolicy('attestation');
      const judgement = judgeAttestation(statement, verification.ok, target, policy.document, req.now);
      const record: AttestationRecord = {
        targetId: target.id,
        sk: 'latest',
        statement,
        signature,
        signatureValid: verification.ok,
        result: judgement.result,
        reasons: judgement.reasons,
        receivedAt: req.now.toISOString(),
      };
      await storeAttestation(target, record, actorOf(req.principal), req.now);
      return { status: 201, body: { result: judgement.result, reasons: judgement.reasons, policyVersion: policy.version } };
    },

    async unblockTarget(req: ApiRequest<{ reason: string }>) {
      const target = await visibleTarget(req.params.id!, req.principal);
      if (target.status !== 'blocked') throw problems.conflict('TARGET_NOT_BLOCKED', `Target ${target.id} is ${target.status}, not blocked.`);
      const status = target.currentRelease ? 'active' : 'registered';
      const next = await updateTarget(
        target,
        { status, blockers: [] },
        { actor: actorOf(req.principal), action: 'target.unblocked', details: { reason: req.body.reason, clearedBlockers: target.blockers, status } },
        req.now,
      );
      return withEtag(next);
    },

    async decommissionTarget(req: ApiRequest<{ reason: string }>) {
      const target = await visibleTarget(req.params.id!, req.principal);
      return withEtag(await decommissionTarget(target, req.body.reason, actorOf(req.principal), req.now));
    },
  },
  targetRoutes,
);
