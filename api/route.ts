import type { Router } from 'express';
import type { z } from 'zod';
import { CaError } from '../src/domain/ca-error.ts';
import type { Handler, Next, Req, Res } from './http.ts';

/** One response of a route, as the OpenAPI document describes it. */
export interface ResponseSpec {
  description: string;
  /** The JSON body's shape (application/json). */
  schema?: z.ZodType;
  /** Other representations the route answers with, by media type (Accept negotiation). */
  alternatives?: Record<string, { description: string; binary?: boolean }>;
}

/** An OpenAPI parameter object (query parameters; path parameters are derived from the path). */
export interface ParameterSpec {
  name: string;
  in: 'query' | 'header';
  description?: string;
  schema: object;
  required?: boolean;
}

/**
 * One HTTP route: what the app mounts and what the OpenAPI document says, from the same object, so
 * that the two cannot drift apart (test/e2e/openapi.test.ts checks every route the app serves).
 */
export interface Route {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path template, e.g. `/v1/cas/{caId}`. */
  path: string;
  /** The operation's name (the OpenAPI operationId); for /v1 routes also the action the route checks, unless `action` says otherwise. */
  operation: string;
  /** The policy action the route checks when it is not `operation` (several routes share one); null for /v1 routes that need no permission. */
  action?: string | null;
  summary: string;
  /** Needs no bearer token (health, the OpenAPI document, CRLs). */
  public?: boolean;
  body?: z.ZodType;
  /** A body that is not JSON (POST /ocsp/{caId}: a DER OCSPRequest): its media type, what it is, its size limit. */
  binaryBody?: { type: string; description: string; maxBytes: number };
  /** The body may be left out (revoke: the reason defaults). */
  optionalBody?: boolean;
  parameters?: ParameterSpec[];
  responses: Record<string, ResponseSpec>;
  /** Error statuses this route may answer besides those every route of its kind may (openapi.ts adds those). */
  errors?: number[];
  handler: Handler;
}

/** The action a /v1 route checks (without the `privateca:` prefix), or null when it needs no permission. */
export const routeAction = (r: Route): string | null => (r.action === undefined ? r.operation : r.action);

/** The path parameters of a request, as Express decoded them (the fast path sets them too). */
export const params = (req: Req): Record<string, string> => (req as Req & { params?: Record<string, string> }).params ?? {};

/** The query string as Express parsed it ('simple' parser: strings and arrays of strings). */
export const query = (req: Req): Record<string, unknown> => ((req as Req & { query?: unknown }).query as Record<string, unknown>) ?? {};

/** Mounts routes on an Express router (authentication and the body reader run before, for all of /v1). */
export function mount(router: Router, routes: readonly Route[]): void {
  for (const r of routes) {
    const path = r.path.replace(/\{([A-Za-z]+)\}/g, ':$1');
    const route = r.path;
    const handler = r.handler;
    router[r.method](path, ((req: Req, res: Res, next: Next) => {
      res.locals.route = route;
      return handler(req, res, next);
    }) as unknown as Parameters<Router['get']>[1]);
  }
}

/** For a lookup: undefined instead of the CaError `code` (a resource that does not exist), anything else thrown on. */
export const unlessNotFound =
  (code: string) =>
  (e: unknown): undefined => {
    if (e instanceof CaError && e.code === code) return undefined;
    throw e;
  };
