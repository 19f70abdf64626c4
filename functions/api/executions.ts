// Workflow runs as operators and auditors read them: the record kept in DynamoDB (per-step status and
// attempts, blockers) and the engine's event history.
import { executionRoutes } from '../core/routes/executions.js';
import { canSeeTenant, type Principal } from '../core/principal.js';
import { problems } from '../core/problems.js';
import { stepByKey, type ExecutionRecord } from '../core/workflows.js';
import { getExecution, listExecutionsOfTarget } from '../adapters/executions.js';
import { getTargetTenant } from '../adapters/targets-lookup.js';
import { workflowEngine } from '../adapters/engine.js';
import { createApiHandler } from './lib/http.js';
import { pageRequest, pageResponse } from './lib/pagination.js';

/** The API view of a record: SPEC §5's fields plus what the run did (effects) for operators. */
export function executionView(r: ExecutionRecord) {
  return {
    id: r.id,
    kind: r.kind,
    targetId: r.targetId,
    releaseId: r.releaseId,
    status: r.status,
    startedAt: r.startedAt,
    stoppedAt: r.stoppedAt ?? null,
    // Steps by the names the console shows ("Run health checks"), with the key records use.
    steps: r.steps.map((s) => ({ ...s, name: stepByKey(s.name)?.state ?? s.name, key: s.name })),
    ...(r.blockers && r.blockers.length ? { blockers: r.blockers } : {}),
    ...(r.compensatedAt ? { compensatedAt: r.compensatedAt } : {}),
  };
}

async function visibleExecution(id: string, principal: Principal): Promise<ExecutionRecord> {
  const r = await getExecution(id);
  if (r && principal.tenant !== undefined) {
    const tenant = await getTargetTenant(r.targetId);
    if (!tenant || !canSeeTenant(principal, tenant)) throw problems.notFound('EXECUTION_NOT_FOUND', `No execution ${id}.`);
  }
  if (!r) throw problems.notFound('EXECUTION_NOT_FOUND', `No execution ${id}.`);
  return r;
}

export const handler = createApiHandler(
  'executions',
  {
    async getExecution(req) {
      return { status: 200, body: executionView(await visibleExecution(req.params.id!, req.principal)) };
    },
    async getExecutionHistory(req) {
      const r = await visibleExecution(req.params.id!, req.principal);
      const events = await workflowEngine().history(r.kind, r.id);
      return { status: 200, body: { executionId: r.id, events } };
    },
    async listTargetExecutions(req) {
      const tenant = await getTargetTenant(req.params.id!);
      if (!tenant || !canSeeTenant(req.principal, tenant)) throw problems.notFound('TARGET_NOT_FOUND', `No target ${req.params.id}.`);
      const page = await pageRequest(req.query, ['executions', req.params.id], ['id', 'targetId', 'startedAt'], { targetId: req.params.id! });
      const { items, lastKey } = await listExecutionsOfTarget(req.params.id!, page.limit, page.startKey);
      return { status: 200, body: pageResponse(items.map(executionView), lastKey, page) };
    },
  },
  executionRoutes,
);
