import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { CaError } from '../src/domain/ca-error.ts';
import type { Clock } from '../src/ports/clock.ts';
import type { CrlPublicationRepository } from '../src/ports/crl-publication-repository.ts';
import type { CrlRepository, OcspResponderRepository, Repos } from '../src/ports/repositories.ts';
import type { AuthService } from '../src/services/auth-service.ts';
import type { CaService } from '../src/services/ca-service.ts';
import type { CertificateService } from '../src/services/certificate-service.ts';
import type { IssuanceService } from '../src/services/issuance-service.ts';
import type { RevocationService } from '../src/services/revocation-service.ts';
import type { CaContexts } from '../src/services/ca-contexts.ts';
import type { PolicyService } from '../src/services/policy-service.ts';
import type { PrincipalService } from '../src/services/principal-service.ts';
import type { Ca } from '../src/domain/ca.ts';
import type { Authorizer } from './authorization.ts';
import type { AuditKeys } from '../src/services/audit/audit-keys.ts';
import type { AuditService } from '../src/services/audit/audit-service.ts';
import { denialEvent } from './denials.ts';
import type { Req, Res } from './http.ts';
import type { CrlUpdater } from '../crl/crl-updater.ts';
import { consoleFiles } from './console-static.ts';
import { errorHandler } from './errors.ts';
import { issueFastPath } from './issue-fast-path.ts';
import { authenticate, body, requestContext, wellFormedPath } from './middleware.ts';
import { openApiDocument } from './openapi.ts';
import { mount, type Route } from './route.ts';
import { caRoutes } from './routes/cas.ts';
import { certificateRoutes } from './routes/certificates.ts';
import { crlAdminRoutes, crlPublicRoutes } from './routes/crl.ts';
import { ocspAdminRoutes, ocspFastPath, ocspRoutes } from './routes/ocsp.ts';
import type { OcspResponder } from '../ocsp/ocsp-responder.ts';
import { auditRoutes } from './routes/audit.ts';
import { auditReportRoutes } from './routes/audit-reports.ts';
import type { AuditReportService } from '../src/services/audit/report-service.ts';
import { meRoutes } from './routes/me.ts';
import { policyRoutes } from './routes/policies.ts';
import { principalRoutes } from './routes/principals.ts';
import { serviceRoutes } from './routes/service.ts';
import type { Metrics } from './metrics.ts';
import type { Readiness } from '../src/services/readiness.ts';
import type { RateLimiter } from '../src/services/rate-limiter.ts';

export interface AppDeps {
  crls: Pick<CrlRepository, 'latest' | 'latestInfo'>;
  crlUpdater: CrlUpdater;
  crlPublications: Pick<CrlPublicationRepository, 'list'>;
  logger: Logger;
  clock: Clock;
  repos: Pick<Repos, 'ping'>;
  auth: AuthService;
  cas: CaService;
  certificates: CertificateService;
  issuance: IssuanceService;
  revocation: RevocationService;
  principals: PrincipalService;
  policies: PolicyService;
  contexts: Pick<CaContexts, 'get'>;
  authz: Authorizer;
  audit: AuditService;
  auditKeys: AuditKeys;
  reports: AuditReportService;
  /** The CA row as the database has it now (authorization's ResourceTag keys). */
  findCa: (id: string) => Promise<Ca | undefined>;
  /** Answers OCSP requests (POST /ocsp/{caId}, GET /ocsp/{caId}/{request}). */
  ocsp: OcspResponder;
  /** Each CA's delegated OCSP responder certificates (GET /v1/cas/{caId}/ocsp shows the latest). */
  ocspResponders: Pick<OcspResponderRepository, 'latest'>;
  /** Where clients reach the service (CRL URLs of CAs without a baseUrl). */
  publicUrl: string;
  /** The key store types the API accepts (hsm-adapters/index.ts). */
  keyStoreTypes: readonly string[];
  /** Prometheus metrics: requests are counted when it is given, and GET /metrics serves it. */
  metrics?: Metrics;
  /** Only a caller with this bearer token may read /metrics (PRIVATECA_METRICS_TOKEN). */
  metricsToken?: string;
  /** What GET /metrics answers; by default this process's own metrics (a cluster worker asks the primary for all). */
  metricsText?: () => Promise<string>;
  /** What GET /readyz reports. */
  readiness?: () => Promise<Readiness>;
  /** Holds principals with a rateLimit to it. */
  rateLimiter?: RateLimiter;
  /** The built admin console (index.html and assets/), served at /console; absent: 404 console_not_built. */
  consoleDir?: string;
}

/** Writes the audit event of a refusal (403, 401 for a real token) before it is answered. */
export const recordRefusal =
  (deps: Pick<AppDeps, 'audit' | 'clock'>) =>
  async (err: CaError, req: Req, res: Res): Promise<void> => {
    const event = denialEvent(err, req, res, deps.clock.now());
    if (event) await deps.audit.record(event);
  };

/** Every route of the service, in the order the app mounts them. */
export function routes(deps: AppDeps): Route[] {
  let doc: object | undefined;
  const all: Route[] = [
    ...serviceRoutes({ ...deps, openApi: () => (doc ??= openApiDocument(all)) }),
    ...crlPublicRoutes(deps),
    ...ocspRoutes(deps),
    // Certificates first: issuance is the hot path.
    ...certificateRoutes(deps),
    ...crlAdminRoutes({ ...deps, updater: deps.crlUpdater, publications: deps.crlPublications }),
    ...ocspAdminRoutes(deps),
    ...caRoutes(deps),
    ...principalRoutes(deps),
    ...policyRoutes(deps),
    ...meRoutes({ ...deps, cas: deps.findCa }),
    ...auditRoutes(deps),
    ...auditReportRoutes(deps),
  ];
  return all;
}

/** The HTTP API. Routes throw CaErrors; one handler renders them as problem+json. */
export function createApp(deps: AppDeps, all: readonly Route[] = routes(deps)): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestContext(deps.logger, deps.metrics) as express.RequestHandler);
  app.use(wellFormedPath as express.RequestHandler);
  // The few public /v1 routes (the audit key) before authentication; every other /v1 request,
  // routed or not, is authenticated first: an unknown /v1 route is a 401 to a caller without a
  // valid token, never a map of which routes exist.
  app.use(consoleFiles(deps.consoleDir));
  const publicV1 = all.filter((r) => r.public && r.path.startsWith('/v1/'));
  const open = express.Router();
  mount(open, publicV1);
  app.use(open);
  app.use('/v1', ...([authenticate(deps.auth, deps.rateLimiter), body] as unknown as express.RequestHandler[]));
  const router = express.Router();
  mount(router, all.filter((r) => !publicV1.includes(r)));
  app.use(router);
  app.use((req, _res, next) => next(new CaError('not_found', 'not_found', `no route ${req.method} ${req.path}`)));
  const onError = errorHandler(deps.logger, recordRefusal(deps));
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => onError(err, req, res));
  return app;
}

/**
 * The service's request listener: issuance and OCSP through their fast paths, everything else through Express.
 */
export function createRequestListener(deps: AppDeps, app: Express = createApp(deps)): (req: IncomingMessage, res: ServerResponse) => void {
  const fast = issueFastPath({ ...deps, onRefusal: recordRefusal(deps) });
  const ocsp = ocspFastPath(deps);
  return (req, res) => {
    if (!fast(req, res) && !ocsp(req, res)) app(req, res);
  };
}
