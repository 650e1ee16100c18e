import type { Policy } from '../../domain/policy.ts';
import type { PolicyRepository } from '../../ports/repositories.ts';
import type { Queryable } from '../db.ts';

type Row = Record<string, any>;

const COLUMNS = 'id, name, description, document, built_in, created_at, updated_at';

const toPolicy = (x: Row): Policy => ({
  id: x.id,
  name: x.name,
  description: x.description ?? undefined,
  document: x.document,
  builtIn: x.built_in,
  createdAt: x.created_at,
  updatedAt: x.updated_at,
});

export function policyRepository(q: Queryable): PolicyRepository {
  return {
    async insert(p) {
      await q.query(`INSERT INTO policies (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        p.id,
        p.name,
        p.description ?? null,
        JSON.stringify(p.document),
        p.builtIn,
        p.createdAt,
        p.updatedAt,
      ]);
    },
    async get(id, options) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM policies WHERE id = $1${options?.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
      return r.rows[0] && toPolicy(r.rows[0]);
    },
    async getByName(name) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM policies WHERE name = $1`, [name]);
      return r.rows[0] && toPolicy(r.rows[0]);
    },
    async existing(ids) {
      if (ids.length === 0) return [];
      const r = await q.query<{ id: string }>('SELECT id::text AS id FROM policies WHERE id = ANY($1::uuid[])', [ids]);
      return r.rows.map((x) => x.id);
    },
    async list({ limit, afterName }) {
      const r = await q.query<Row>(`SELECT ${COLUMNS} FROM policies WHERE name > $1 ORDER BY name LIMIT $2`, [afterName ?? '', limit]);
      return r.rows.map(toPolicy);
    },
    async save(p) {
      await q.query('UPDATE policies SET description = $2, document = $3, updated_at = $4 WHERE id = $1', [p.id, p.description ?? null, JSON.stringify(p.document), p.updatedAt]);
    },
    async remove(id) {
      await q.query('DELETE FROM policies WHERE id = $1', [id]);
    },
    async attachments(id) {
      const r = await q.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM principal_policies pp JOIN principals p ON p.id = pp.principal_id WHERE pp.policy_id = $1 AND p.deleted_at IS NULL',
        [id],
      );
      return Number(r.rows[0]!.n);
    },
    async upsertBuiltIn(p) {
      await q.query(
        `INSERT INTO policies (${COLUMNS}) VALUES ($1, $2, $3, $4, true, $5, $5)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, document = EXCLUDED.document,
           built_in = true, updated_at = EXCLUDED.updated_at
         WHERE policies.document IS DISTINCT FROM EXCLUDED.document OR policies.description IS DISTINCT FROM EXCLUDED.description
            OR policies.name IS DISTINCT FROM EXCLUDED.name`,
        [p.id, p.name, p.description ?? null, JSON.stringify(p.document), p.updatedAt],
      );
    },
  };
}
