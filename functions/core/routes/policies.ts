import * as z from 'zod';
import { defineRoutes, type RouteSpec } from './types.js';
import { POLICY_KINDS, POLICY_SCHEMAS } from '../policies.js';
import { listQuery, text } from '../schemas/common.js';
import { evaluateBody } from '../schemas/decisions.js';

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

export const policyRoutes = defineRoutes(
  POLICY_KINDS.flatMap((kind): RouteSpec[] => [
    { operationId: `get${cap(kind)}Policy`, method: 'GET', path: `/${kind}-policy`, group: 'policies', scopes: ['admin', 'operator', 'auditor'], summary: `Current ${kind} policy (ETag = version)`, responses: { 200: 'The policy' } },
    {
      operationId: `put${cap(kind)}Policy`, method: 'PUT', path: `/${kind}-policy`, group: 'policies', scopes: ['admin'],
      body: z.strictObject({ document: POLICY_SCHEMAS[kind], comment: text(500).optional() }),
      requestHeaders: ['If-Match'], summary: `Replace the ${kind} policy (If-Match required)`, responses: { 200: 'The new version' },
    },
    { operationId: `list${cap(kind)}PolicyVersions`, method: 'GET', path: `/${kind}-policy/versions`, group: 'policies', scopes: ['admin', 'operator', 'auditor'], query: listQuery, summary: `Earlier versions of the ${kind} policy`, responses: { 200: 'Versions, newest first' } },
    { operationId: `evaluate${cap(kind)}Policy`, method: 'POST', path: `/${kind}-policy/evaluate`, problems: [404], group: 'decisions', scopes: ['admin', 'operator', 'auditor'], body: evaluateBody, summary: `Evaluate the codes the ${kind} policy owns`, responses: { 200: 'Decision for this policy' } },
  ]),
);
