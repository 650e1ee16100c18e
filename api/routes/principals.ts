import { notFound } from '../../src/domain/ca-error.ts';
import type { AuthService } from '../../src/services/auth-service.ts';
import type { PrincipalService } from '../../src/services/principal-service.ts';
import type { Authorizer } from '../authorization.ts';
import { sendJson, sendNoContent } from '../http.ts';
import { encodeCursor, page, uuid } from '../params.ts';
import { presentPrincipal, presentToken } from '../presenters.ts';
import { CreatedTokenResponse, NoContent, PrincipalListResponse, PrincipalResponse, TokenListResponse } from '../responses.ts';
import { params, query, unlessNotFound, type Route } from '../route.ts';
import { CreatePrincipalSchema, CreateTokenSchema, UpdatePrincipalSchema, listParameters } from '../schemas.ts';
import { parseBody } from '../validation.ts';

const decodeNameCursor = (raw: unknown) => {
  const n = (raw as { n?: unknown }).n;
  if (typeof n !== 'string') throw new Error('bad cursor');
  return n;
};

/** /v1/principals: who may call the API, and their tokens. */
export function principalRoutes(deps: { principals: PrincipalService; authz: Authorizer; auth: Pick<AuthService, 'flushUse'> }): Route[] {
  const { principals, authz } = deps;
  const thePrincipal = { description: 'the principal', schema: PrincipalResponse };
  /** The principal of a principal/{id} route, after the 404-or-403 rule and `action` on it. */
  const principal = async (req: Parameters<Route['handler']>[0], res: Parameters<Route['handler']>[1], action: Parameters<Authorizer['require']>[2]) => {
    const id = uuid(params(req).principalId, 'principal');
    const resource = `principal/${id}`;
    const p = await authz.visible(req, res, action, resource, 'DescribePrincipal', () => principals.get(id).catch(unlessNotFound('principal_not_found')), () => notFound('principal_not_found', `no principal ${id}`));
    authz.require(req, res, action, resource);
    return p;
  };

  return [
    {
      method: 'post',
      path: '/v1/principals',
      operation: 'CreatePrincipal',
      summary: 'Create a principal (a service or a person), with policies and tags',
      body: CreatePrincipalSchema,
      responses: { '201': thePrincipal },
      errors: [409],
      handler: async (req, res) => {
        const input = parseBody(CreatePrincipalSchema, req.body);
        authz.require(req, res, 'CreatePrincipal', 'principal/*');
        sendJson(res, 201, presentPrincipal(await principals.create(res.locals.actor, input)));
      },
    },
    {
      method: 'get',
      path: '/v1/principals',
      operation: 'ListPrincipals',
      summary: 'List principals by name',
      parameters: listParameters,
      responses: { '200': { description: '{ items, nextCursor }', schema: PrincipalListResponse } },
      handler: async (req, res) => {
        const { limit, after } = page(query(req), decodeNameCursor);
        authz.require(req, res, 'ListPrincipals', 'principal/*');
        const items = await principals.list({ limit, afterName: after });
        const last = items.length === limit ? items[items.length - 1] : undefined;
        sendJson(res, 200, { items: items.map(presentPrincipal), nextCursor: last ? encodeCursor({ n: last.name }) : null });
      },
    },
    {
      method: 'get',
      path: '/v1/principals/{principalId}',
      operation: 'DescribePrincipal',
      summary: 'Describe a principal',
      responses: { '200': thePrincipal },
      handler: async (req, res) => {
        sendJson(res, 200, presentPrincipal(await principal(req, res, 'DescribePrincipal')));
      },
    },
    {
      method: 'patch',
      path: '/v1/principals/{principalId}',
      operation: 'UpdatePrincipal',
      summary: 'Change a principal: description, status (ACTIVE, DISABLED), policies, tags',
      body: UpdatePrincipalSchema,
      responses: { '200': thePrincipal },
      errors: [409],
      handler: async (req, res) => {
        const input = parseBody(UpdatePrincipalSchema, req.body);
        const p = await principal(req, res, 'UpdatePrincipal');
        sendJson(res, 200, presentPrincipal(await principals.update(res.locals.actor, p.id, input)));
      },
    },
    {
      method: 'delete',
      path: '/v1/principals/{principalId}',
      operation: 'DeletePrincipal',
      summary: 'Delete a principal; its tokens stop working',
      responses: { '204': NoContent },
      errors: [409],
      handler: async (req, res) => {
        const p = await principal(req, res, 'DeletePrincipal');
        await principals.delete(res.locals.actor, p.id);
        sendNoContent(res);
      },
    },
    {
      method: 'post',
      path: '/v1/principals/{principalId}/tokens',
      operation: 'CreateToken',
      summary: 'A new token for the principal; its secret is in this answer only',
      body: CreateTokenSchema,
      optionalBody: true,
      responses: { '201': { description: 'the token, with its secret', schema: CreatedTokenResponse } },
      errors: [409],
      handler: async (req, res) => {
        const input = req.body === undefined ? {} : parseBody(CreateTokenSchema, req.body);
        const p = await principal(req, res, 'CreateToken');
        const { token, secret } = await principals.createToken(res.locals.actor, p.id, {
          description: input.description,
          expiresAt: input.expiresAt ? new Date(input.expiresAt) : undefined,
        });
        const { lastUsedAt: _unused, ...shown } = presentToken(token);
        sendJson(res, 201, { ...shown, token: secret });
      },
    },
    {
      method: 'get',
      path: '/v1/principals/{principalId}/tokens',
      operation: 'ListTokens',
      summary: "The principal's tokens, without their secrets, with lastUsedAt",
      responses: { '200': { description: '{ items }', schema: TokenListResponse } },
      handler: async (req, res) => {
        const p = await principal(req, res, 'ListTokens');
        // This node's uses so far, so that lastUsedAt is as fresh as it can be here.
        await deps.auth.flushUse();
        sendJson(res, 200, { items: (await principals.listTokens(p.id)).map(presentToken) });
      },
    },
    {
      method: 'delete',
      path: '/v1/principals/{principalId}/tokens/{tokenId}',
      operation: 'DeleteToken',
      summary: 'Delete a token; it stops working on every node within 5 seconds',
      responses: { '204': NoContent },
      errors: [409],
      handler: async (req, res) => {
        const tokenId = uuid(params(req).tokenId, 'token');
        const p = await principal(req, res, 'DeleteToken');
        await principals.deleteToken(res.locals.actor, p.id, tokenId);
        sendNoContent(res);
      },
    },
  ];
}
