import type { AuditRepository } from '../../ports/repositories.ts';
import { type Queryable } from '../db.ts';

type Row = Record<string, any>;

export function auditRepository(q: Queryable): AuditRepository {
  return {
    async record(e) {
      await q.query(
        `INSERT INTO audit_events (at, actor, action, ca_id, serial, request_id, detail) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
        [e.at, e.actor, e.action, e.caId ?? null, e.serial ?? null, e.requestId ?? null, JSON.stringify(e.detail ?? {})],
      );
    },
    async list({ caId, limit }) {
      const r = caId
        ? await q.query<Row>('SELECT * FROM audit_events WHERE ca_id = $1 ORDER BY id DESC LIMIT $2', [caId, limit])
        : await q.query<Row>('SELECT * FROM audit_events ORDER BY id DESC LIMIT $1', [limit]);
      return r.rows.map((x) => ({
        id: String(x.id),
        at: x.at,
        actor: x.actor,
        action: x.action,
        caId: x.ca_id ?? undefined,
        serial: x.serial ?? undefined,
        requestId: x.request_id ?? undefined,
        detail: x.detail,
      }));
    },
  };
}
