import type { TokenRepository } from '../../ports/repositories.ts';
import { type Queryable } from '../db.ts';

type Row = Record<string, any>;

export function tokenRepository(q: Queryable): TokenRepository {
  return {
    async insert(t, hash) {
      await q.query('INSERT INTO api_tokens (id, name, token_hash, role, created_at) VALUES ($1,$2,$3,$4,$5)', [
        t.id,
        t.name,
        hash,
        t.role,
        t.createdAt,
      ]);
    },
    async findByHash(hash) {
      const r = await q.query<Row>(
        'SELECT id, name, role, created_at, revoked_at FROM api_tokens WHERE token_hash = $1',
        [hash],
      );
      const x = r.rows[0];
      return x && { id: x.id, name: x.name, role: x.role, createdAt: x.created_at, revokedAt: x.revoked_at ?? undefined };
    },
    async count() {
      const r = await q.query<{ n: string }>('SELECT count(*)::text AS n FROM api_tokens');
      return Number(r.rows[0]!.n);
    },
  };
}
