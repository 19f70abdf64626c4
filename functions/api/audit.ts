// Audit trail: read a stream page by page, and verify its hash chain and head.
import { auditRoutes } from '../core/routes/audit.js';
import { CONTROL_STREAM, targetStream } from '../core/audit.js';
import { problems } from '../core/problems.js';
import type { Principal } from '../core/principal.js';
import { getTargetTenant } from '../adapters/targets-lookup.js';
import { listAudit, verifyStream } from '../adapters/audit.js';
import { createApiHandler } from './lib/http.js';
import { pageRequest, pageResponse } from './lib/pagination.js';

/** Resolve the stream a query names; a tenant-restricted token may only read its own targets' streams. */
async function streamOf(query: { stream?: string; targetId?: string }, principal: Principal): Promise<string> {
  if (query.stream && query.targetId && query.stream !== targetStream(query.targetId)) {
    throw problems.validation([{ path: '/query/stream', message: 'stream and targetId name different streams' }]);
  }
  const stream = query.stream ?? (query.targetId ? targetStream(query.targetId) : CONTROL_STREAM);
  if (principal.tenant !== undefined) {
    if (!stream.startsWith('target:')) throw problems.forbidden('A tenant-restricted token reads only its tenant\'s target streams.');
    const tenant = await getTargetTenant(stream.slice('target:'.length));
    if (tenant !== principal.tenant) throw problems.notFound('TARGET_NOT_FOUND', 'No such target.');
  }
  return stream;
}

export const handler = createApiHandler(
  'audit',
  {
    async listAudit(req) {
      const stream = await streamOf(req.query, req.principal);
      const page = await pageRequest(req.query, ['audit', stream], ['stream', 'seq'], { stream });
      if (page.startKey && (page.startKey.stream !== stream || typeof page.startKey.seq !== 'number')) throw problems.badCursor();
      const after = page.startKey ? (page.startKey.seq as number) : 0;
      const { items, lastSeq } = await listAudit(stream, page.limit, after);
      return { status: 200, body: { stream, ...pageResponse(items, lastSeq === undefined ? undefined : { stream, seq: lastSeq }, page) } };
    },
    async verifyAudit(req) {
      const stream = await streamOf(req.query, req.principal);
      return { status: 200, body: { stream, ...(await verifyStream(stream)) } };
    },
  },
  auditRoutes,
);
