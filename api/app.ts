import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { CaError } from '../src/domain/ca-error.ts';
import type { Clock } from '../src/ports/clock.ts';
import type { CrlRepository, Repos } from '../src/ports/repositories.ts';
import type { CrlUpdater } from '../crl/crl-updater.ts';
import type { CrlPublicationRepository } from '../src/ports/crl-publication-repository.ts';
import { crlAdminRouter, crlPublicRouter } from './routes/crl.ts';
import type { AuthService } from '../src/services/auth-service.ts';
import type { CaService } from '../src/services/ca-service.ts';
import type { IssuanceService } from '../src/services/issuance-service.ts';
import type { RevocationService } from '../src/services/revocation-service.ts';
import { errorHandler, sendProblem } from './errors.ts';
import { issueFastPath } from './issue-fast-path.ts';
import { authenticate, body, requestContext } from './middleware.ts';
import { openApiDocument } from './openapi.ts';
import { casRouter } from './routes/cas.ts';
import { certificatesRouter } from './routes/certificates.ts';

export interface AppDeps {
  crls: Pick<CrlRepository, 'latest' | 'latestInfo'>;
  crlUpdater: CrlUpdater;
  crlPublications: Pick<CrlPublicationRepository, 'list'>;
  logger: Logger;
  clock: Clock;
  repos: Pick<Repos, 'ping' | 'certificates'>;
  auth: AuthService;
  cas: CaService;
  issuance: IssuanceService;
  revocation: RevocationService;
}

/** The HTTP API of API.md. Routes throw CaErrors; one handler renders them as problem+json. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestContext(deps.logger));

  app.get('/healthz', async (_req, res) => {
    if (await deps.repos.ping()) res.json({ status: 'ok' });
    else sendProblem(res, 503, 'database_unavailable', 'the database does not answer');
  });
  const doc = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });

  app.use(crlPublicRouter(deps));

  const v1 = express.Router();
  v1.use(authenticate(deps.auth));
  v1.use(body);
  // Certificates first: issuance is the hot path, and the CA router would only be tried in vain.
  v1.use('/cas/:caId/certificates', certificatesRouter({ ...deps, certificates: deps.repos.certificates }));
  v1.use('/cas/:caId/crl', crlAdminRouter({ ...deps, updater: deps.crlUpdater, publications: deps.crlPublications }));
  v1.use('/cas', casRouter(deps));
  app.use('/v1', v1);

  app.use((req, _res, next) => next(new CaError('not_found', 'not_found', `no route ${req.method} ${req.path}`)));
  const onError = errorHandler(deps.logger);
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => onError(err, req, res));
  return app;
}

/**
 * The service's request listener: issuance through the fast path, everything else through Express.
 */
export function createRequestListener(deps: AppDeps, app: Express = createApp(deps)): (req: IncomingMessage, res: ServerResponse) => void {
  const fast = issueFastPath(deps);
  return (req, res) => {
    if (!fast(req, res)) app(req, res);
  };
}
