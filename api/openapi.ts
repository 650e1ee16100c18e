import { z } from 'zod';
import { ProblemResponse } from './responses.ts';
import { routeAction, type Route } from './route.ts';

const jsonSchema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' });

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'the request is malformed or names something invalid',
  401: 'no valid bearer token',
  403: 'the principal may not do this',
  404: 'what the path names does not exist',
  409: 'the resource is not in a state that allows this',
  413: 'the body is over 1 MiB',
  415: 'a body that is not application/json',
  429: "over the principal's rate limit; retry after Retry-After seconds",
  500: 'an internal error; the problem carries only a request id',
  503: 'a dependency (database, key store) is unavailable now; retry',
};

/** The error statuses a route may answer: those of its kind, then its own. */
export function errorStatuses(r: Route): number[] {
  const out = new Set<number>();
  const hasPathParams = r.path.includes('{');
  if (hasPathParams || r.parameters?.some((p) => p.in === 'query') || r.body) out.add(400);
  // Every authenticated request reads the database (its token) and counts against a rate limit.
  if (!r.public) [400, 401, 403, 413, 415, 429, 503].forEach((s) => out.add(s));
  if (hasPathParams) out.add(404);
  for (const s of r.errors ?? []) out.add(s);
  out.add(500);
  return [...out].sort((a, b) => a - b);
}

/**
 * The OpenAPI 3.1 document served at /openapi.json, generated from the same route list the app
 * mounts: request schemas from the zod schemas that validate them, response schemas from
 * api/responses.ts, the error statuses each route can answer.
 */
export function openApiDocument(routes: readonly Route[]): object {
  const problem = { $ref: '#/components/schemas/Problem' };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const pathParams = [...r.path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: m[1] === 'caId' ? { type: 'string', format: 'uuid' } : m[1] === 'serial' ? { type: 'string', pattern: '^[0-9a-fA-F:]+$' } : { type: 'string' },
    }));
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(r.responses)) {
      const content: Record<string, unknown> = {};
      if (spec.schema) content['application/json'] = { schema: jsonSchema(spec.schema, 'output') };
      for (const [type, alt] of Object.entries(spec.alternatives ?? {})) {
        content[type] = { schema: alt.binary ? { type: 'string', contentMediaType: type } : { type: 'string' }, description: alt.description };
      }
      responses[status] = { description: spec.description, ...(Object.keys(content).length ? { content } : {}) };
    }
    for (const s of errorStatuses(r)) {
      responses[String(s)] ??= { description: PROBLEM_DESCRIPTIONS[s] ?? 'problem', content: { 'application/problem+json': { schema: problem } } };
    }
    (paths[r.path] ??= {})[r.method] = {
      operationId: r.operation,
      summary: r.summary,
      ...(r.public ? { security: [] } : {}),
      // The policy action the route authorizes with (docs/policies.md), for clients that ask
      // POST /v1/authorize before offering an action (the console).
      ...(!r.public && routeAction(r) !== null ? { 'x-privateca-action': `privateca:${routeAction(r)}` } : {}),
      parameters: [...pathParams, ...(r.parameters ?? [])],
      ...(r.body ? { requestBody: { required: !r.optionalBody, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } } : {}),
      ...(r.binaryBody
        ? {
            requestBody: {
              required: true,
              description: `${r.binaryBody.description}, at most ${r.binaryBody.maxBytes} octets`,
              content: { [r.binaryBody.type]: { schema: { type: 'string', contentMediaType: r.binaryBody.type } } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'privateca',
      version: '1',
      description: 'A private certificate authority: CAs, certificates, revocation, CRLs. docs/api.md in the repository describes the contract in prose.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Problem: jsonSchema(ProblemResponse, 'output') },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
