// Workflow runs as operators and auditors read them: the record kept in DynamoDB (per-step status and
// attempts, blockers) and the engine's event history.
import { executionRoutes } from '../core/routes/executions.js';
import { canSeeTenant, type Principal } from '../core/principal.js';
import { encodeCursor } from '../core/cursor.js';
import { ProblemError, problems } from '../core/problems.js';
import { stepByKey, type ExecutionRecord } from '../core/workflows.js';
import { getExecution, listExecutionsOfTarget } from '../adapters/executions.js';
import { getTargetTenant } from '../adapters/targets-lookup.js';
import { workflowEngine, type HistoryItem, type HistoryPage } from '../adapters/engine.js';
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

/** How long Step Functions keeps a Standard execution's history after it closes. */
export const HISTORY_RETENTION_DAYS = 90;

/**
 * The record outlives the engine's history: past the retention it is gone for good (410); otherwise the
 * engine never had it (the start failed) or does not have it yet (404). Either way the record answers
 * GET /executions/{id} and the audit trail keeps what the run did.
 */
function historyMissing(r: ExecutionRecord, now: Date) {
  const closedAt = Date.parse(r.stoppedAt ?? r.startedAt);
  if (now.getTime() - closedAt > HISTORY_RETENTION_DAYS * 86_400_000) {
    return new ProblemError(
      410,
      'EXECUTION_HISTORY_EXPIRED',
      `The event history of execution ${r.id} is gone: Step Functions keeps it ${HISTORY_RETENTION_DAYS} days after a run ends. GET /executions/${r.id} and the audit trail still say what the run did.`,
    );
  }
  return problems.notFound('EXECUTION_HISTORY_NOT_FOUND', `The workflow engine has no event history for execution ${r.id}. GET /executions/${r.id} says what the run did.`);
}

/**
 * Longest text of one event field in an answer. Events carry state inputs and outputs of up to 256 KiB
 * each; a page of 100 of them could pass Lambda's 6 MB response limit, so longer fields are cut (and
 * named in `details.truncated`): a page stays under ~2 MB (100 events × a few fields × 4 KiB).
 */
export const MAX_EVENT_FIELD_CHARS = 4096;

function boundedEvent(event: HistoryItem): HistoryItem {
  if (!event.details) return event;
  const truncated: string[] = [];
  const details: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(event.details)) {
    const text = typeof value === 'string' ? value : undefined;
    if (text !== undefined && text.length > MAX_EVENT_FIELD_CHARS) {
      details[field] = `${text.slice(0, MAX_EVENT_FIELD_CHARS)}…`;
      truncated.push(field);
    } else if (text === undefined && value !== null && typeof value === 'object' && JSON.stringify(value).length > MAX_EVENT_FIELD_CHARS) {
      details[field] = `${JSON.stringify(value).slice(0, MAX_EVENT_FIELD_CHARS)}…`;
      truncated.push(field);
    } else {
      details[field] = value;
    }
  }
  return { ...event, details: truncated.length > 0 ? { ...details, truncated } : details };
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
      // The engine's own token is the cursor's key, bound to this execution like every cursor to its query.
      const page = await pageRequest(req.query, ['executionHistory', r.id], ['t'], undefined, { t: 'S' });
      let out: HistoryPage;
      try {
        out = await workflowEngine().historyPage(r.kind, r.id, {
          maxResults: page.limit,
          ...(page.startKey ? { nextToken: String(page.startKey.t) } : {}),
        });
      } catch (e) {
        const name = e instanceof Error ? e.name : '';
        if (name === 'ExecutionDoesNotExist') throw historyMissing(r, req.now);
        if (name === 'InvalidToken') throw problems.badCursor();
        throw e;
      }
      return {
        status: 200,
        body: {
          executionId: r.id,
          events: out.events.map(boundedEvent),
          cursor: out.nextToken ? encodeCursor({ t: out.nextToken }, page.fingerprint, page.secret) : null,
        },
      };
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
