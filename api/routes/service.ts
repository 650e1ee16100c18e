import { unavailable } from '../../src/domain/ca-error.ts';
import type { Repos } from '../../src/ports/repositories.ts';
import { sendJson } from '../http.ts';
import { HealthResponse, OpenApiResponse } from '../responses.ts';
import type { Route } from '../route.ts';

/** The service's own routes: health and the OpenAPI document. */
export function serviceRoutes(deps: { repos: Pick<Repos, 'ping'>; openApi: () => object }): Route[] {
  return [
    {
      method: 'get',
      path: '/healthz',
      operation: 'Health',
      summary: 'Liveness: 200 while the service serves and its database answers',
      public: true,
      responses: { '200': { description: 'serving', schema: HealthResponse } },
      errors: [503],
      handler: async (_req, res) => {
        if (!(await deps.repos.ping())) throw unavailable('database_unavailable', 'the database does not answer');
        sendJson(res, 200, { status: 'ok' });
      },
    },
    {
      method: 'get',
      path: '/openapi.json',
      operation: 'GetOpenApiDocument',
      summary: 'This OpenAPI 3.1 document',
      public: true,
      responses: { '200': { description: 'the OpenAPI document', schema: OpenApiResponse } },
      handler: (_req, res) => {
        sendJson(res, 200, deps.openApi());
      },
    },
  ];
}
