import * as z from 'zod';
import { defineRoutes } from './types.js';
import { ID_MAX_LENGTH, identifier, listQuery } from '../schemas/common.js';

export const auditStream = z.string().min(7).max('target:'.length + ID_MAX_LENGTH.id).regex(/^(control|target:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/, 'must be control or target:<id>');

export const auditListQuery = listQuery.extend({
  stream: auditStream.optional(),
  targetId: identifier.optional(),
});
export const auditVerifyQuery = z.strictObject({ stream: auditStream.optional(), targetId: identifier.optional() });

export const auditRoutes = defineRoutes([
  { operationId: 'listAudit', method: 'GET', path: '/audit', group: 'audit', scopes: ['admin', 'operator', 'auditor'], query: auditListQuery, summary: 'Audit records of one stream, oldest first', responses: { 200: 'Records' } },
  { operationId: 'verifyAudit', method: 'GET', path: '/audit/verify', group: 'audit', scopes: ['admin', 'operator', 'auditor'], query: auditVerifyQuery, summary: 'Verify the hash chain and head of one stream', responses: { 200: '{valid, checked, head, firstBrokenSeq?}' } },
]);
