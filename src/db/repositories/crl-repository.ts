import type { CrlRepository, StoredCrl } from '../../ports/repositories.ts';
import type { RevocationReason } from '../../domain/revocation-reason.ts';
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

export function crlRepository(q: Queryable, tx: <T>(fn: (t: Queryable) => Promise<T>) => Promise<T>): CrlRepository {
  return {
    async nextNumber(caId) {
      const r = await q.query<{ n: string }>('UPDATE cas SET crl_number = crl_number + 1 WHERE id = $1 RETURNING crl_number::text AS n', [caId]);
      if (!r.rows[0]) throw new Error(`no CA ${caId}`);
      return BigInt(r.rows[0].n);
    },
    async revokedPage(caId, { afterSerial, limit, notExpiredAt, partition }) {
      // The partial indexes certificates_revoked (ca_id, serial) and certificates_revoked_partition
      // (ca_id, crl_partition, serial), both WHERE status = 'REVOKED', serve these.
      const rows = partition
        ? await q.queryArrays<[string, string, RevocationReason]>(
            `SELECT serial, (extract(epoch FROM revoked_at) * 1000)::bigint::text AS at_ms, revocation_reason FROM certificates
             WHERE ca_id = $1 AND status = 'REVOKED' AND crl_partition = $5 AND crl_partition IS NOT NULL
               AND serial > $2 AND not_after > $3
             ORDER BY serial LIMIT $4`,
            [caId, afterSerial, notExpiredAt, limit, partition],
          )
        : await q.queryArrays<[string, string, RevocationReason]>(
            `SELECT serial, (extract(epoch FROM revoked_at) * 1000)::bigint::text AS at_ms, revocation_reason FROM certificates
             WHERE ca_id = $1 AND status = 'REVOKED' AND serial > $2 AND not_after > $3
             ORDER BY serial LIMIT $4`,
            [caId, afterSerial, notExpiredAt, limit],
          );
      // Epoch milliseconds rather than a timestamptz: parsing a million timestamp strings cost ~1 s.
      // Rows as arrays: a million row objects were garbage that the heap grew for.
      return rows.map((x) => ({ serial: x[0], revokedAt: new Date(Number(x[1])), reason: x[2] }));
    },
    async savePart(caId, partition, crlNumber, seq, bytes) {
      await q.query('INSERT INTO crl_parts (ca_id, partition, crl_number, seq, bytes) VALUES ($1, $2, $3, $4, $5)', [
        caId,
        partition,
        crlNumber.toString(),
        seq,
        bytes,
      ]);
    },
    async commitCrl(c, last, partCount) {
      return tx(async (t) => {
        const prev = await t.query<{ n: string }>('SELECT crl_number::text AS n FROM crls WHERE ca_id = $1 AND partition = $2 FOR UPDATE', [c.caId, c.partition]);
        const prevNumber = prev.rows[0]?.n;
        if (prevNumber !== undefined && BigInt(prevNumber) >= c.crlNumber) {
          await t.query('DELETE FROM crl_parts WHERE ca_id = $1 AND partition = $2 AND crl_number = $3', [c.caId, c.partition, c.crlNumber.toString()]);
          return false;
        }
        for (const p of last) {
          await t.query('INSERT INTO crl_parts (ca_id, partition, crl_number, seq, bytes) VALUES ($1, $2, $3, $4, $5)', [
            c.caId,
            c.partition,
            c.crlNumber.toString(),
            p.seq,
            p.bytes,
          ]);
        }
        await t.query(
          `INSERT INTO crls (ca_id, partition, crl_number, this_update, next_update, revoked_count, der, parts)
           VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)
           ON CONFLICT (ca_id, partition) DO UPDATE SET crl_number = EXCLUDED.crl_number, this_update = EXCLUDED.this_update,
             next_update = EXCLUDED.next_update, revoked_count = EXCLUDED.revoked_count, der = NULL, parts = EXCLUDED.parts`,
          [c.caId, c.partition, c.crlNumber.toString(), c.thisUpdate, c.nextUpdate, c.revokedCount, partCount],
        );
        // Keep this CRL's pieces and the previous CRL's; drop the rest (older ones, dead builds).
        await t.query('DELETE FROM crl_parts WHERE ca_id = $1 AND partition = $2 AND crl_number < $3 AND crl_number <> $4', [
          c.caId,
          c.partition,
          c.crlNumber.toString(),
          prevNumber ?? '-1',
        ]);
        return true;
      });
    },
    async latest(caId, partition) {
      // The previous CRL's pieces are kept one commit long: a reader that saw its row a moment
      // before a commit still finds them; one that lost a second race tries again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const r = await q.query<Row>(
          'SELECT ca_id, partition, crl_number::text AS crl_number, this_update, next_update, revoked_count, der, parts FROM crls WHERE ca_id = $1 AND partition = $2',
          [caId, partition],
        );
        const row = r.rows[0];
        if (!row) return undefined;
        if (row.der) return { ...info(row), der: bytes(row.der) };
        const parts = await q.query<{ bytes: Uint8Array }>('SELECT bytes FROM crl_parts WHERE ca_id = $1 AND partition = $2 AND crl_number = $3 ORDER BY seq', [
          caId,
          partition,
          row.crl_number,
        ]);
        if (parts.rows.length === Number(row.parts)) return { ...info(row), der: Buffer.concat(parts.rows.map((p) => bytes(p.bytes))) };
      }
      throw new Error(`CRL of CA ${caId} partition "${partition}" changed under three reads in a row`);
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
