import pg from 'pg';
import type { Db, Queryable, QueryResult } from './db.ts';

// bigint (int8) as string is pg's default; keep it, CRL numbers and counts are parsed where used.

/** The PostgreSQL driver: a connection pool for DATABASE_URL. */
export function createPgDb(options: { connectionString: string; max?: number; applicationName?: string }): Db {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 16,
    application_name: options.applicationName ?? 'privateca',
    // A lost connection must surface as an error on the request, not hang it.
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener that
  // would kill the process. The next query gets a fresh connection.
  pool.on('error', () => {});

  // Parameterised statements are prepared once per connection under a name, so the server parses
  // and plans the hot ones (issuance, token lookup) once rather than on every call.
  const names = new Map<string, string>();
  const nameOf = (sql: string): string | undefined => {
    let n = names.get(sql);
    if (!n && names.size < 500) {
      n = `pca_${names.size}`;
      names.set(sql, n);
    }
    return n;
  };

  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
      const r = params?.length
        ? await c.query({ name: nameOf(sql), text: sql, values: params as unknown[] })
        : await c.query(sql);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
    async queryArrays<T extends unknown[]>(sql: string, params?: unknown[]): Promise<T[]> {
      const r = await c.query({ name: nameOf(sql), text: sql, values: (params ?? []) as unknown[], rowMode: 'array' });
      return r.rows as T[];
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });

  /**
   * Runs fn on a pooled connection holding the advisory lock `key`, taken by `take` (which answers
   * ok: false when it did not get it: then undefined), and unlocks. A connection whose unlock failed
   * may still hold the lock: it is destroyed rather than pooled.
   */
  const locked = async <T>(take: string, key: number, fn: (q: Queryable) => Promise<T>): Promise<T | undefined> => {
    const client = await pool.connect();
    let broken = false;
    try {
      const got = await client.query<{ ok: boolean }>(take, [key]);
      if (!got.rows[0]!.ok) return undefined;
      try {
        return await fn(wrap(client));
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => {
          broken = true;
        });
      }
    } finally {
      client.release(broken);
    }
  };

  return {
    driver: 'pg',
    ...wrap(pool),
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(wrap(client));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    // pg_advisory_lock waits until it has the lock, so it always answers ok.
    withAdvisoryLock: <T>(key: number, fn: (q: Queryable) => Promise<T>) => locked('SELECT true AS ok FROM pg_advisory_lock($1)', key, fn) as Promise<T>,
    tryWithAdvisoryLock: (key, fn) => locked('SELECT pg_try_advisory_lock($1) AS ok', key, fn),
    async close() {
      await pool.end();
    },
  };
}
