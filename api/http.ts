import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Actor } from '../src/services/actor.ts';
import type { Caller } from '../src/services/auth-service.ts';

/*
 * The request and response types the handlers use: Node's own API plus `locals`, so that the same
 * code serves the Express app and the issuance fast path (issue-fast-path.ts).
 */
export type Req = IncomingMessage & { body?: unknown };
/** `caller` and `actor` are set once the request is authenticated (every /v1 route). */
export type Res = ServerResponse & { locals: { requestId: string; actor: Actor; caller: Caller; route?: string } };
export type Next = (err?: unknown) => void;
export type Handler = (req: Req, res: Res, next: Next) => void | Promise<void>;

export const pathOf = (req: IncomingMessage): string => (req.url ?? '/').split('?')[0]!;

/** JSON without Express's res.json machinery (content negotiation, ETag, JSONP): the hot path's reply. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendBody(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** 204: done, nothing to say. */
export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

/** A complete answer with its Content-Type and Content-Length. */
export function sendBody(res: ServerResponse, status: number, contentType: string, body: string | Uint8Array): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': typeof body === 'string' ? Buffer.byteLength(body) : body.length });
  res.end(body);
}

/** A body read piece by piece (an audit report of hundreds of MB), waiting for the client to drain each. */
export async function sendStream(res: ServerResponse, status: number, contentType: string, length: number, pieces: AsyncIterable<Uint8Array>, headers: Record<string, string> = {}): Promise<void> {
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': length });
  for await (const piece of pieces) {
    if (res.destroyed) return;
    if (!res.write(piece)) await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  res.end();
}

declare module 'express-serve-static-core' {
  interface Locals {
    requestId: string;
    actor: Actor;
    caller: Caller;
  }
}
