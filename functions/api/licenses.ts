// Licenses: create, read, revoke (with reason). Entitlements feed decisions and registration limits.
import { licenseRoutes } from '../core/routes/licenses.js';
import { actorOf, canUseLicense, refuseSharedWrite } from '../core/principal.js';
import { problems } from '../core/problems.js';
import { createLicense, getLicense, revokeLicense } from '../adapters/licenses.js';
import { createApiHandler } from './lib/http.js';

export const handler = createApiHandler(
  'licenses',
  {
    async createLicense(req) {
      refuseSharedWrite(req.principal, 'Creating a license');
      if (Date.parse(req.body.expiresAt) <= req.now.getTime()) {
        throw problems.validation([{ path: '/expiresAt', message: 'must be in the future' }]);
      }
      return { status: 201, body: await createLicense(req.body, actorOf(req.principal), req.now) };
    },
    async getLicense(req) {
      const l = await getLicense(req.params.id!);
      // Another customer's license is not there for a tenant-restricted token.
      if (!l || !canUseLicense(req.principal, l.customerId)) throw problems.notFound('LICENSE_NOT_FOUND', `No license ${req.params.id}.`);
      return { status: 200, body: l };
    },
    async revokeLicense(req) {
      refuseSharedWrite(req.principal, 'Revoking a license');
      return { status: 200, body: await revokeLicense(req.params.id!, req.body.reason, actorOf(req.principal), req.now) };
    },
  },
  licenseRoutes,
);
