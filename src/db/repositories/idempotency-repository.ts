import type { IdempotencyRepository } from '../../ports/repositories.ts';
import { bytes, type Queryable } from '../db.ts';

type Row = Record<string, any>;

export function idempotencyRepository(q: Queryable): IdempotencyRepository {
  return {
    async get(caId, token, options) {
      const r = await q.query<Row>(
        `SELECT ca_id, token, csr_sha256, serial, created_at FROM idempotency_keys WHERE ca_id = $1 AND token = $2${options?.forUpdate ? ' FOR UPDATE' : ''}`,
        [caId, token],
      );
      const x = r.rows[0];
      return x && { caId: x.ca_id, token: x.token, csrSha256: bytes(x.csr_sha256), serial: x.serial, createdAt: x.created_at };
    },
    async put(rec, replaceBefore) {
      const r = await q.query(
        `INSERT INTO idempotency_keys (ca_id, token, csr_sha256, serial, created_at) VALUES ($1,$2,$3,$4,$5)
         ON CONFLICT (ca_id, token) DO UPDATE SET csr_sha256 = EXCLUDED.csr_sha256, serial = EXCLUDED.serial,
           created_at = EXCLUDED.created_at
         WHERE idempotency_keys.created_at < $6`,
        [rec.caId, rec.token, rec.csrSha256, rec.serial, rec.createdAt, replaceBefore],
      );
      return r.rowCount === 1;
    },
  };
}
