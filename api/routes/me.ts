import { invalid, notFound } from '../../src/domain/ca-error.ts';
import type { Ca } from '../../src/domain/ca.ts';
import type { Policy } from '../../src/domain/policy.ts';
import type { AuthService } from '../../src/services/auth-service.ts';
import { ACTIONS, RESOURCE_PATTERN, SERVICE_PREFIX, type ActionName } from '../../src/services/policy/actions.ts';
import { conditionKey } from '../../src/services/policy/condition-keys.ts';
import type { ContextValue } from '../../src/services/policy/request-context.ts';
import type { PolicyService } from '../../src/services/policy-service.ts';
import type { PrincipalService } from '../../src/services/principal-service.ts';
import type { Authorizer } from '../authorization.ts';
import { sendJson } from '../http.ts';
import { presentPolicy, presentPrincipal } from '../presenters.ts';
import { AuthorizeResponse, MeResponse } from '../responses.ts';
import { unlessNotFound, type Route } from '../route.ts';
import { AuthorizeSchema } from '../schemas.ts';
import { parseBody, type FieldError } from '../validation.ts';

const CA_RESOURCE = /^ca\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** GET /v1/me and POST /v1/authorize: who the caller is, and what it (or a principal it may simulate) may do. */
export function meRoutes(deps: {
  auth: Pick<AuthService, 'compile'>;
  principals: PrincipalService;
  policies: PolicyService;
  authz: Authorizer;
  cas: (id: string) => Promise<Ca | undefined>;
}): Route[] {
  const { authz } = deps;
  const policiesOf = async (ids: readonly string[]): Promise<Policy[]> =>
    (await Promise.all(ids.map((id) => deps.policies.get(id).catch(unlessNotFound('policy_not_found'))))).filter((p): p is Policy => p !== undefined);

  return [
    {
      method: 'get',
      path: '/v1/me',
      operation: 'GetCallerIdentity',
      action: null,
      summary: 'The calling principal and its policies (no permission needed)',
      responses: { '200': { description: '{ principal, policies }', schema: MeResponse } },
      handler: async (_req, res) => {
        const { principal } = res.locals.caller;
        sendJson(res, 200, { principal: presentPrincipal(principal), policies: (await policiesOf(principal.policies)).map(presentPolicy) });
      },
    },
    {
      method: 'post',
      path: '/v1/authorize',
      operation: 'Authorize',
      action: null,
      summary: 'Would these actions be allowed? Evaluated for the caller (no permission needed), or for principalId',
      body: AuthorizeSchema,
      responses: { '200': { description: '{ results }, one per check, in order', schema: AuthorizeResponse } },
      handler: async (req, res) => {
        const input = parseBody(AuthorizeSchema, req.body);
        const checks = input.checks.map((c, i) => checkOf(c, i));
        const problems = checks.flatMap((c) => c.problems);
        if (problems.length) throw invalid('invalid_request', problems.slice(0, 5).map((p) => `${p.path}: ${p.message}`).join('; '), { errors: problems });
        let as = res.locals.caller;
        if (input.principalId) {
          const id = input.principalId.toLowerCase();
          const resource = `principal/${id}`;
          const p = await authz.visible(req, res, 'SimulatePrincipalPolicy', resource, 'DescribePrincipal', () => deps.principals.get(id).catch(unlessNotFound('principal_not_found')), () => notFound('principal_not_found', `no principal ${id}`));
          authz.require(req, res, 'SimulatePrincipalPolicy', resource);
          as = { principal: p, tokenId: '', policies: deps.auth.compile(await policiesOf(p.policies)) };
        }
        const results = [];
        for (const c of checks) {
          const m = CA_RESOURCE.exec(c.resource);
          const ca = m ? await deps.cas(m[1]!) : undefined;
          const d = authz.decide(req, res, c.action!, c.resource, c.keys, { as, ...(ca ? { tags: ca.tags } : {}) });
          results.push({ allowed: d.allowed, reason: d.reason, ...(d.statement ? { statement: d.statement } : {}), ...(d.policy ? { policy: d.policy } : {}), detail: d.detail });
        }
        sendJson(res, 200, { results });
      },
    },
  ];
}

const ACTION_BY_NAME = new Map(ACTIONS.map((a) => [(SERVICE_PREFIX + a).toLowerCase(), a]));

/** One check of POST /v1/authorize: its action known, its resource well-formed, its context keys typed. */
function checkOf(c: { action: string; resource: string; context?: Record<string, string | number | boolean | string[]> }, i: number) {
  const problems: FieldError[] = [];
  const action = ACTION_BY_NAME.get(c.action.toLowerCase()) as ActionName | undefined;
  if (!action) problems.push({ path: `/checks/${i}/action`, message: `expected an action such as privateca:IssueCertificate, received ${JSON.stringify(c.action)}` });
  if (!RESOURCE_PATTERN.test(c.resource)) problems.push({ path: `/checks/${i}/resource`, message: `expected ca/<id>, principal/<id>, policy/<id>, audit or a pattern of them, received ${JSON.stringify(c.resource)}` });
  const keys: Record<string, ContextValue> = {};
  for (const [name, value] of Object.entries(c.context ?? {})) {
    const path = `/checks/${i}/context/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const spec = conditionKey(name);
    if (!spec) {
      problems.push({ path, message: `unknown condition key ${JSON.stringify(name)}` });
      continue;
    }
    const typed = typedValue(spec.type, !!spec.set, value);
    if (typed === undefined) problems.push({ path, message: `expected ${spec.set ? 'a list of ' : ''}${spec.type === 'ip' ? 'IP address' : spec.type} value${spec.set ? 's' : ''} for ${name}, received ${JSON.stringify(value)}` });
    else keys[name] = typed;
  }
  return { action, resource: c.resource, keys, problems };
}

function typedValue(type: string, set: boolean, v: string | number | boolean | string[]): ContextValue | undefined {
  if (set) return Array.isArray(v) ? v : typeof v === 'string' ? [v] : undefined;
  if (Array.isArray(v)) return undefined;
  switch (type) {
    case 'number':
      return typeof v === 'number' ? v : typeof v === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : undefined;
    case 'date': {
      const d = typeof v === 'number' ? new Date(v * 1000) : typeof v === 'string' ? new Date(v) : undefined;
      return d && Number.isFinite(d.getTime()) ? d : undefined;
    }
    case 'bool':
      return typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : undefined;
    default:
      return typeof v === 'string' ? v : String(v);
  }
}
