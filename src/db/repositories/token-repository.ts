import type { ApiToken } from '../../domain/principal.ts';
import type { Credential, TokenRepository } from '../../ports/repositories.ts';
import type { Queryable } from '../db.ts';

type Row = Record<string, any>;

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

export const toToken = (x: Row): ApiToken => ({
  id: x.id,
  principalId: x.principal_id,
  description: opt(x.description),
  createdAt: x.created_at,
  expiresAt: opt(x.expires_at),
  lastUsedAt: opt(x.last_used_at),
  deletedAt: opt(x.deleted_at),
});

const TOKEN_COLUMNS = 'id, principal_id, description, created_at, expires_at, last_used_at, deleted_at';

// One round trip per token per few seconds (AuthService caches): the token, its principal and the
// principal's policies, documents included (they are compiled once per change, by updated_at).
const FIND_CREDENTIAL = `
SELECT t.id, t.principal_id, t.description, t.created_at, t.expires_at, t.last_used_at, t.deleted_at,
       p.name AS p_name, p.description AS p_description, p.status AS p_status, p.tags AS p_tags, p.rate_limit AS p_rate_limit,
       p.created_at AS p_created_at, p.updated_at AS p_updated_at, p.deleted_at AS p_deleted_at,
       coalesce((SELECT json_agg(json_build_object('id', pol.id, 'name', pol.name, 'document', pol.document,
                                                   'builtIn', pol.built_in, 'updatedAt', pol.updated_at, 'createdAt', pol.created_at)
                                 ORDER BY pol.name)
                   FROM principal_policies pp JOIN policies pol ON pol.id = pp.policy_id
                  WHERE pp.principal_id = p.id), '[]'::json) AS p_policies
  FROM api_tokens t JOIN principals p ON p.id = t.principal_id
 WHERE t.token_hash = $1`;

export function tokenRepository(q: Queryable): TokenRepository {
  return {
    async insert(t, hash) {
      await q.query('INSERT INTO api_tokens (id, name, principal_id, description, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        t.id,
        t.description ?? '',
        t.principalId,
        t.description ?? null,
        hash,
        t.createdAt,
        t.expiresAt ?? null,
      ]);
    },
    async findCredential(hash): Promise<Credential | undefined> {
      const x = (await q.query<Row>(FIND_CREDENTIAL, [hash])).rows[0];
      if (!x) return undefined;
      const policies = (typeof x.p_policies === 'string' ? JSON.parse(x.p_policies) : x.p_policies) as Row[];
      return {
        token: toToken(x),
        principal: {
          id: x.principal_id,
          name: x.p_name,
          description: opt(x.p_description),
          status: x.p_status,
          tags: x.p_tags,
          ...(x.p_rate_limit ? { rateLimit: x.p_rate_limit } : {}),
          policies: policies.map((p) => p.id),
          createdAt: x.p_created_at,
          updatedAt: x.p_updated_at,
          deletedAt: opt(x.p_deleted_at),
        },
        policies: policies.map((p) => ({
          id: p.id,
          name: p.name,
          document: p.document,
          builtIn: p.builtIn,
          createdAt: new Date(p.createdAt),
          updatedAt: new Date(p.updatedAt),
        })),
      };
    },
    async list(principalId) {
      const r = await q.query<Row>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE principal_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`, [principalId]);
      return r.rows.map(toToken);
    },
    async remove(principalId, tokenId, at) {
      const r = await q.query('UPDATE api_tokens SET deleted_at = $3 WHERE principal_id = $1 AND id = $2 AND deleted_at IS NULL', [principalId, tokenId, at]);
      return r.rowCount === 1;
    },
    async touch(ids, at) {
      if (ids.length === 0) return;
      await q.query('UPDATE api_tokens SET last_used_at = $2 WHERE id = ANY($1::uuid[]) AND (last_used_at IS NULL OR last_used_at < $2)', [ids, at]);
    },
    async adoptOrphans(principalId) {
      return (await q.query('UPDATE api_tokens SET principal_id = $1 WHERE principal_id IS NULL', [principalId])).rowCount;
    },
    async count() {
      const r = await q.query<{ n: string }>('SELECT count(*)::text AS n FROM api_tokens');
      return Number(r.rows[0]!.n);
    },
  };
}
