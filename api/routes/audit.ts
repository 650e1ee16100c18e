import { invalid, notFound } from '../../src/domain/ca-error.ts';
import type { AuditKeys } from '../../src/services/audit/audit-keys.ts';
import type { AuditService } from '../../src/services/audit/audit-service.ts';
import type { Authorizer } from '../authorization.ts';
import { sendBody, sendJson } from '../http.ts';
import { encodeCursor, page } from '../params.ts';
import { presentAuditEvent, presentCheckpoint } from '../presenters.ts';
import { AuditEventListResponse, CheckpointResponse, VerifyResponse } from '../responses.ts';
import { query, type Route } from '../route.ts';
import { listParameters } from '../schemas.ts';

const decodeIdCursor = (raw: unknown) => {
  const i = (raw as { i?: unknown }).i;
  if (typeof i !== 'string' || !/^[0-9]{1,19}$/.test(i)) throw new Error('bad cursor');
  return i;
};

const time = (v: unknown, name: string): Date | undefined => {
  if (v === undefined) return undefined;
  const d = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw invalid('invalid_request', `${name} is an RFC 3339 time, e.g. 2027-03-01T00:00:00Z`);
  return d;
};

/** /v1/audit: the events, the chain's verification, its latest checkpoint and the audit key. */
export function auditRoutes(deps: { audit: AuditService; auditKeys: AuditKeys; authz: Authorizer }): Route[] {
  const { audit, authz } = deps;
  return [
    {
      method: 'get',
      path: '/v1/audit/events',
      operation: 'ListAuditEvents',
      summary: 'Audit events, newest first, by action, principal (id or name), resource, outcome and time',
      parameters: [
        ...listParameters,
        { name: 'action', in: 'query', description: 'e.g. privateca:RevokeCertificate (the prefix may be left out)', schema: { type: 'string' } },
        { name: 'principal', in: 'query', description: 'a principal id, or a name', schema: { type: 'string' } },
        { name: 'resource', in: 'query', description: 'e.g. ca/{caId}', schema: { type: 'string' } },
        { name: 'outcome', in: 'query', schema: { enum: ['SUCCESS', 'DENIED'] } },
        { name: 'since', in: 'query', description: 'events at or after this time (RFC 3339)', schema: { type: 'string', format: 'date-time' } },
        { name: 'until', in: 'query', description: 'events before this time (RFC 3339)', schema: { type: 'string', format: 'date-time' } },
      ],
      responses: { '200': { description: '{ items, nextCursor }', schema: AuditEventListResponse } },
      handler: async (req, res) => {
        const q = query(req);
        const { limit, after } = page(q, decodeIdCursor);
        const str = (name: string) => {
          const v = q[name];
          if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > 256)) throw invalid('invalid_request', `${name} is one non-empty value`);
          return v as string | undefined;
        };
        const outcome = str('outcome');
        if (outcome !== undefined && outcome !== 'SUCCESS' && outcome !== 'DENIED') throw invalid('invalid_request', 'outcome is SUCCESS or DENIED');
        const action = str('action');
        const filter = {
          action: action && !action.startsWith('privateca:') ? `privateca:${action}` : action,
          principal: str('principal'),
          resource: str('resource'),
          outcome: outcome as 'SUCCESS' | 'DENIED' | undefined,
          since: time(q.since, 'since'),
          until: time(q.until, 'until'),
        };
        authz.require(req, res, 'ListAuditEvents', 'audit');
        const items = await audit.list({ ...filter, limit, beforeId: after });
        const last = items.length === limit ? items[items.length - 1] : undefined;
        sendJson(res, 200, { items: items.map(presentAuditEvent), nextCursor: last ? encodeCursor({ i: last.id }) : null });
      },
    },
    {
      method: 'get',
      path: '/v1/audit/verify',
      operation: 'VerifyAuditLog',
      summary: 'Check the whole hash chain and the latest checkpoint signature; name the first bad seq and the damage',
      responses: { '200': { description: '{ ok: true, events, checkpoint } or { ok: false, firstBadSeq, problem }', schema: VerifyResponse } },
      handler: async (req, res) => {
        authz.require(req, res, 'VerifyAuditLog', 'audit');
        const r = await audit.verify();
        sendJson(res, 200, { ...r, ...(r.checkpoint ? { checkpoint: presentCheckpoint(r.checkpoint) } : {}) });
      },
    },
    {
      method: 'get',
      path: '/v1/audit/checkpoints/latest',
      operation: 'DescribeAuditCheckpoint',
      action: 'VerifyAuditLog',
      summary: 'The latest signed checkpoint of the chain',
      responses: { '200': { description: 'the checkpoint', schema: CheckpointResponse } },
      errors: [404],
      handler: async (req, res) => {
        authz.require(req, res, 'VerifyAuditLog', 'audit');
        const c = await audit.latestCheckpoint();
        if (!c) throw notFound('checkpoint_not_found', 'no checkpoint yet: the first is signed within a minute of the first events');
        sendJson(res, 200, presentCheckpoint(c));
      },
    },
    {
      method: 'get',
      path: '/v1/audit/public-key',
      operation: 'GetAuditPublicKey',
      action: null,
      public: true,
      summary: 'The audit key that signs checkpoints and reports, SPKI PEM (no token needed)',
      responses: { '200': { description: 'the public key', alternatives: { 'application/x-pem-file': { description: 'SPKI PEM (openssl dgst -verify takes it)' } } } },
      handler: async (_req, res) => {
        sendBody(res, 200, 'application/x-pem-file', (await deps.auditKeys.publicKey()).pem);
      },
    },
  ];
}
