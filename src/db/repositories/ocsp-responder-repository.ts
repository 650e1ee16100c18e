import type { OcspResponderRecord, OcspResponderRepository } from '../../ports/repositories.ts';
import { bytes, type Queryable } from '../db.ts';

type Row = Record<string, any>;

const toRecord = (r: Row): OcspResponderRecord => ({
  caId: r.ca_id,
  serial: r.serial,
  keyUri: r.key_uri,
  certificateDer: bytes(r.certificate),
  notBefore: r.not_before,
  notAfter: r.not_after,
  createdAt: r.created_at,
});

export function ocspResponderRepository(q: Queryable): OcspResponderRepository {
  return {
    async latest(caId) {
      const r = await q.query<Row>(
        'SELECT ca_id, serial, key_uri, certificate, not_before, not_after, created_at FROM ocsp_responders WHERE ca_id = $1 ORDER BY not_after DESC LIMIT 1',
        [caId],
      );
      return r.rows[0] && toRecord(r.rows[0]);
    },
    async insert(rec) {
      await q.query('INSERT INTO ocsp_responders (ca_id, serial, key_uri, certificate, not_before, not_after, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        rec.caId,
        rec.serial,
        rec.keyUri,
        rec.certificateDer,
        rec.notBefore,
        rec.notAfter,
        rec.createdAt,
      ]);
    },
  };
}
