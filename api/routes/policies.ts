import { notFound } from '../../src/domain/ca-error.ts';
import type { PolicyService } from '../../src/services/policy-service.ts';
import type { Authorizer } from '../authorization.ts';
import { sendJson, sendNoContent, type Req, type Res } from '../http.ts';
import { encodeCursor, page, uuid } from '../params.ts';
import { presentPolicy } from '../presenters.ts';
import { NoContent, PolicyListResponse, PolicyResponse } from '../responses.ts';
import { params, query, unlessNotFound, type Route } from '../route.ts';
import { CreatePolicySchema, UpdatePolicySchema, listParameters } from '../schemas.ts';
import { parseBody } from '../validation.ts';

const decodeNameCursor = (raw: unknown) => {
  const n = (raw as { n?: unknown }).n;
  if (typeof n !== 'string') throw new Error('bad cursor');
  return n;
};

/** /v1/policies: IAM-shaped policy documents (docs/policies.md). */
export function policyRoutes(deps: { policies: PolicyService; authz: Authorizer }): Route[] {
  const { policies, authz } = deps;
  const thePolicy = { description: 'the policy', schema: PolicyResponse };
  const policy = async (req: Req, res: Res, action: 'DescribePolicy' | 'UpdatePolicy' | 'DeletePolicy') => {
    const id = uuid(params(req).policyId, 'policy');
    const resource = `policy/${id}`;
    const p = await authz.visible(req, res, action, resource, 'DescribePolicy', () => policies.get(id).catch(unlessNotFound('policy_not_found')), () => notFound('policy_not_found', `no policy ${id}`));
    authz.require(req, res, action, resource);
    return p;
  };

  return [
    {
      method: 'post',
      path: '/v1/policies',
      operation: 'CreatePolicy',
      summary: 'Create a policy; an invalid document is 400 invalid_policy with each problem by JSON pointer',
      body: CreatePolicySchema,
      responses: { '201': thePolicy },
      errors: [409],
      handler: async (req, res) => {
        const input = parseBody(CreatePolicySchema, req.body);
        authz.require(req, res, 'CreatePolicy', 'policy/*');
        sendJson(res, 201, presentPolicy(await policies.create(res.locals.actor, input)));
      },
    },
    {
      method: 'get',
      path: '/v1/policies',
      operation: 'ListPolicies',
      summary: 'List policies by name, the built-in ones included',
      parameters: listParameters,
      responses: { '200': { description: '{ items, nextCursor }', schema: PolicyListResponse } },
      handler: async (req, res) => {
        const { limit, after } = page(query(req), decodeNameCursor);
        authz.require(req, res, 'ListPolicies', 'policy/*');
        const items = await policies.list({ limit, afterName: after });
        const last = items.length === limit ? items[items.length - 1] : undefined;
        sendJson(res, 200, { items: items.map(presentPolicy), nextCursor: last ? encodeCursor({ n: last.name }) : null });
      },
    },
    {
      method: 'get',
      path: '/v1/policies/{policyId}',
      operation: 'DescribePolicy',
      summary: 'Describe a policy',
      responses: { '200': thePolicy },
      handler: async (req, res) => {
        sendJson(res, 200, presentPolicy(await policy(req, res, 'DescribePolicy')));
      },
    },
    {
      method: 'put',
      path: '/v1/policies/{policyId}',
      operation: 'UpdatePolicy',
      summary: "Replace a policy's document (and description); built-in policies cannot be changed",
      body: UpdatePolicySchema,
      responses: { '200': thePolicy },
      errors: [409],
      handler: async (req, res) => {
        const input = parseBody(UpdatePolicySchema, req.body);
        const p = await policy(req, res, 'UpdatePolicy');
        sendJson(res, 200, presentPolicy(await policies.update(res.locals.actor, p.id, input)));
      },
    },
    {
      method: 'delete',
      path: '/v1/policies/{policyId}',
      operation: 'DeletePolicy',
      summary: 'Delete a policy that no principal has attached',
      responses: { '204': NoContent },
      errors: [409],
      handler: async (req, res) => {
        const p = await policy(req, res, 'DeletePolicy');
        await policies.delete(res.locals.actor, p.id);
        sendNoContent(res);
      },
    },
  ];
}
