import type { IssuedCertificate } from '../../domain/certificate.ts';
import type { AuditEvent } from '../../domain/audit-event.ts';
import { REVOCATION_CHANNEL, type CertificateRepository } from '../../ports/repositories.ts';
import { eventValues } from './audit-repository.ts';
import { bytes, type Queryable } from '../db.ts';
import { IssuedBatcher } from '../issued-batcher.ts';

type Row = Record<string, any>;

const COLUMNS = `ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, revoked_at, revocation_reason, issued_by`;

function toCertificate(r: Row): IssuedCertificate {
  return {
    caId: r.ca_id,
    serial: r.serial,
    status: r.status,
    der: bytes(r.der),
    subject: r.subject,
    template: r.template,
    notBefore: r.not_before,
    notAfter: r.not_after,
    issuedAt: r.issued_at,
    revokedAt: r.revoked_at ?? undefined,
    revocationReason: r.revocation_reason ?? undefined,
    issuedBy: r.issued_by ?? undefined,
  };
}

/*
 * The issuance statement: one round trip that checks the CA, stores the certificate and its audit
 * event atomically. The CA check runs inside the statement so that a CA disabled or re-certified by
 * another node stops issuance here even when this node's cache is stale.
 */
const INSERT_ISSUED = `
WITH ca AS (
  SELECT id FROM cas WHERE id = $1 AND status = 'ACTIVE' AND cert_version = $2
), cert AS (
  INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, crl_partition, issued_by, search_name)
  SELECT ca.id, $3, 'ISSUED', $4, $5, $6, $7, $8, $9, $10, $11, $21 FROM ca
  RETURNING serial
), names AS (
  INSERT INTO certificate_names (ca_id, serial, name)
  SELECT $1, cert.serial, n FROM cert, unnest($22::text[]) AS n
)
INSERT INTO audit_events (at, principal_id, principal_name, action, resource, outcome, source_ip, request_id, details)
SELECT $12, $13, $14, $15, $16, $17, $18, $19, $20 FROM cert`;

/*
 * A CA's certificate counts in one statement (one snapshot), from indexes alone: ranges of
 * certificates_expiry (ca_id, not_after) count every certificate by notAfter, and the partial index
 * certificates_revoked, which holds not_after too, the REVOKED ones. The ISSUED ones are the
 * difference, so that no row is read to learn its status.
 */
const COUNTS = `
SELECT (SELECT count(*) FROM certificates WHERE ca_id = $1 AND not_after > $2) AS valid,
       (SELECT count(*) FROM certificates WHERE ca_id = $1 AND not_after <= $2) AS expired,
       (SELECT count(*) FROM certificates WHERE ca_id = $1 AND not_after > $2 AND not_after <= $3) AS expiring,
       count(*) AS revoked,
       count(*) FILTER (WHERE not_after > $2) AS revoked_valid,
       count(*) FILTER (WHERE not_after > $2 AND not_after <= $3) AS revoked_expiring
FROM certificates WHERE ca_id = $1 AND status = 'REVOKED'`;

/**
 * Issuance per UTC hour, a range of the index certificates_issued (ca_id, issued_at); the hours are
 * made timestamptz again per group, not per row.
 */
const ISSUED_PER_HOUR = `
SELECT hour AT TIME ZONE 'UTC' AS start, n FROM (
  SELECT date_trunc('hour', issued_at AT TIME ZONE 'UTC') AS hour, count(*) AS n
  FROM certificates WHERE ca_id = $1 AND issued_at >= $2 AND issued_at <= $3
  GROUP BY 1) h`;

/** Above this many certificates named with a search's prefix, a search walks the certificates in serial order instead (bench:search). */
const DENSE_MATCHES = 2_000;

/** Upper bound of a prefix range: the prefix with its last character's successor ("ab" → "ac"). */
const prefixEnd = (prefix: string): string => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

/**
 * @param options.batch group concurrent issuance inserts into multi-row statements (for the pool;
 *   never inside a transaction, whose statements must stay on its own connection)
 * @param options.tx runs a function in a transaction (the statistics' planner setting is local to one)
 */
export function certificateRepository(q: Queryable, options: { batch?: boolean; tx?: <T>(fn: (t: Queryable) => Promise<T>) => Promise<T> } = {}): CertificateRepository {
  const tx = options.tx ?? ((fn) => fn(q));
  /*
   * A statistics query without parallel workers: they tripled its time over a million certificates
   * (bench:search; 2 CPUs) and would take several cores per dashboard refresh. SET LOCAL ends with
   * the transaction (the caller's, when the repository is bound to one).
   */
  const serial = <T>(sql: string, params: unknown[]) =>
    tx(async (t) => {
      await t.exec('SET LOCAL max_parallel_workers_per_gather = 0');
      return t.query<T>(sql, params);
    });
  const insertOne = async (c: IssuedCertificate, audit: AuditEvent, certVersion: number): Promise<boolean> => {
    const r = await q.query(INSERT_ISSUED, [
      c.caId,
      certVersion,
      c.serial,
      c.der,
      c.subject,
      c.template,
      c.notBefore,
      c.notAfter,
      c.issuedAt,
      c.crlPartition ?? null,
      c.issuedBy ?? null,
      ...eventValues(audit),
      c.names?.[0] ?? null,
      c.names?.slice(1) ?? [],
    ]);
    return r.rowCount === 1;
  };
  const batcher = options.batch ? new IssuedBatcher(q, (p) => insertOne(p.cert, p.audit, p.certVersion)) : undefined;
  return {
    async insertIssued(c, audit, expect) {
      if (batcher) return batcher.insert(c, audit, expect.certVersion);
      return insertOne(c, audit, expect.certVersion);
    },
    async get(caId, serial) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM certificates WHERE ca_id = $1 AND serial = $2`, [caId, serial]);
      return r.rows[0] && toCertificate(r.rows[0]);
    },
    async list(caId, { status, limit, afterSerial, issuedUpTo, q: search, expiresBefore, expiresAfter }) {
      const params: unknown[] = [caId, afterSerial ?? '', limit];
      const p = (v: unknown) => `$${params.push(v)}`;
      let where = 'c.ca_id = $1 AND c.serial > $2';
      if (status) where += ` AND c.status = ${p(status)}`;
      if (issuedUpTo) where += ` AND c.issued_at <= ${p(issuedUpTo)}`;
      if (expiresBefore) where += ` AND c.not_after < ${p(expiresBefore)}`;
      if (expiresAfter) where += ` AND c.not_after > ${p(expiresAfter)}`;
      if (search) {
        // A name prefix: a byte range of the "C"-collated name indexes (a certificate's first name
        // on its row, its others in certificate_names); or a serial prefix, a range of the primary
        // key (lowercase hex sorts alike in every collation).
        const name = search.toLowerCase();
        const end = prefixEnd(name);
        const [lo, hi] = [p(name), p(end)];
        const ranges = [`c.search_name >= ${lo} AND c.search_name < ${hi}`];
        if (/^[0-9a-f]+$/.test(name)) ranges.push(`c.serial >= ${lo} AND c.serial < ${hi}`);
        const few = await q.query<{ n: string }>(
          `SELECT count(*) AS n FROM (
             (SELECT 1 FROM certificates WHERE ca_id = $1 AND search_name >= $2 AND search_name < $3 LIMIT ${DENSE_MATCHES + 1})
             UNION ALL (SELECT 1 FROM certificate_names WHERE ca_id = $1 AND name >= $2 AND name < $3 LIMIT ${DENSE_MATCHES + 1})) m`,
          [caId, name, end],
        );
        if (Number(few.rows[0]!.n) <= DENSE_MATCHES) {
          // Few matches: gather them (an IN over a UNION, not an OR, so that the planner can), then sort.
          const parts = [
            ...ranges.map((r) => `SELECT c.serial FROM certificates c WHERE c.ca_id = $1 AND ${r}`),
            `SELECT serial FROM certificate_names WHERE ca_id = $1 AND name >= ${lo} AND name < ${hi}`,
          ];
          where += ` AND c.serial IN (${parts.join(' UNION ALL ')})`;
        } else {
          // Many: walk the certificates in serial order, checking each one's names, until the page is full.
          const other = `EXISTS (SELECT 1 FROM certificate_names n WHERE n.ca_id = c.ca_id AND n.serial = c.serial AND n.name >= ${lo} AND n.name < ${hi})`;
          where += ` AND ((${ranges.join(') OR (')}) OR ${other})`;
        }
      }
      const r = await q.query<Row>(`SELECT ${COLUMNS.replace(/(\w+)/g, 'c.$1')} FROM certificates c WHERE ${where} ORDER BY c.serial LIMIT $3`, params);
      return r.rows.map(toCertificate);
    },
    async revoke(caId, serial, at, reason) {
      // The NOTIFY is delivered when the transaction commits, and not at all when it rolls back.
      const r = await q.query(
        `WITH revoked AS (
           UPDATE certificates SET status = 'REVOKED', revoked_at = $3, revocation_reason = $4
           WHERE ca_id = $1 AND serial = $2 AND status = 'ISSUED' RETURNING serial
         )
         SELECT pg_notify('${REVOCATION_CHANNEL}', $1::text || ':' || serial) FROM revoked`,
        [caId, serial, at, reason],
      );
      return r.rows.length === 1;
    },
    async statistics(caId, { now, expiringBy, issuedFrom }) {
      const [counts, hours] = await Promise.all([
        serial<Record<string, string | number>>(COUNTS, [caId, now, expiringBy]),
        serial<{ start: Date; n: string | number }>(ISSUED_PER_HOUR, [caId, issuedFrom, now]),
      ]);
      const c = Object.fromEntries(Object.entries(counts.rows[0]!).map(([k, v]) => [k, Number(v)]));
      return {
        issued: c.valid! - c.revoked_valid!,
        expired: c.expired! - (c.revoked! - c.revoked_valid!),
        revoked: c.revoked!,
        expiring: c.expiring! - c.revoked_expiring!,
        issuedPerHour: hours.rows.map((r) => ({ start: r.start, count: Number(r.n) })),
      };
    },
    async status(caId, serial) {
      const r = await q.query<Row>('SELECT status, revoked_at, revocation_reason FROM certificates WHERE ca_id = $1 AND serial = $2', [caId, serial]);
      const row = r.rows[0];
      if (!row) return undefined;
      return { status: row.status, ...(row.revoked_at ? { revokedAt: row.revoked_at, revocationReason: row.revocation_reason } : {}) };
    },
  };
}
