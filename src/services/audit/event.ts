import type { AuditEvent } from '../../domain/audit-event.ts';
import type { Actor } from '../actor.ts';

/**
 * An audit event of what `actor` did: its principal (none for the service's own jobs), request id
 * and source address come from the actor. Actions are named as the policies name them.
 */
export function auditEvent(actor: Actor, action: string, resource: string, details: Record<string, unknown>, time: Date, outcome: AuditEvent['outcome'] = 'SUCCESS'): AuditEvent {
  return {
    time,
    ...(actor.id === 'system' ? {} : { principal: { id: actor.id, name: actor.name } }),
    action: action.startsWith('privateca:') ? action : `privateca:${action}`,
    resource,
    outcome,
    ...(actor.sourceIp ? { sourceIp: actor.sourceIp } : {}),
    ...(actor.requestId ? { requestId: actor.requestId } : {}),
    details,
  };
}
