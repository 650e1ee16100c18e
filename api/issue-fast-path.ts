import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { invalid, type CaError } from '../src/domain/ca-error.ts';
import type { AuthService } from '../src/services/auth-service.ts';
import type { RateLimiter } from '../src/services/rate-limiter.ts';
import type { CaContexts } from '../src/services/ca-contexts.ts';
import type { IssuanceService } from '../src/services/issuance-service.ts';
import type { Authorizer } from './authorization.ts';
import { errorHandler } from './errors.ts';
import type { Req, Res } from './http.ts';
import { authenticate, body, chain, ISSUE_ROUTE, requestContext } from './middleware.ts';
import type { Metrics } from './metrics.ts';
import { issueCertificate } from './routes/certificates.ts';

const ISSUE = /^\/v1\/cas\/([^/?#]*)\/certificates\/?(?:\?|$)/;

/**
 * POST /v1/cas/{caId}/certificates without Express. Measured with bench/issue.ts: Express's
 * per-request work (request/response prototypes, router layers) cost about 130 µs of the ~730 µs of
 * CPU a certificate took, more than signing it. This runs the very same handlers (request id,
 * authentication, body, issueCertificate, error rendering) in the same order; every other request
 * goes to Express. test/e2e/fast-path.test.ts checks that both give the same answers.
 */
export function issueFastPath(deps: {
  logger: Logger;
  metrics?: Metrics;
  auth: AuthService;
  rateLimiter?: RateLimiter;
  issuance: IssuanceService;
  contexts: Pick<CaContexts, 'get'>;
  authz: Authorizer;
  onRefusal: (err: CaError, req: Req, res: Res) => Promise<void>;
}) {
  const run = chain(
    [
      requestContext(deps.logger, deps.metrics),
      (req, _res, next) => {
        const raw = (req as Req & { rawCaId: string }).rawCaId;
        try {
          (req as Req & { params: Record<string, string> }).params = { caId: decodeURIComponent(raw) };
        } catch {
          throw invalid('invalid_path', 'the request path is not valid percent-encoded UTF-8');
        }
        next();
      },
      authenticate(deps.auth, deps.rateLimiter),
      body,
      (req, res) => issueCertificate(deps, req, res),
    ],
    errorHandler(deps.logger, deps.onRefusal),
  );
  /** Returns false when the request is not an issuance, for Express to handle. */
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST') return false;
    const m = ISSUE.exec(req.url ?? '');
    if (!m) return false;
    (req as Req & { rawCaId: string }).rawCaId = m[1]!;
    (res as Res).locals = { route: ISSUE_ROUTE } as Res['locals'];
    run(req as Req, res as Res);
    return true;
  };
}
