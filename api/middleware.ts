import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CaError, invalid } from '../src/domain/ca-error.ts';
import { sourceIp } from './authorization.ts';
import type { AuthService } from '../src/services/auth-service.ts';
import type { RateLimiter } from '../src/services/rate-limiter.ts';
import { pathOf, type Handler, type Req, type Res } from './http.ts';
import type { Metrics } from './metrics.ts';

export const BODY_LIMIT = 1024 * 1024;

/** The issuance route's template, as requests are counted under it. */
export const ISSUE_ROUTE = '/v1/cas/{caId}/certificates';

/**
 * Gives each request an id (the caller's X-Request-Id when it is sane), and when it is answered logs
 * it and counts it in the metrics under its route template (set by mount(); 'unmatched' without one).
 */
export function requestContext(logger: Logger, metrics?: Metrics): Handler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    const start = process.hrtime.bigint();
    const log = logger.isLevelEnabled('info');
    if (!log && !metrics) return next();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (metrics) {
        const route = res.locals.route ?? 'unmatched';
        metrics.request(req.method ?? '', route, res.statusCode);
        if (route === ISSUE_ROUTE && res.statusCode === 201) metrics.certificateIssued((req as Req & { params: { caId: string } }).params.caId, ms / 1000);
      }
      // Never the Authorization header, never bodies: they carry tokens and keys' owners' data.
      if (log) logger.info({ requestId: id, method: req.method, path: pathOf(req), status: res.statusCode, ms: Math.round(ms * 100) / 100 }, 'request');
    });
    next();
  };
}

/** Refuses a path that is not valid percent-encoded UTF-8 (RFC 3986 2.1) before any route reads it. */
export const wellFormedPath: Handler = (req, _res, next) => {
  const path = pathOf(req);
  if (path.includes('%')) {
    try {
      decodeURIComponent(path);
    } catch {
      throw invalid('invalid_path', 'the request path is not valid percent-encoded UTF-8');
    }
  }
  next();
};

const hasBody = (req: Req) =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

const tooLarge = () => new CaError('payload_too_large', 'payload_too_large', 'the request body is over 1 MiB');

/**
 * A body over 1 MiB is 413 whatever its type; a body that is not application/json (UTF-8, no
 * content-encoding) is 415; requests without a body need no Content-Type.
 *
 * Hand-written rather than express.json(): on the issuance hot path body-parser's stream and
 * charset machinery cost about 8% of a request's CPU (bench/issue.ts with --cpu-prof); this reads
 * the chunks, counts them and parses JSON. test/e2e/bad-input.test.ts covers every refusal.
 */
export const body: Handler = (req, _res, next) => {
  if (!hasBody(req)) return next();
  const length = Number(req.headers['content-length']);
  if (Number.isFinite(length) && length > BODY_LIMIT) return next(tooLarge());
  const [type, ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  const encoding = req.headers['content-encoding'];
  const json = type === 'application/json' && (charset === undefined || charset === 'utf-8') && (!encoding || encoding === 'identity');
  const chunks: Buffer[] = [];
  let total = 0;
  let done = false;
  req.on('data', (c: Buffer) => {
    if (done) return;
    total += c.length;
    if (total > BODY_LIMIT) {
      done = true;
      return next(tooLarge());
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (done) return;
    done = true;
    if (!json) return next(new CaError('unsupported_media_type', 'unsupported_media_type', 'a request body must be application/json (UTF-8, not compressed)'));
    try {
      req.body = JSON.parse(Buffer.concat(chunks, total).toString('utf8'));
    } catch {
      return next(invalid('invalid_json', 'the request body is not valid JSON'));
    }
    next();
  });
};

/** Runs handlers one after the other, as Express would, without Express (the fast path). */
export function chain(handlers: Handler[], onError: (err: unknown, req: Req, res: Res) => void): (req: Req, res: Res) => void {
  return (req, res) => {
    const step = (i: number) => (err?: unknown) => {
      if (err !== undefined) return onError(err, req, res);
      const h = handlers[i];
      if (!h) return;
      try {
        const r = h(req, res, step(i + 1));
        if (r) r.catch((e: unknown) => onError(e, req, res));
      } catch (e) {
        onError(e, req, res);
      }
    };
    step(0)();
  };
}

/** Every /v1 route needs a valid bearer token; what the principal may do is each route's to check (authorization.ts). */
const CA_IN_PATH = /^\/v1\/cas\/([^/?#]+)/;

/**
 * Authenticates the bearer token, then holds the principal to its rate limit, if it has one (429
 * rate_limited with Retry-After); a principal without one costs a property check.
 */
export function authenticate(auth: AuthService, limiter?: RateLimiter): Handler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const m = header ? /^Bearer[ ]+([\x21-\x7e]{1,512})\s*$/i.exec(header) : null;
    const caller = await auth.authenticate(m?.[1]);
    res.locals.caller = caller;
    res.locals.actor = { id: caller.principal.id, name: caller.principal.name, tokenId: caller.tokenId, requestId: res.locals.requestId, sourceIp: sourceIp(req) };
    const limit = caller.principal.rateLimit;
    if (limit && limiter) {
      // Express strips the mount path (/v1) from req.url in this middleware; originalUrl keeps it.
      const caId = limit.perCa ? CA_IN_PATH.exec((req as Req & { originalUrl?: string }).originalUrl ?? req.url ?? '')?.[1] : undefined;
      const retryAfter = await limiter.take(caId ? `${caller.principal.id}/${caId}` : caller.principal.id, limit);
      if (retryAfter !== undefined) {
        const per = caId ? ' for this CA' : '';
        throw new CaError('rate_limited', 'rate_limited', `principal ${caller.principal.name} is over its rate limit${per} (${limit.requestsPerSecond} requests a second, ${limit.burst} at once)`, { retryAfter });
      }
    }
    next();
  };
}
