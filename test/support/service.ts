import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import type { Db } from '../../src/db/db.ts';
import type { Clock } from '../../src/ports/clock.ts';
import { compose, openDatabase, prepareDatabase, serviceConfig, type Node } from '../../src/main.ts';
import { freePort } from './net.ts';

export type Driver = 'pg' | 'pglite';
export const DRIVERS: Driver[] = ['pg', 'pglite'];

/** The real PostgreSQL every developer and CI machine runs. */
export const PG_ADMIN_URL = process.env.PRIVATECA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Creates a fresh database on the real PostgreSQL for one test file. An unreachable server fails the
 * test with a plain message: these tests never skip.
 */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `privateca_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(
      `could not reach PostgreSQL at ${PG_ADMIN_URL} (${(e as Error).message}); the integration tests need it` +
        (process.env.CI ? ' (CI=true: failing)' : ''),
    );
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestService {
  driver: Driver;
  url: string;
  token: string;
  /** PostgreSQL only: the database, for another node to join. */
  databaseUrl?: string;
  /** The software key store's key-encryption key (base64), for another node to share. */
  kek: string;
  db: Db;
  node: Node;
  dataDir: string;
  /** Calls the HTTP API with the administrator's token (unless headers override it). */
  api(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** Starts one in-process service node over a fresh database of the given driver, on a free port. */
export async function startService(driver: Driver, env: Record<string, string> = {}, options: { join?: TestService; database?: string; clock?: Clock } = {}): Promise<TestService> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'privateca-test-'));
  // Another node on the database of `join` (PostgreSQL only: PGlite's directory belongs to one process).
  const joined = options.join?.databaseUrl ?? options.database;
  const pgdb = driver === 'pg' && !joined ? await createTestDatabase() : undefined;
  const token = options.join?.token ?? 'pca_test_' + randomBytes(16).toString('hex');
  // The service's public URL is where this test reaches it, as in a real set-up.
  const port = await freePort();
  const config = serviceConfig({
    PORT: String(port),
    PRIVATECA_PUBLIC_URL: `http://127.0.0.1:${port}`,
    PRIVATECA_DATA_DIR: dataDir,
    PRIVATECA_BOOTSTRAP_TOKEN: token,
    LOG_LEVEL: 'silent',
    ...(pgdb ? { DATABASE_URL: pgdb.url } : joined ? { DATABASE_URL: joined, ...(options.join ? { PRIVATECA_KEK: options.join.kek } : {}) } : {}),
    ...env,
  });
  const logger = pino({ level: 'silent' });
  const db = await openDatabase(config);
  await prepareDatabase(db, config, logger);
  const node = await compose({ db, config, logger, ...(options.clock ? { clock: options.clock } : {}) });
  const server = createServer(node.listener);
  // Client and server share this process, and PGlite's queries block its event loop: after a long
  // one both keep-alive timers fire late, and the server could close a socket the client (fetch) is
  // reusing at that moment (ECONNRESET). Idle sockets stay open well past fetch's own 4 s reuse limit.
  server.keepAliveTimeout = 30_000;
  server.listen(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const url = `http://127.0.0.1:${port}`;

  const api = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + p, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as any, text };
  };

  return {
    driver,
    url,
    token,
    databaseUrl: pgdb?.url ?? joined,
    kek: (await readFile(path.join(dataDir, 'kek'), 'utf8').catch(() => options.join?.kek ?? '')).trim(),
    db,
    node,
    dataDir,
    api,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await node.close();
      await db.close();
      await pgdb?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
