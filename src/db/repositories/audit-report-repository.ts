import type { AuditReport } from '../../domain/audit-report.ts';
import type { AuditReportRepository } from '../../ports/repositories.ts';
import { bytes, type Queryable } from '../db.ts';

type Row = Record<string, any>;

const COLUMNS = `id, ca_id, format, status, created_at, principal_name, heartbeat_at, completed_at, rows, size, parts, sha256, signature, key_id, s3_key, s3_error, error`;

const optional = <K extends string, V>(key: K, v: V | null | undefined) => (v == null ? {} : ({ [key]: v } as { [P in K]: V }));

function toReport(x: Row): AuditReport {
  return {
    id: x.id,
    caId: x.ca_id,
    format: x.format,
    status: x.status,
    createdAt: x.created_at,
    heartbeatAt: x.heartbeat_at,
    ...optional('requestedBy', x.principal_name as string | null),
    ...optional('completedAt', x.completed_at as Date | null),
    ...optional('rows', x.rows == null ? null : Number(x.rows)),
    ...optional('size', x.size == null ? null : Number(x.size)),
    ...optional('parts', x.parts as number | null),
    ...optional('sha256', x.sha256 == null ? null : bytes(x.sha256)),
    ...optional('signature', x.signature == null ? null : bytes(x.signature)),
    ...optional('keyId', x.key_id as string | null),
    ...optional('s3Key', x.s3_key as string | null),
    ...optional('s3Error', x.s3_error as string | null),
    ...optional('error', x.error as string | null),
  };
}

export function auditReportRepository(q: Queryable): AuditReportRepository {
  return {
    async insert(r) {
      await q.query('INSERT INTO audit_reports (id, ca_id, format, status, created_at, principal_name, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        r.id,
        r.caId,
        r.format,
        r.status,
        r.createdAt,
        r.requestedBy ?? null,
        r.heartbeatAt,
      ]);
    },
    async get(caId, id) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM audit_reports WHERE ca_id = $1 AND id = $2`, [caId, id]);
      return r.rows[0] && toReport(r.rows[0]);
    },
    async failStale(caId, before, at, error) {
      const r = await q.query(`UPDATE audit_reports SET status = 'FAILED', completed_at = $3, error = $4 WHERE ca_id = $1 AND status = 'CREATING' AND heartbeat_at < $2`, [
        caId,
        before,
        at,
        error,
      ]);
      return r.rowCount;
    },
    async heartbeat(id, at) {
      await q.query(`UPDATE audit_reports SET heartbeat_at = $2 WHERE id = $1 AND status = 'CREATING'`, [id, at]);
    },
    async appendPart(id, seq, part) {
      await q.query('INSERT INTO audit_report_parts (report_id, seq, bytes) VALUES ($1, $2, $3)', [id, seq, part]);
    },
    parts(id) {
      return {
        async *[Symbol.asyncIterator]() {
          for (let seq = 0; ; seq++) {
            const r = await q.query<Row>('SELECT bytes FROM audit_report_parts WHERE report_id = $1 AND seq = $2', [id, seq]);
            if (!r.rows[0]) return;
            yield bytes(r.rows[0].bytes);
          }
        },
      };
    },
    async complete(id, d) {
      await q.query(
        `UPDATE audit_reports SET status = 'SUCCESS', completed_at = $2, rows = $3, size = $4, parts = $5, sha256 = $6, signature = $7, key_id = $8, heartbeat_at = $2
          WHERE id = $1 AND status = 'CREATING'`,
        [id, d.completedAt, d.rows, d.size, d.parts, d.sha256, d.signature, d.keyId],
      );
    },
    async fail(id, at, error) {
      await q.query(`UPDATE audit_reports SET status = 'FAILED', completed_at = $2, error = $3 WHERE id = $1 AND status = 'CREATING'`, [id, at, error]);
    },
    async noteS3(id, outcome) {
      await q.query('UPDATE audit_reports SET s3_key = $2, s3_error = $3 WHERE id = $1', [id, 'key' in outcome ? outcome.key : null, 'error' in outcome ? outcome.error : null]);
    },
  };
}
