import { createHash, timingSafeEqual } from 'node:crypto';
import { CaError } from '../../src/domain/ca-error.ts';
import type { Readiness } from '../../src/services/readiness.ts';
import { sendBody, sendJson } from '../http.ts';
import type { Metrics } from '../metrics.ts';
import { HealthResponse, OpenApiResponse, ReadinessResponse } from '../responses.ts';
import type { Route } from '../route.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The service's own routes: liveness, readiness, metrics and the OpenAPI document. */
export function serviceRoutes(deps: {
  openApi: () => object;
  readiness?: () => Promise<Readiness>;
  metrics?: Metrics;
  metricsToken?: string;
  metricsText?: () => Promise<string>;
}): Route[] {
  const expected = deps.metricsToken === undefined ? undefined : digest(deps.metricsToken);
  const out: Route[] = [
    {
      method: 'get',
      path: '/healthz',
      operation: 'Health',
      summary: 'Liveness: 200 while the process serves (no dependency is checked: that is /readyz)',
      public: true,
      responses: { '200': { description: 'serving', schema: HealthResponse } },
      handler: (_req, res) => {
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
  const { readiness, metrics } = deps;
  if (readiness) {
    out.push({
      method: 'get',
      path: '/readyz',
      operation: 'Ready',
      summary: 'Readiness: 200 when the database answers and every configured key store can be used; 503 naming what cannot',
      public: true,
      responses: {
        '200': { description: 'ready to serve', schema: ReadinessResponse },
        '503': { description: 'not ready (the database, a key store, or the node is shutting down); notReady names which', schema: ReadinessResponse },
      },
      handler: async (_req, res) => {
        const r = await readiness();
        sendJson(res, r.status === 'ready' ? 200 : 503, r);
      },
    });
  }
  if (metrics) {
    out.push({
      method: 'get',
      path: '/metrics',
      operation: 'GetMetrics',
      summary: 'Prometheus metrics (text format); with PRIVATECA_METRICS_TOKEN set, only for that bearer token',
      public: true,
      responses: { '200': { description: 'the metrics', alternatives: { 'text/plain': { description: 'Prometheus text exposition format 0.0.4' } } } },
      errors: expected ? [401] : [],
      handler: async (req, res) => {
        if (expected) {
          const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
          if (!given || !timingSafeEqual(digest(given), expected)) throw new CaError('unauthenticated', 'unauthenticated', 'GET /metrics needs the metrics bearer token');
        }
        sendBody(res, 200, metrics.contentType, await (deps.metricsText ?? (() => metrics.text()))());
      },
    });
  }
  return out;
}
