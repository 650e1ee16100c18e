import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { CaError } from '../src/domain/ca-error.ts';
import type { AuthService } from '../src/services/auth-service.ts';
import type { Actor } from '../src/services/actor.ts';
import { sendProblem } from './errors.ts';

export const BODY_LIMIT = 1024 * 1024;

/** Gives each request an id (the caller's X-Request-Id when it is sane) and logs it when done. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const id = given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      // Never the Authorization header, never bodies: they carry tokens and keys' owners' data.
      logger.info({ requestId: id, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 100) / 100 }, 'request');
    });
    next();
  };
}

const hasBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

const json = express.json({ limit: BODY_LIMIT, strict: true, type: () => true });
// Reads (and throws away) a body that is not JSON, to tell 413 from 415 when its length is unknown.
const drain = express.raw({ limit: BODY_LIMIT, type: () => true });

/**
 * A body over 1 MiB is 413 whatever its type; a body that is not application/json is 415; requests
 * without a body need no Content-Type.
 */
export const body: RequestHandler = (req, res, next) => {
  if (!hasBody(req)) return next();
  const length = Number(req.headers['content-length']);
  if (Number.isFinite(length) && length > BODY_LIMIT) {
    res.setHeader('Connection', 'close');
    return sendProblem(res, 413, 'payload_too_large', 'the request body is over 1 MiB');
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    return drain(req, res, (err?: unknown) => {
      if (err) return next(err);
      sendProblem(res, 415, 'unsupported_media_type', 'a request body must be application/json');
    });
  }
  json(req, res, next);
};

declare module 'express-serve-static-core' {
  interface Locals {
    requestId: string;
    actor: Actor;
  }
}

/** Every /v1 route needs a valid bearer token; all current principals are administrators. */
export function authenticate(auth: AuthService): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    const m = header ? /^Bearer[ ]+([\x21-\x7e]{1,512})\s*$/i.exec(header) : null;
    const token = await auth.authenticate(m?.[1]);
    if (token.role !== 'admin') throw new CaError('forbidden', 'forbidden', 'this principal may not do that');
    res.locals.actor = { id: `token:${token.id}`, requestId: res.locals.requestId };
    next();
  };
}
