import type {
  AuditRepository,
  IdempotencyRepository,
  SoftwareKeyRepository,
  TokenRepository,
} from '../../ports/repositories.ts';
import { bytes, type Queryable } from '../db.ts';

type Row = Record<string, any>;

export function auditRepository(q: Queryable): AuditRepository {
  return {
    async record(e) {
      await q.query(
        `INSERT INTO audit_events (at, actor, action, ca_id, serial, request_id, detail) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
        [e.at, e.actor, e.action, e.caId ?? null, e.serial ?? null, e.requestId ?? null, JSON.stringify(e.detail ?? {})],
      );
    },
    async list({ caId, limit }) {
      const r = caId
        ? await q.query<Row>('SELECT * FROM audit_events WHERE ca_id = $1 ORDER BY id DESC LIMIT $2', [caId, limit])
        : await q.query<Row>('SELECT * FROM audit_events ORDER BY id DESC LIMIT $1', [limit]);
      return r.rows.map((x) => ({
        id: String(x.id),
        at: x.at,
        actor: x.actor,
        action: x.action,
        caId: x.ca_id ?? undefined,
        serial: x.serial ?? undefined,
        requestId: x.request_id ?? undefined,
        detail: x.detail,
      }));
    },
  };
}

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
