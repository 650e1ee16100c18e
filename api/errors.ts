import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CaError, isDatabaseUnavailable, type CaErrorKind } from '../src/domain/ca-error.ts';
import { pathOf, type Next, type Req, type Res } from './http.ts';

/** The only place that knows HTTP status codes. */
const STATUS: Record<CaErrorKind, number> = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  not_acceptable: 406,
  conflict: 409,
  invalid_state: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

const TITLE: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The status an error kind is answered with (for the OpenAPI document and tests). */
export const statusOf = (kind: CaErrorKind): number => STATUS[kind];

/** Renders err as problem+json (with Retry-After when it has one). */
export function sendProblem(res: ServerResponse & { locals: { requestId?: string } }, err: CaError): void {
  const status = STATUS[err.kind];
  const text = JSON.stringify({
    type: `https://privateca.dev/problems/${err.code}`,
    title: TITLE[status] ?? 'Error',
    status,
    detail: err.detail,
    code: err.code,
    ...err.extra,
    requestId: res.locals.requestId,
  });
  res.statusCode = status;
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="privateca"');
  if (err.retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(err.retryAfter))));
  // The rest of an oversized body is not read: close the connection after answering.
  if (err.kind === 'payload_too_large') res.setHeader('Connection', 'close');
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Renders every error as RFC 9457 problem+json. CaErrors carry their own safe detail; a path that
 * is not valid percent-encoding (Express fails to decode its parameters) is a 400; anything else is
 * a 500 that carries only the request id.
 */
export function errorHandler(
  logger: Logger,
  /** Records a refusal in the audit log before it is answered (a 403, a 401 for a real token); best effort. */
  onRefusal?: (err: CaError, req: Req, res: Res) => Promise<void>,
): (err: unknown, req: Req, res: Res, next?: Next) => void {
  return (err, req, res) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof URIError) err = new CaError('invalid_request', 'invalid_path', 'the request path is not valid percent-encoded UTF-8');
    if (err instanceof CaError) {
      const e = err;
      // A database outage is logged by the driver once when it starts and once when it ends.
      if (STATUS[e.kind] >= 500 && !isDatabaseUnavailable(e)) logger.warn({ requestId: res.locals.requestId, code: e.code, err: e }, 'request failed');
      if (onRefusal && (e.kind === 'forbidden' || e.kind === 'unauthenticated')) {
        onRefusal(e, req, res)
          .catch((failure: unknown) => logger.error({ requestId: res.locals.requestId, err: failure }, 'recording a refusal in the audit log failed'))
          .finally(() => sendProblem(res, e));
        return;
      }
      sendProblem(res, e);
      return;
    }
    logger.error({ requestId: res.locals.requestId, method: req.method, path: pathOf(req), err }, 'internal error');
    sendProblem(res, new CaError('internal', 'internal', `internal error; quote request id ${res.locals.requestId}`));
  };
}
