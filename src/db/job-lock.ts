import { createHash } from 'node:crypto';
import type { JobLock } from '../ports/job-lock.ts';
import type { Db } from './db.ts';

/**
 * JobLock on PostgreSQL advisory locks. Names hash to 31-bit keys in their own range (high bit of the
 * second byte set) so they cannot meet the fixed keys of migrations and bootstrap; two names that
 * collide only take turns.
 */
export function advisoryJobLock(db: Db): JobLock {
  const keyOf = (name: string) => (createHash('sha256').update(name).digest().readUInt32BE(0) & 0x7fffffff) | 0x00800000;
  return {
    run: (name, fn) => db.withAdvisoryLock(keyOf(name), () => fn()),
    tryRun: (name, fn) => db.tryWithAdvisoryLock(keyOf(name), () => fn()),
  };
}
