/** The small database port: one SQL dialect (PostgreSQL), two drivers (pg and PGlite). */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Like query, each row an array of its columns in order: no object per row, for reads of millions of rows. */
  queryArrays<T extends unknown[] = unknown[]>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly driver: 'pg' | 'pglite';
  /** Runs fn inside one transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs fn while holding the session-level advisory lock `key` on one connection, so that one node
   * at a time does the work (migrations, CRL builds). Waits for the lock.
   */
  withAdvisoryLock<T>(key: number, fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Like withAdvisoryLock, but without waiting: undefined when another session holds the lock. */
  tryWithAdvisoryLock<T>(key: number, fn: (q: Queryable) => Promise<T>): Promise<T | undefined>;
  /**
   * Hears NOTIFY on `channel` from every session on the database (pg only: PGlite belongs to one
   * process, which hears its own changes directly). `onReset` is called after the listening
   * connection was lost and is back, when notifications may have been missed; `listening()` says
   * whether it is connected now.
   */
  listen?(channel: string, handlers: { onMessage(payload: string): void; onReset(): void }): Promise<Listener>;
  /** The connection pool's use (pg only): connections open, idle, and requests waiting for one. */
  poolStats?(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export interface Listener {
  listening(): boolean;
  close(): Promise<void>;
}

/** PGlite returns bytea as Uint8Array, pg as Buffer: repositories call this to get one type. */
export const bytes = (v: unknown): Buffer => {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError('expected bytea');
};
