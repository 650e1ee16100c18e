import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuthService } from '../src/services/auth-service.ts';
import type { IssuanceService } from '../src/services/issuance-service.ts';
import { errorHandler } from './errors.ts';
import { authenticate, body, chain, requestContext, type Req, type Res } from './middleware.ts';
import { issueCertificate } from './routes/certificates.ts';

const ISSUE = /^\/v1\/cas\/([^/?#]*)\/certificates\/?(?:\?|$)/;

/**
 * POST /v1/cas/{caId}/certificates without Express. Measured with bench/issue.ts: Express's
 * per-request work (request/response prototypes, router layers) cost about 130 µs of the ~730 µs of
 * CPU a certificate took, more than signing it. This runs the very same handlers (request id,
 * authentication, body, issueCertificate, error rendering) in the same order; every other request
 * goes to Express. test/e2e/fast-path.test.ts checks that both give the same answers.
 */
export function issueFastPath(deps: { logger: Logger; auth: AuthService; issuance: IssuanceService }) {
  const run = chain(
    [
      requestContext(deps.logger),
      authenticate(deps.auth),
      body,
      (req, res) => issueCertificate(deps.issuance, (req as Req & { caId: string }).caId, req, res),
    ],
    errorHandler(deps.logger),
  );
  /** Returns false when the request is not an issuance, for Express to handle. */
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST') return false;
    const m = ISSUE.exec(req.url ?? '');
    if (!m) return false;
    (req as Req & { caId: string }).caId = decodeURIComponentSafe(m[1]!);
    (res as Res).locals = {} as Res['locals'];
    run(req as Req, res as Res);
    return true;
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
