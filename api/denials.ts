import type { AuditEvent } from '../src/domain/audit-event.ts';
import type { CaError } from '../src/domain/ca-error.ts';
import { Unauthenticated } from '../src/services/auth-service.ts';
import { sourceIp } from './authorization.ts';
import { pathOf, type Req, type Res } from './http.ts';

/**
 * The audit event of a refusal that no service records: a 403 access_denied, or a 401 for a token
 * that names a real one (deleted, expired, or of a disabled or deleted principal). Undefined for
 * other errors, and for unknown tokens (noise that names nobody).
 */
export function denialEvent(err: CaError, req: Req, res: Res, time: Date): AuditEvent | undefined {
  const base = { time, outcome: 'DENIED' as const, ...(sourceIp(req) ? { sourceIp: sourceIp(req) } : {}), requestId: res.locals.requestId };
  const request = { method: req.method, path: pathOf(req) };
  if (err.code === 'access_denied' && res.locals.actor) {
    const { action, resource, reason, statement, policy } = err.extra as Record<string, string>;
    const { id, name } = res.locals.actor;
    return { ...base, principal: { id, name }, action, resource, details: { reason, ...(statement ? { statement } : {}), ...(policy ? { policy } : {}), detail: err.detail, ...request } };
  }
  if (err instanceof Unauthenticated && err.known) {
    const k = err.known;
    return { ...base, principal: { id: k.principalId, name: k.principalName }, action: 'privateca:Authenticate', resource: `principal/${k.principalId}`, details: { why: k.why, tokenId: k.tokenId, ...request } };
  }
  return undefined;
}
