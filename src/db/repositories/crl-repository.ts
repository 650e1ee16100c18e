import type { CrlRepository, StoredCrl } from '../../ports/repositories.ts';
import { bytes, type Queryable } from '../db.ts';

type Row = Record<string, any>;

const info = (r: Row): Omit<StoredCrl, 'der'> => ({
  caId: r.ca_id,
  partition: r.partition,
  crlNumber: BigInt(r.crl_number),
  thisUpdate: r.this_update,
  nextUpdate: r.next_update,
  revokedCount: Number(r.revoked_count),
});

export function crlRepository(q: Queryable): CrlRepository {
  return {
    async nextNumber(caId) {
      const r = await q.query<{ n: string }>('UPDATE cas SET crl_number = crl_number + 1 WHERE id = $1 RETURNING crl_number::text AS n', [caId]);
      if (!r.rows[0]) throw new Error(`no CA ${caId}`);
      return BigInt(r.rows[0].n);
    },
    async revokedPage(caId, { afterSerial, limit, notExpiredAt, partition }) {
      // The partial indexes certificates_revoked (ca_id, serial) and certificates_revoked_partition
      // (ca_id, crl_partition, serial), both WHERE status = 'REVOKED', serve these.
      const r = partition
        ? await q.query<Row>(
            `SELECT serial, (extract(epoch FROM revoked_at) * 1000)::bigint::text AS at_ms, revocation_reason FROM certificates
             WHERE ca_id = $1 AND status = 'REVOKED' AND crl_partition = $5 AND crl_partition IS NOT NULL
               AND serial > $2 AND not_after > $3
             ORDER BY serial LIMIT $4`,
            [caId, afterSerial, notExpiredAt, limit, partition],
          )
        : await q.query<Row>(
            `SELECT serial, (extract(epoch FROM revoked_at) * 1000)::bigint::text AS at_ms, revocation_reason FROM certificates
             WHERE ca_id = $1 AND status = 'REVOKED' AND serial > $2 AND not_after > $3
             ORDER BY serial LIMIT $4`,
            [caId, afterSerial, notExpiredAt, limit],
          );
      // Epoch milliseconds rather than a timestamptz: parsing a million timestamp strings cost ~1 s.
      return r.rows.map((x) => ({ serial: x.serial, revokedAt: new Date(Number(x.at_ms)), reason: x.revocation_reason }));
    },
    async save(c) {
      await q.query(
        `INSERT INTO crls (ca_id, partition, crl_number, this_update, next_update, revoked_count, der)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (ca_id, partition) DO UPDATE SET crl_number = EXCLUDED.crl_number, this_update = EXCLUDED.this_update,
           next_update = EXCLUDED.next_update, revoked_count = EXCLUDED.revoked_count, der = EXCLUDED.der
         WHERE crls.crl_number < EXCLUDED.crl_number`,
        [c.caId, c.partition, c.crlNumber.toString(), c.thisUpdate, c.nextUpdate, c.revokedCount, c.der],
      );
    },
    async latest(caId, partition) {
      const r = await q.query<Row>(
        'SELECT ca_id, partition, crl_number::text AS crl_number, this_update, next_update, revoked_count, der FROM crls WHERE ca_id = $1 AND partition = $2',
        [caId, partition],
      );
      return r.rows[0] && { ...info(r.rows[0]), der: bytes(r.rows[0].der) };
    },
    async latestInfo(caId, partition) {
      const r = await q.query<Row>(
        'SELECT ca_id, partition, crl_number::text AS crl_number, this_update, next_update, revoked_count FROM crls WHERE ca_id = $1 AND partition = $2',
        [caId, partition],
      );
      return r.rows[0] && info(r.rows[0]);
    },
  };
}
