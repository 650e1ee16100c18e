import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { issueLoad, type LoadResult } from '../support/load.ts';
import { createPgCluster, type PgCluster } from '../support/pg-cluster.ts';
import { buildService, killStarted, runToExit, ServiceProcess } from '../support/process.ts';
import { createTestDatabase } from '../support/service.ts';
import { createSoftHsm, type SoftHsm } from '../support/softhsm.ts';

/*
 * Operations (docs/api.md "Operations"): graceful shutdown under load, database outages, readiness,
 * metrics, fail-fast configuration. The service runs as `npm start` runs it (compiled, one process
 * group, a primary and its workers), under 16 clients issuing on kept-alive connections.
 */

const LONG = 240_000;
const pki = new OpensslPki();
const csr = pki.csr({ subject: '/CN=load.example.internal' }).csr;
let build: { dir: string; remove(): Promise<void> };
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  build = await buildService('operations');
}, 120_000);
afterAll(async () => {
  await killStarted();
  // Reverse order: a dedicated PostgreSQL is dropped (stopped first) even when its test failed midway.
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  await build?.remove();
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'privateca-ops-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function freshDatabase(): Promise<string> {
  const d = await createTestDatabase();
  cleanups.push(() => d.drop());
  return d.url;
}

async function dedicatedPostgres(): Promise<PgCluster> {
  const c = await createPgCluster();
  cleanups.push(() => c.drop());
  return c;
}

const token = () => 'pca_ops_' + randomBytes(16).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startWithCa(env: Record<string, string>, options: { group?: boolean } = {}) {
  const t = token();
  const p = await ServiceProcess.start(build.dir, { PRIVATECA_DATA_DIR: await dataDir(), PRIVATECA_BOOTSTRAP_TOKEN: t, ...env }, options);
  const ca = await p.api(t, 'POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Operations Root' }, keyAlgorithm: 'EC_prime256v1', revocation: { crl: { enabled: true } } });
  expect(ca.status, ca.text).toBe(201);
  return { p, token: t, caId: ca.body.id as string };
}

/** Every certificate acknowledged with a 201 is in the database, byte for byte, once. */
async function expectAllStored(databaseUrl: string, caId: string, load: LoadResult): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const rows = (await c.query<{ serial: string; der: Buffer }>('SELECT serial, der FROM certificates WHERE ca_id = $1', [caId])).rows;
    const stored = new Map(rows.map((r) => [r.serial, r.der.toString('base64')]));
    expect(load.acknowledged.length).toBeGreaterThan(0);
    const missing = load.acknowledged.filter((a) => stored.get(a.serial) !== a.certificate.replace(/-----[A-Z ]+-----|\s/g, ''));
    expect(missing, `${missing.length} acknowledged certificates missing or different`).toEqual([]);
    expect(new Set(load.acknowledged.map((a) => a.serial)).size).toBe(load.acknowledged.length);
  } finally {
    await c.end();
  }
}

const messages = (p: ServiceProcess) => p.logLines().map((l) => String(l.msg));

describe.concurrent('operations', () => {
  for (const how of ['SIGTERM to the primary', 'SIGINT to the process group'] as const) {
    it(
      `ok/${how} under load (2 workers, 16 clients): no reset, no 5xx, every acknowledged certificate stored, exit 0, a log line per phase`,
      async () => {
        const databaseUrl = await freshDatabase();
        const { p, token: t, caId } = await startWithCa({ DATABASE_URL: databaseUrl, PRIVATECA_WORKERS: '2', LOG_LEVEL: 'info' }, { group: true });
        const load = issueLoad({ url: p.url, token: t, caId, csr, concurrency: 16 });
        while (load.issued < 200) await sleep(20);
        if (how === 'SIGTERM to the primary') p.child.kill('SIGTERM');
        else process.kill(-p.child.pid!, 'SIGINT');
        const exit = await p.exited;
        await sleep(200);
        const r = await load.stop();
        const label = JSON.stringify({ exit, byStatus: r.byStatus, errors: r.errors }) + '\n' + p.output.slice(-3000);
        expect(exit, label).toEqual({ code: 0, signal: null });
        expect(Object.keys(r.byStatus).filter((s) => s !== '201'), label).toEqual([]);
        // No request on a kept-alive connection is reset: each is answered, with Connection: close.
        // Once every worker has stopped listening, new connections are refused; a connection opened
        // in the very moment the listening socket closes may be reset by the kernel (at most one a
        // client here: behind HAProxy, which retries those, clients see none: cluster.test.ts).
        expect(Object.keys(r.errors).filter((e) => e !== 'ECONNREFUSED' && e !== 'ECONNRESET (new connection)'), label).toEqual([]);
        expect(r.errors['ECONNRESET (new connection)'] ?? 0, label).toBeLessThanOrEqual(16);
        await expectAllStored(databaseUrl, caId, r);
        const log = messages(p);
        expect(log.filter((m) => m.startsWith('shutting down: accepting no new connections')), label).toHaveLength(2);
        for (const phase of ['shutdown: every request answered', 'shutdown: background jobs stopped', 'shutdown: database connections closed', 'shutdown complete']) {
          expect(log.filter((m) => m.startsWith(phase)), `${phase}\n${label}`).toHaveLength(phase === 'shutdown complete' ? 3 : 2);
        }
        expect(log.filter((m) => m === 'shutdown complete: every worker has stopped')).toHaveLength(1);
      },
      LONG,
    );
  }

  it(
    'ok/SIGKILL to the whole node under load loses nothing acknowledged; the node starts again on the same database and serves',
    async () => {
      const databaseUrl = await freshDatabase();
      const dir = await dataDir();
      const t = token();
      const env = { DATABASE_URL: databaseUrl, PRIVATECA_WORKERS: '2', PRIVATECA_DATA_DIR: dir, PRIVATECA_BOOTSTRAP_TOKEN: t, LOG_LEVEL: 'warn' };
      const p = await ServiceProcess.start(build.dir, env, { group: true });
      const ca = await p.api(t, 'POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Kill Root' }, keyAlgorithm: 'EC_prime256v1' });
      const load = issueLoad({ url: p.url, token: t, caId: ca.body.id, csr, concurrency: 16 });
      while (load.issued < 500) await sleep(20);
      process.kill(-p.child.pid!, 'SIGKILL');
      await p.exited;
      const r = await load.stop();
      await expectAllStored(databaseUrl, ca.body.id, r);
      const again = await ServiceProcess.start(build.dir, { ...env, PORT: new URL(p.url).port });
      const more = await again.api(t, 'POST', `/v1/cas/${ca.body.id}/certificates`, { csr, validity: { days: 1 } });
      expect(more.status, more.text).toBe(201);
      expect(await again.stop()).toEqual({ code: 0, signal: null });
    },
    LONG,
  );

  it(
    'fail/PostgreSQL stopped under load: 503 database_unavailable with Retry-After within seconds, readyz 503, no hung request, one log line each way per process; back by itself, also after a crash restart',
    async () => {
      const cluster = await dedicatedPostgres();
      const { p, token: t, caId } = await startWithCa({ DATABASE_URL: cluster.url, PRIVATECA_WORKERS: '2', LOG_LEVEL: 'warn' });
      const load = issueLoad({ url: p.url, token: t, caId, csr, concurrency: 16 });
      try {
        while (load.issued < 100) await sleep(20);
        await cluster.stop('fast');
        await sleep(3_000);
        const during = await p.api(t, 'POST', `/v1/cas/${caId}/certificates`, { csr, validity: { days: 1 } });
        expect(during.status, during.text).toBe(503);
        expect(during.body.code).toBe('database_unavailable');
        expect(Number(during.headers.get('retry-after'))).toBeGreaterThan(0);
        const ready = await fetch(`${p.url}/readyz`);
        expect(ready.status).toBe(503);
        expect((await ready.json()).notReady).toContain('database');
        expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
        const issuedWhileDown = load.issued;
        await cluster.start();
        const deadline = Date.now() + 30_000;
        while (load.issued < issuedWhileDown + 100 && Date.now() < deadline) await sleep(50);
        expect(load.issued, 'issuance resumed after PostgreSQL came back').toBeGreaterThanOrEqual(issuedWhileDown + 100);

        // The server behind the address dies and another comes up (what a failover looks like to a client).
        const beforeCrash = load.issued;
        await cluster.crashRestart();
        const deadline2 = Date.now() + 30_000;
        while (load.issued < beforeCrash + 100 && Date.now() < deadline2) await sleep(50);
        expect(load.issued, 'issuance resumed after the crash restart').toBeGreaterThanOrEqual(beforeCrash + 100);
      } finally {
        await cluster.start();
      }
      const r = await load.stop();
      const label = JSON.stringify({ byStatus: r.byStatus, errors: r.errors, maxMs: r.maxMs }) + '\n' + p.output.slice(-4000);
      expect(Object.keys(r.byStatus).sort(), label).toEqual(['201', '503']);
      expect(r.problems.every((x) => x.code === 'database_unavailable' && Number(x.retryAfter) > 0), label).toBe(true);
      expect(r.errors, label).toEqual({});
      // Never hung: the pool's connect timeout (5 s) bounds every request.
      expect(r.maxMs, label).toBeLessThan(8_000);
      await expectAllStored(cluster.url, caId, r);
      // Two outages (the stop and the crash restart), each logged once when it began and once when it
      // ended by each process that noticed: never once per request.
      const lines = p.logLines();
      const byPid = new Map<unknown, { down: number; up: number }>();
      for (const l of lines) {
        const c = byPid.get(l.pid) ?? { down: 0, up: 0 };
        if (String(l.msg).startsWith('the database cannot be reached')) c.down++;
        if (String(l.msg).startsWith('the database is reachable again')) c.up++;
        byPid.set(l.pid, c);
      }
      for (const [pid, c] of byPid) {
        expect(c.down, `pid ${pid}\n${label}`).toBeLessThanOrEqual(2);
        expect(c.up, `pid ${pid}\n${label}`).toBe(c.down);
      }
      expect([...byPid.values()].some((c) => c.down >= 1), label).toBe(true);
      expect(lines.length, label).toBeLessThan(60);
      expect(p.output).not.toMatch(/"level":50.*internal error/);
      expect(await p.stop()).toEqual({ code: 0, signal: null });
    },
    LONG,
  );

  for (const workers of ['1', '2']) {
    it(
      `ok/started while PostgreSQL is down (${workers} worker${workers === '1' ? '' : 's'}): healthz 200, readyz 503 and 503 database_unavailable meanwhile, serves once it is up`,
      async () => {
        const cluster = await dedicatedPostgres();
        await cluster.stop('fast');
        const t = token();
        const p = await ServiceProcess.spawn(build.dir, { DATABASE_URL: cluster.url, PRIVATECA_WORKERS: workers, PRIVATECA_DATA_DIR: await dataDir(), PRIVATECA_BOOTSTRAP_TOKEN: t, LOG_LEVEL: 'warn' });
        try {
          let health = 0;
          for (const deadline = Date.now() + 30_000; health !== 200 && Date.now() < deadline; await sleep(100)) {
            health = await fetch(`${p.url}/healthz`).then((r) => r.status, () => 0);
          }
          expect(health, p.output).toBe(200);
          await sleep(1_500);
          expect(p.running, p.output).toBe(true);
          const ready = await fetch(`${p.url}/readyz`);
          expect(ready.status).toBe(503);
          expect((await ready.json()).notReady).toEqual(['database']);
          const refused = await p.api(t, 'GET', '/v1/cas');
          expect(refused.status).toBe(503);
          expect(refused.body.code).toBe('database_unavailable');
          expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
        } finally {
          await cluster.start();
        }
        await p.ready(30_000);
        const ca = await p.api(t, 'POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Late Root' }, keyAlgorithm: 'EC_prime256v1' });
        expect(ca.status, ca.text).toBe(201);
        expect(await p.stop()).toEqual({ code: 0, signal: null });
      },
      LONG,
    );
  }

  it(
    'fail/a DATABASE_URL naming a host that does not exist or a database that does not exist ends the start at once with one clear line',
    async () => {
      const cases = [
        { url: 'postgres://postgres@no-such-host.invalid:5432/postgres', says: /ENOTFOUND|no-such-host/ },
        { url: 'postgres://postgres@127.0.0.1:5432/privateca_no_such_database', says: /does not exist/ },
      ];
      for (const { url, says } of cases) {
        for (const workers of ['1', '2']) {
          const t0 = Date.now();
          const r = await runToExit(build.dir, { DATABASE_URL: url, PRIVATECA_WORKERS: workers, PRIVATECA_DATA_DIR: await dataDir() });
          const label = `${url} workers=${workers}: ${JSON.stringify({ code: r.code })}\n${r.output}`;
          expect(r.code, label).toBe(1);
          expect(Date.now() - t0, label).toBeLessThan(20_000);
          expect(r.output.match(/DATABASE_URL: the database refused this service/g), label).toHaveLength(1);
          expect(r.output, label).toMatch(says);
          expect(r.output, label).not.toMatch(/privateca listening|worker exited/);
        }
      }
    },
    LONG,
  );

  it(
    'ok/readyz names a PKCS#11 token that went away (503) and is 200 again when it is back; the API still serves software-key CAs meanwhile',
    async () => {
      const hsm: SoftHsm = await createSoftHsm('ops-ready');
      cleanups.push(() => hsm.cleanup());
      const { p, token: t } = await startWithCa({ DATABASE_URL: await freshDatabase(), PRIVATECA_WORKERS: '1', LOG_LEVEL: 'warn', ...hsm.env });
      const ok = await (await fetch(`${p.url}/readyz`)).json();
      expect(ok).toEqual({ status: 'ready', notReady: [], checks: { database: { ready: true }, 'keyStore:software': { ready: true }, 'keyStore:pkcs11': { ready: true }, shutdown: { ready: true } } });
      const bringBack = await hsm.removeToken();
      let body: any;
      let status = 0;
      for (const deadline = Date.now() + 20_000; status !== 503 && Date.now() < deadline; await sleep(300)) {
        const r = await fetch(`${p.url}/readyz`);
        status = r.status;
        body = await r.json();
      }
      expect(status, JSON.stringify(body)).toBe(503);
      expect(body.notReady).toEqual(['keyStore:pkcs11']);
      expect(body.checks['keyStore:pkcs11'].reason).toMatch(/token/i);
      expect((await p.api(t, 'GET', '/v1/cas')).status).toBe(200);
      await bringBack();
      await p.ready(30_000);
      expect(await p.stop()).toEqual({ code: 0, signal: null });
    },
    LONG,
  );

  it(
    'fail/started with a PKCS#11 module that has no such token: it serves, readyz is 503 naming keyStore:pkcs11 with the reason',
    async () => {
      const hsm: SoftHsm = await createSoftHsm('ops-present');
      cleanups.push(() => hsm.cleanup());
      const t = token();
      const p = await ServiceProcess.spawn(build.dir, {
        DATABASE_URL: await freshDatabase(),
        PRIVATECA_WORKERS: '1',
        PRIVATECA_DATA_DIR: await dataDir(),
        PRIVATECA_BOOTSTRAP_TOKEN: t,
        LOG_LEVEL: 'warn',
        ...hsm.env,
        PRIVATECA_PKCS11_TOKEN_LABEL: 'no-such-token',
      });
      let status = 0;
      let body: any;
      for (const deadline = Date.now() + 60_000; status !== 503 && Date.now() < deadline; await sleep(200)) {
        const r = await fetch(`${p.url}/readyz`).catch(() => undefined);
        status = r?.status ?? 0;
        body = r && (await r.json());
      }
      expect(status, p.output).toBe(503);
      expect(body.notReady).toEqual(['keyStore:pkcs11']);
      expect(body.checks['keyStore:pkcs11'].reason).toContain('no-such-token');
      expect((await p.api(t, 'GET', '/v1/cas')).status).toBe(200);
      expect(await p.stop()).toEqual({ code: 0, signal: null });
    },
    LONG,
  );

  it(
    'ok/metrics of both workers, parsed by a Prometheus text parser: requests by route and status, issued and revoked per CA, issuance and signing latency, CRL age and size, pool, unsealed audit events; PRIVATECA_METRICS_TOKEN guards them',
    async () => {
      const metricsToken = 'metrics-' + randomBytes(12).toString('hex');
      const { p, token: t, caId } = await startWithCa({ DATABASE_URL: await freshDatabase(), PRIVATECA_WORKERS: '2', LOG_LEVEL: 'warn', PRIVATECA_METRICS_TOKEN: metricsToken });
      const serials: string[] = [];
      // New connections each time, so that both workers take some of them.
      for (let i = 0; i < 20; i++) {
        const r = await p.api(t, 'POST', `/v1/cas/${caId}/certificates`, { csr, validity: { days: 1 } });
        expect(r.status, r.text).toBe(201);
        serials.push(r.body.serial);
      }
      const rv = await p.api(t, 'POST', `/v1/cas/${caId}/certificates/${serials[0]}/revoke`, { reason: 'KEY_COMPROMISE' });
      expect(rv.status, rv.text).toBe(200);
      // The CRL with the revocation follows within seconds.
      let crl = 0;
      for (const deadline = Date.now() + 20_000; crl !== 200 && Date.now() < deadline; await sleep(200)) crl = (await fetch(`${p.url}/crl/${caId}.crl`)).status;
      expect(crl).toBe(200);

      expect((await fetch(`${p.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${p.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}x` } })).status).toBe(401);
      const res = await fetch(`${p.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const families = new Map(parsePrometheus(await res.text()).map((f) => [f.name, f]));
      const sample = (name: string, labels: Record<string, string> = {}) =>
        families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));

      expect(Number(sample('privateca_http_requests_total', { method: 'POST', route: '/v1/cas/{caId}/certificates', status: '201' })?.value)).toBe(20);
      expect(Number(sample('privateca_http_requests_total', { method: 'POST', route: '/v1/cas', status: '201' })?.value)).toBe(1);
      expect(Number(sample('privateca_certificates_issued_total', { ca: caId })?.value)).toBe(20);
      expect(Number(sample('privateca_certificates_revoked_total', { ca: caId, reason: 'KEY_COMPROMISE' })?.value)).toBe(1);
      const issuance = sample('privateca_issuance_duration_seconds')!;
      expect(Number(issuance.count)).toBe(20);
      expect(Number(issuance.sum)).toBeGreaterThan(0);
      expect(families.get('privateca_issuance_duration_seconds')!.type).toBe('HISTOGRAM');
      // 20 certificates, the CA certificate and at least one CRL signed with the software key.
      // (The parser keeps only the buckets of a histogram with labels; there is one label set here.)
      const signing = families.get('privateca_key_store_operation_duration_seconds')!;
      expect(signing.metrics).toHaveLength(1);
      expect(Number(signing.metrics[0]!.buckets!['+Inf'])).toBeGreaterThanOrEqual(21);
      const age = Number(sample('privateca_crl_age_seconds', { ca: caId })?.value);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(600);
      expect(Number(sample('privateca_crl_size_bytes', { ca: caId })?.value)).toBeGreaterThan(100);
      expect(Number(sample('privateca_db_pool_connections', { state: 'idle' })?.value) + Number(sample('privateca_db_pool_connections', { state: 'busy' })?.value)).toBeGreaterThan(0);
      expect(sample('privateca_db_pool_waiting')).toBeDefined();
      expect(Number(sample('privateca_audit_events_unsealed')?.value)).toBeGreaterThanOrEqual(0);
      expect(Number(sample('privateca_process_resident_memory_bytes')?.value)).toBeGreaterThan(10_000_000);
      expect(await p.stop()).toEqual({ code: 0, signal: null });
    },
    LONG,
  );
});
