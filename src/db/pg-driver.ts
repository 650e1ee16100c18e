import pg from 'pg';
import { databaseUnavailable, isDatabaseUnavailable } from '../domain/ca-error.ts';
import type { Db, Listener, Queryable, QueryResult } from './db.ts';

/** Socket errors that mean the server is not there (stopped, restarting, unreachable), not that a statement was wrong. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** pg's own messages for a connection that died or never came. */
const LOST = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable)/;

/**
 * Whether an error means the database cannot be reached: a socket error, SQLSTATE class 08
 * (connection exception), 57P01-57P03 (the server shutting down, crashed or starting up), 53300 (no
 * connection slot), or pg's messages for a lost connection.
 */
function isConnectionLoss(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300')) return true;
  return e instanceof Error && LOST.test(e.message);
}

// bigint (int8) as string is pg's default; keep it, CRL numbers and counts are parsed where used.

/**
 * The PostgreSQL driver: a connection pool for DATABASE_URL. Every error that means the database
 * cannot be reached becomes CaError database_unavailable (503 with Retry-After); `onAvailability`
 * hears of the first such error of an outage and of the first success after it, so that an outage is
 * logged twice rather than once per request.
 */
export function createPgDb(options: {
  connectionString: string;
  max?: number;
  applicationName?: string;
  /** How long a request waits for a connection (a new one, or a pooled one under load) before 503. */
  connectTimeoutMs?: number;
  onAvailability?: (available: boolean, cause?: unknown) => void;
}): Db {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 16,
    application_name: options.applicationName ?? 'privateca',
    // A lost connection must surface as an error on the request within seconds, not hang it.
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    // A server that vanished without closing its sockets (a failover, a cut cable) is noticed.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener that
  // would kill the process. The next query gets a fresh connection.
  pool.on('error', noteFailure);
  // A connection lost while a request or a job holds it emits 'error' on that client, which the
  // pool does not listen to then: without this, the process would die of it. The query in flight
  // fails on its own (database_unavailable).
  pool.on('connect', (client) => client.on('error', noteFailure));

  // An outage ends with the first answer at least a second after its last failure: while a server
  // shuts down, connections it has not closed yet still answer, and that is not a recovery.
  let down = false;
  let lastFailure = 0;
  /** Whether e means the database cannot be reached; the first such error of an outage is reported. */
  function noteFailure(e: unknown): boolean {
    if (!isConnectionLoss(e)) return false;
    lastFailure = Date.now();
    if (!down) {
      down = true;
      options.onAvailability?.(false, e);
    }
    return true;
  }
  /** Rethrows e, as database_unavailable when it means the database cannot be reached. */
  const failed = (e: unknown): never => {
    throw noteFailure(e) ? databaseUnavailable(e) : e;
  };
  const answered = () => {
    if (down && Date.now() - lastFailure >= 1_000) {
      down = false;
      options.onAvailability?.(true);
    }
  };
  const connect = () => pool.connect().catch(failed);

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
      const r = await (params?.length ? c.query({ name: nameOf(sql), text: sql, values: params as unknown[] }) : c.query(sql)).catch(failed);
      answered();
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
    async queryArrays<T extends unknown[]>(sql: string, params?: unknown[]): Promise<T[]> {
      const r = await c.query({ name: nameOf(sql), text: sql, values: (params ?? []) as unknown[], rowMode: 'array' }).catch(failed);
      answered();
      return r.rows as T[];
    },
    async exec(sql: string) {
      await c.query(sql).catch(failed);
      answered();
    },
  });

  /**
   * Runs fn on a pooled connection holding the advisory lock `key`, taken by `take` (which answers
   * ok: false when it did not get it: then undefined), and unlocks. A connection whose unlock failed
   * may still hold the lock: it is destroyed rather than pooled.
   */
  const locked = async <T>(take: string, key: number, fn: (q: Queryable) => Promise<T>): Promise<T | undefined> => {
    const client = await connect();
    let broken = false;
    try {
      const got = await client.query<{ ok: boolean }>(take, [key]).catch(failed);
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
      const client = await connect();
      let lost = false;
      try {
        await client.query('BEGIN').catch(failed);
        const out = await fn(wrap(client));
        await client.query('COMMIT').catch(failed);
        answered();
        return out;
      } catch (e) {
        lost = isDatabaseUnavailable(e);
        if (!lost) await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        // A connection that failed is not handed to the next request.
        client.release(lost);
      }
    },
    // pg_advisory_lock waits until it has the lock, so it always answers ok.
    withAdvisoryLock: <T>(key: number, fn: (q: Queryable) => Promise<T>) => locked('SELECT true AS ok FROM pg_advisory_lock($1)', key, fn) as Promise<T>,
    tryWithAdvisoryLock: (key, fn) => locked('SELECT pg_try_advisory_lock($1) AS ok', key, fn),
    listen: (channel, handlers) => listen(options, channel, handlers),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      await pool.end();
    },
  };
}

/**
 * LISTEN on a connection of its own, outside the pool (a pooled connection would be handed to other
 * work). A lost connection is made again with a growing delay (0.25 s to 5 s); once it is back,
 * onReset tells the listener that it may have missed notifications meanwhile.
 */
async function listen(
  options: { connectionString: string; applicationName?: string; connectTimeoutMs?: number },
  channel: string,
  handlers: { onMessage(payload: string): void; onReset(): void },
): Promise<Listener> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
  let client: pg.Client | undefined;
  let connected = false;
  let closed = false;
  let delay = 250;
  let timer: NodeJS.Timeout | undefined;
  /** Forgets the current connection and ends it. */
  const drop = (): Promise<void> | undefined => {
    const c = client;
    client = undefined;
    connected = false;
    return c?.end().catch(() => {});
  };

  const connect = async (): Promise<void> => {
    const c = new pg.Client({
      connectionString: options.connectionString,
      application_name: `${options.applicationName ?? 'privateca'} listener`,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client = c;
    const lost = () => {
      if (client !== c) return;
      void drop();
      retry();
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', (n) => {
      if (n.channel === channel && n.payload !== undefined) handlers.onMessage(n.payload);
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    connected = true;
    delay = 250;
  };
  const retry = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      connect().then(
        () => handlers.onReset(),
        () => {
          delay = Math.min(delay * 2, 5_000);
          void drop();
          retry();
        },
      );
    }, delay);
    timer.unref();
  };

  await connect().catch((e: unknown) => {
    void drop();
    retry();
    if (!isConnectionLoss(e)) throw e;
  });
  return {
    listening: () => connected,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await drop();
    },
  };
}
