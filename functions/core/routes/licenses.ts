import { defineRoutes } from './types.js';
import { identifier, reasonBody } from '../schemas/common.js';
import { createLicenseBody } from '../schemas/licenses.js';

export const licenseRoutes = defineRoutes([
  { operationId: 'createLicense', method: 'POST', path: '/licenses', problems: [409], group: 'licenses', scopes: ['admin'], body: createLicenseBody, summary: 'Create a license', responses: { 201: 'The license' } },
  { operationId: 'getLicense', method: 'GET', path: '/licenses/{id}', params: { id: identifier }, group: 'licenses', scopes: ['admin', 'operator', 'auditor'], summary: 'Read a license', responses: { 200: 'The license' } },
  { operationId: 'revokeLicense', method: 'POST', path: '/licenses/{id}/revoke', params: { id: identifier }, problems: [409], group: 'licenses', scopes: ['admin'], body: reasonBody, summary: 'Revoke a license', responses: { 200: 'The revoked license' } },
]);
