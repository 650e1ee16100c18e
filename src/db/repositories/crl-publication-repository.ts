import type { CrlPublicationRecord, CrlPublicationRepository } from '../../ports/crl-publication-repository.ts';
import type { Queryable } from '../db.ts';

type Row = Record<string, any>;

const toRecord = (r: Row): CrlPublicationRecord => ({
  caId: r.ca_id,
  partition: r.partition,
  target: r.target,
  crlNumber: BigInt(r.crl_number),
  ok: r.ok,
  attempts: Number(r.attempts),
  ...(r.error == null ? {} : { error: r.error }),
  at: r.at,
});

export function crlPublicationRepository(q: Queryable): CrlPublicationRepository {
  return {
    async record(r) {
      await q.query(
        `INSERT INTO crl_publications (ca_id, partition, target, crl_number, ok, attempts, error, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (ca_id, partition, target) DO UPDATE SET crl_number = EXCLUDED.crl_number, ok = EXCLUDED.ok,
           attempts = EXCLUDED.attempts, error = EXCLUDED.error, at = EXCLUDED.at
         WHERE crl_publications.crl_number <= EXCLUDED.crl_number`,
        [r.caId, r.partition, r.target, r.crlNumber.toString(), r.ok, r.attempts, r.error ?? null, r.at],
      );
    },
    async list(caId) {
      const r = await q.query<Row>(
        `SELECT ca_id, partition, target, crl_number::text AS crl_number, ok, attempts, error, at
         FROM crl_publications WHERE ca_id = $1 ORDER BY partition, target`,
        [caId],
      );
      return r.rows.map(toRecord);
    },
  };
}
