import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
/** Advisory lock key for migrations: any constant that no other lock uses. */
const MIGRATION_LOCK = 0x70636101;

/**
 * Applies the numbered SQL files in migrations/ that the database has not seen, each in its own
 * transaction, under an advisory lock so that several nodes starting at once apply each file once.
 */
export async function migrate(db: Db): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return db.withAdvisoryLock(MIGRATION_LOCK, async (q) => {
    await q.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await q.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(path.join(MIGRATIONS_DIR, file), 'utf8');
      await q.exec('BEGIN');
      try {
        await q.exec(sql);
        await q.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        await q.exec('COMMIT');
      } catch (e) {
        await q.exec('ROLLBACK').catch(() => {});
        throw new Error(`applying migration ${file}: ${(e as Error).message}`, { cause: e });
      }
      applied.push(file);
    }
    return applied;
  });
}
