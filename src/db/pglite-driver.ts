import { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable, QueryResult } from './db.ts';

/**
 * The embedded driver: PostgreSQL compiled to WASM, storing into a data directory, so that
 * `npm start` needs no server. It has one connection: PGlite queues queries and transactions itself.
 */
export async function createPgliteDb(options: { dataDir?: string; sharedBuffers?: string }): Promise<Db> {
  // shared_buffers is PostgreSQL's page cache; in PGlite it lives in the WASM heap, which never
  // shrinks, so every page it ever caches stays resident (at PostgreSQL's default of 128MB the
  // process grew past 400 MB in a short session). The data directory's files are in the OS page
  // cache anyway. docs/architecture.md, "The embedded database", has the measurements.
  const config = options.sharedBuffers ? { postgresqlconf: [`shared_buffers = ${options.sharedBuffers}`] } : {};
  const pg = options.dataDir ? new PGlite(options.dataDir, config) : new PGlite(config);
  await pg.waitReady;

  const wrap = (c: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
      const r = await c.query<T>(sql, params as unknown[]);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async queryArrays<T extends unknown[]>(sql: string, params?: unknown[]): Promise<T[]> {
      return (await c.query<T>(sql, params as unknown[], { rowMode: 'array' })).rows;
    },
    async exec(sql: string) {
      await c.exec(sql);
    },
  });
  const locks = new Map<number, Promise<unknown>>();
  // PGlite's data directory belongs to one process, so an in-process queue per key gives the
  // same guarantee as PostgreSQL's advisory lock does across nodes.
  const withAdvisoryLock = <T>(key: number, fn: (q: Queryable) => Promise<T>): Promise<T> => {
    const prev = locks.get(key) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(() => fn(wrap(pg)));
    const tail = run.catch(() => {});
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return run;
  };

  return {
    driver: 'pglite',
    ...wrap(pg),
    tx: (fn) => pg.transaction((t) => fn(wrap(t))),
    withAdvisoryLock,
    async tryWithAdvisoryLock<T>(key: number, fn: (q: Queryable) => Promise<T>): Promise<T | undefined> {
      return locks.has(key) ? undefined : withAdvisoryLock(key, fn);
    },
    async close() {
      await pg.close();
    },
  };
}
