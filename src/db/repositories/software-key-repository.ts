import type { SoftwareKeyRepository } from '../../ports/repositories.ts';
import { bytes, type Queryable } from '../db.ts';

type Row = Record<string, any>;

export function softwareKeyRepository(q: Queryable): SoftwareKeyRepository {
  return {
    async insert(k) {
      await q.query(
        'INSERT INTO software_keys (id, algorithm, spki, wrapped_key, kek_id, created_at) VALUES ($1,$2,$3,$4,$5,$6)',
        [k.id, k.algorithm, k.spki, k.wrappedKey, k.kekId, k.createdAt],
      );
    },
    async get(id) {
      const r = await q.query<Row>('SELECT id, algorithm, spki, wrapped_key, kek_id, created_at FROM software_keys WHERE id = $1', [id]);
      const x = r.rows[0];
      return x && { id: x.id, algorithm: x.algorithm, spki: bytes(x.spki), wrappedKey: bytes(x.wrapped_key), kekId: x.kek_id, createdAt: x.created_at };
    },
    async remove(id) {
      await q.query('DELETE FROM software_keys WHERE id = $1', [id]);
    },
  };
}
