import type { CrlRepository, StoredCrl } from '../../ports/repositories.ts';
import { REVOCATION_REASONS } from '../../domain/revocation-reason.ts';
import { bytes, type Queryable } from '../db.ts';
import { auditRepository } from './audit-repository.ts';

type Row = Record<string, any>;

/** Reason names by RFC 5280 code (index), for array_position in revokedPage; unused codes are null. */
const REASON_BY_CODE: (string | null)[] = Array.from({ length: 11 }, (_, code) => Object.entries(REVOCATION_REASONS).find(([, c]) => c === code)?.[0] ?? null);

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
      // (ca_id, crl_partition, serial), both WHERE status = 'REVOKED', serve the inner query. PostgreSQL
      // packs the page (RevokedPage): one string instead of a row, four strings and an array per
      // certificate in this process. A reason not in REASON_BY_CODE becomes -1, never a NULL that
      // string_agg would skip. The aggregate takes the entries in the inner query's order without an
      // ORDER BY of its own (that sort cost 4 of a page's 10 ms); nothing depends on that order
      // anyway: the page is the LIMIT of the ordered inner query, and the next one starts after max(serial).
      // date_part (double precision) rather than extract (numeric), which cost another 2 ms a page.
      const where = partition ? 'AND crl_partition = $6 AND crl_partition IS NOT NULL' : '';
      const r = await q.queryArrays<[number, string | null, string | null]>(
        `SELECT count(*)::int, max(serial), string_agg(entry, ';')
           FROM (SELECT serial, serial || ',' || floor(date_part('epoch', revoked_at))::bigint || ','
                                || coalesce(array_position($5::text[], revocation_reason) - 1, -1) AS entry
                   FROM certificates
                  WHERE ca_id = $1 AND status = 'REVOKED' ${where} AND serial > $2 AND not_after > $3
                  ORDER BY serial LIMIT $4) page`,
        partition ? [caId, afterSerial, notExpiredAt, limit, REASON_BY_CODE, partition] : [caId, afterSerial, notExpiredAt, limit, REASON_BY_CODE],
      );
      const [count, lastSerial, packed] = r[0]!;
      return { count, lastSerial: lastSerial ?? '', packed: packed ?? '' };
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
    async readPart(caId, partition, crlNumber, seq) {
      // As base64 text: a 1 MiB piece is then a 1.4 MB string to decode rather than pg's 2 MB of hex,
      // which at 45 pieces a CRL was garbage enough to show in the build's peak memory.
      const r = await q.queryArrays<[string]>("SELECT encode(bytes, 'base64') FROM crl_parts WHERE ca_id = $1 AND partition = $2 AND crl_number = $3 AND seq = $4", [
        caId,
        partition,
        crlNumber.toString(),
        seq,
      ]);
      return r[0] && Buffer.from(r[0][0], 'base64');
    },
    async read(caId, partition, crlNumber) {
      const r = await q.query<Row>('SELECT der, parts FROM crls WHERE ca_id = $1 AND partition = $2 AND crl_number = $3', [caId, partition, crlNumber.toString()]);
      const row = r.rows[0];
      if (!row) return undefined;
      if (row.der) return bytes(row.der);
      const parts = await q.queryArrays<[Uint8Array]>('SELECT bytes FROM crl_parts WHERE ca_id = $1 AND partition = $2 AND crl_number = $3 ORDER BY seq', [
        caId,
        partition,
        crlNumber.toString(),
      ]);
      return parts.length === Number(row.parts) ? Buffer.concat(parts.map((p) => bytes(p[0]))) : undefined;
    },
    async commitCrl(c, last, partCount, audit) {
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
        if (audit) await auditRepository(t).record(audit);
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
    async summaries() {
      // octet_length of an EXTERNAL (uncompressed) value reads its size from the TOAST pointer, not the bytes.
      const r = await q.query<Row>(
        `SELECT c.ca_id::text AS ca_id, min(c.this_update) AS oldest, sum(c.revoked_count)::float8 AS entries,
                sum(coalesce(octet_length(c.der), 0) + coalesce((SELECT sum(octet_length(p.bytes)) FROM crl_parts p
                     WHERE p.ca_id = c.ca_id AND p.partition = c.partition AND p.crl_number = c.crl_number), 0))::float8 AS bytes
           FROM crls c GROUP BY c.ca_id`,
      );
      return r.rows.map((x) => ({ caId: x.ca_id, oldestThisUpdate: new Date(x.oldest), bytes: Number(x.bytes), entries: Number(x.entries) }));
    },
  };
}
