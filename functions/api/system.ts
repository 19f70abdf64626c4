// Public routes: liveness and the OpenAPI document.
import { ROUTES } from '../core/routes/index.js';
import { openApiDocument } from '../core/openapi.js';
import { createApiHandler } from './lib/http.js';

export const handler = createApiHandler(
  'system',
  {
    async getHealth(req) {
      return { status: 200, body: { status: 'ok', time: req.now.toISOString() } };
    },
    async getOpenApi() {
      return { status: 200, body: openApiDocument() };
    },
  },
  ROUTES,
);
