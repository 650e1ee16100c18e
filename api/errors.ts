import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CaError, type CaErrorKind } from '../src/domain/ca-error.ts';
import { pathOf, type Next, type Req, type Res } from './middleware.ts';

/** The only place that knows HTTP status codes. */
const STATUS: Record<CaErrorKind, number> = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
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
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function sendProblem(res: ServerResponse & { locals: { requestId?: string } }, status: number, code: string, detail: string): void {
  const text = JSON.stringify({
    type: `https://privateca.dev/problems/${code}`,
    title: TITLE[status] ?? 'Error',
    status,
    detail,
    code,
    requestId: res.locals.requestId,
  });
  res.statusCode = status;
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="privateca"');
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Renders every error as RFC 9457 problem+json. CaErrors carry their own safe detail; errors from
 * body parsing are mapped to stable codes; anything else is a 500 that carries only the request id.
 */
export function errorHandler(logger: Logger): (err: unknown, req: Req, res: Res, next?: Next) => void {
  return (err, req, res) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof CaError) {
      const status = STATUS[err.kind];
      if (status >= 500) logger.warn({ requestId: res.locals.requestId, code: err.code, err }, 'request failed');
      sendProblem(res, status, err.code, err.detail);
      return;
    }
    // body-parser errors carry a `type` and a status.
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') return sendProblem(res, 413, 'payload_too_large', 'the request body is over 1 MiB');
    if (type === 'entity.parse.failed') return sendProblem(res, 400, 'invalid_json', 'the request body is not valid JSON');
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return sendProblem(res, 415, 'unsupported_media_type', 'the request body must be UTF-8 JSON');
    }
    if (type === 'request.aborted') return;
    logger.error({ requestId: res.locals.requestId, method: req.method, path: pathOf(req), err }, 'internal error');
    sendProblem(res, 500, 'internal', `internal error; quote request id ${res.locals.requestId}`);
  };
}
