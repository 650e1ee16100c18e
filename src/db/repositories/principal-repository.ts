import type { Principal } from '../../domain/principal.ts';
import type { PrincipalRepository } from '../../ports/repositories.ts';
import type { Queryable } from '../db.ts';

type Row = Record<string, any>;

/** Advisory lock key of the transactions that could leave no administrator. */
const ADMINISTRATORS_LOCK = 0x70636104;

const COLUMNS = `p.id, p.name, p.description, p.status, p.tags, p.rate_limit, p.created_at, p.updated_at,
  coalesce((SELECT array_agg(pp.policy_id::text ORDER BY pp.policy_id) FROM principal_policies pp WHERE pp.principal_id = p.id), '{}') AS policies`;

const toPrincipal = (x: Row): Principal => ({
  id: x.id,
  name: x.name,
  description: x.description ?? undefined,
  status: x.status,
  policies: x.policies,
  tags: x.tags,
  ...(x.rate_limit ? { rateLimit: x.rate_limit } : {}),
  createdAt: x.created_at,
  updatedAt: x.updated_at,
});

export function principalRepository(q: Queryable): PrincipalRepository {
  const attach = async (p: Principal) => {
    await q.query('DELETE FROM principal_policies WHERE principal_id = $1', [p.id]);
    if (p.policies.length) {
      await q.query('INSERT INTO principal_policies (principal_id, policy_id) SELECT $1, unnest($2::uuid[])', [p.id, p.policies]);
    }
  };
  return {
    async insert(p) {
      await q.query('INSERT INTO principals (id, name, description, status, tags, rate_limit, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        p.id,
        p.name,
        p.description ?? null,
        p.status,
        JSON.stringify(p.tags),
        p.rateLimit ? JSON.stringify(p.rateLimit) : null,
        p.createdAt,
        p.updatedAt,
      ]);
      await attach(p);
    },
    async get(id, options) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM principals p WHERE p.id = $1 AND p.deleted_at IS NULL${options?.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
      return r.rows[0] && toPrincipal(r.rows[0]);
    },
    async getByName(name) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM principals p WHERE p.name = $1 AND p.deleted_at IS NULL`, [name]);
      return r.rows[0] && toPrincipal(r.rows[0]);
    },
    async list({ limit, afterName }) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM principals p WHERE p.deleted_at IS NULL AND p.name > $1 ORDER BY p.name LIMIT $2`, [afterName ?? '', limit]);
      return r.rows.map(toPrincipal);
    },
    async save(p) {
      await q.query('UPDATE principals SET description = $2, status = $3, tags = $4, updated_at = $5, rate_limit = $6 WHERE id = $1', [
        p.id,
        p.description ?? null,
        p.status,
        JSON.stringify(p.tags),
        p.updatedAt,
        p.rateLimit ? JSON.stringify(p.rateLimit) : null,
      ]);
      await attach(p);
    },
    async remove(id, at) {
      await q.query('UPDATE principals SET deleted_at = $2, updated_at = $2 WHERE id = $1', [id, at]);
      await q.query('DELETE FROM principal_policies WHERE principal_id = $1', [id]);
    },
    async countAbleAdministrators(policyId, now) {
      const r = await q.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM principals p JOIN principal_policies pp ON pp.principal_id = p.id
          WHERE pp.policy_id = $1 AND p.status = 'ACTIVE' AND p.deleted_at IS NULL
            AND EXISTS (SELECT 1 FROM api_tokens t WHERE t.principal_id = p.id AND t.deleted_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2))`,
        [policyId, now],
      );
      return Number(r.rows[0]!.n);
    },
    async idsNamed(name) {
      const r = await q.query<{ id: string }>('SELECT id::text AS id FROM principals WHERE name = $1', [name]);
      return r.rows.map((x) => x.id);
    },
    async lockAdministrators() {
      await q.query('SELECT pg_advisory_xact_lock($1)', [ADMINISTRATORS_LOCK]);
    },
  };
}
