import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { createTestDatabase } from '../support/service.ts';
import { freePort } from '../support/net.ts';
import { buildService, killStarted, REPO, runToExit as runBuildToExit, ServiceProcess as Service } from '../support/process.ts';

/*
 * The service started as a user starts it: compiled as `npm start` compiles it (tsconfig.build.json)
 * and run with node, configured only through the environment (docs/api.md "Bootstrap and configuration").
 */

let BUILD: string;
let removeBuild: () => Promise<void>;
beforeAll(async () => {
  ({ dir: BUILD, remove: removeBuild } = await buildService('startup'));
}, 120_000);
afterAll(() => removeBuild());
const LONG = 180_000;

const ServiceProcess = {
  spawn: (env: Record<string, string>) => Service.spawn(BUILD, env),
  start: (env: Record<string, string>) => Service.start(BUILD, env),
};
const runToExit = (env: Record<string, string>) => runBuildToExit(BUILD, env);

const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

const databases: Awaited<ReturnType<typeof createTestDatabase>>[] = [];
async function freshDatabase(): Promise<string> {
  const d = await createTestDatabase();
  databases.push(d);
  return d.url;
}

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

afterAll(async () => {
  await killStarted();
  for (const d of databases) await d.drop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// The PGlite sequence runs in order; the other tests are independent and run side by side, to keep the
// file's time down (each start is mostly CPU-bound: TypeScript loading and PGlite's WebAssembly).
describe.concurrent('the service process', () => {
  describe.sequential('first start, restart and crash on the embedded database (PGlite)', () => {
    let dataDir: string;
    let token: string;
    let tokenFile: string;
    let tokenStat: { mtimeMs: number; ino: number };
    let first: Service;
    let issued: { caId: string; serial: string; certificate: string };
    const pki = new OpensslPki();

    it(
      'ok/first start in a data dir that already holds other files: healthy, admin-token 0600 that works, path logged, token never, kek 0600',
      async () => {
        dataDir = await tempDir('privateca-start-');
        await writeFile(path.join(dataDir, 'README.txt'), 'operator notes\n');
        await mkdir(path.join(dataDir, 'backups'));
        await writeFile(path.join(dataDir, 'backups', 'old.tar'), randomBytes(64));

        first = await ServiceProcess.start({ PRIVATECA_DATA_DIR: dataDir });
        tokenFile = path.join(dataDir, 'admin-token');
        expect(await modeOf(tokenFile)).toBe(0o600);
        const raw = await readFile(tokenFile, 'utf8');
        token = raw.trim();
        expect(token).toMatch(/^[\x21-\x7e]{20,}$/);
        const st = await stat(tokenFile);
        tokenStat = { mtimeMs: st.mtimeMs, ino: st.ino };

        const list = await first.api(token, 'GET', '/v1/cas');
        expect(list.status, list.text).toBe(200);
        expect(list.body).toEqual({ items: [], nextCursor: null });
        expect((await first.api(token + 'x', 'GET', '/v1/cas')).status).toBe(401);

        expect(first.output).toContain(tokenFile);
        expect(first.output).not.toContain(token);
        expect(first.output).not.toContain(token.replace(/^pca_/, ''));

        expect(await modeOf(path.join(dataDir, 'kek'))).toBe(0o600);
        // What was there before is left alone.
        expect(await readFile(path.join(dataDir, 'README.txt'), 'utf8')).toBe('operator notes\n');
        expect(await readdir(path.join(dataDir, 'backups'))).toEqual(['old.tar']);
      },
      LONG,
    );

    it(
      'fail/while it runs, a second service or the audit CLI on the same data dir refuses to open the embedded database, naming the process',
      async () => {
        const second = await runToExit({ PRIVATECA_DATA_DIR: dataDir, PORT: String(await freePort()) });
        expect(second.code, second.output).toBe(1);
        expect(second.output).toContain(`is in use by process ${first.child.pid}`);
        const cli = spawnSync(process.execPath, [path.join(BUILD, 'src/main.js'), 'audit-verify'], {
          cwd: REPO,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, PRIVATECA_DATA_DIR: dataDir },
          encoding: 'utf8',
        });
        expect(cli.status, cli.stderr).not.toBe(0);
        expect(cli.stderr).toContain(`is in use by process ${first.child.pid}`);
        // The first one is unharmed.
        expect((await first.api(token, 'GET', '/v1/cas')).status).toBe(200);
      },
      LONG,
    );

    it(
      'ok/a process killed with SIGKILL right after an issuance 201 loses nothing: after a restart the certificate is there',
      async () => {
        expect(first?.running).toBe(true);
        const ca = await first.api(token, 'POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Crash Root' }, keyAlgorithm: 'EC_prime256v1' });
        expect(ca.status, ca.text).toBe(201);
        const r = await first.api(token, 'POST', `/v1/cas/${ca.body.id}/certificates`, {
          csr: pki.csr({ subject: '/CN=durable.example.internal' }).csr,
          validity: { days: 1 },
        });
        expect(r.status, r.text).toBe(201);
        first.child.kill('SIGKILL');
        const e = await first.exited;
        expect(e.signal).toBe('SIGKILL');
        issued = { caId: ca.body.id, serial: r.body.serial, certificate: r.body.certificate };

        const second = await ServiceProcess.start({ PRIVATECA_DATA_DIR: dataDir });
        try {
          const got = await second.api(token, 'GET', `/v1/cas/${issued.caId}/certificates/${issued.serial}`);
          expect(got.status, got.text).toBe(200);
          expect(got.body.certificate).toBe(issued.certificate);
          expect(got.body.status).toBe('ISSUED');
          const caAfter = await second.api(token, 'GET', `/v1/cas/${issued.caId}`);
          expect(caAfter.body.status).toBe('ACTIVE');
          // The CA key survived too: the restarted node still issues from it.
          const again = await second.api(token, 'POST', `/v1/cas/${issued.caId}/certificates`, {
            csr: pki.csr({ subject: '/CN=after-crash.example.internal' }).csr,
            validity: { days: 1 },
          });
          expect(again.status, again.text).toBe(201);
        } finally {
          expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
        }
      },
      LONG,
    );

    it(
      'ok/a second start on the same data dir keeps the admin token: file unchanged, the old token works, no new administrator',
      async () => {
        const third = await ServiceProcess.start({ PRIVATECA_DATA_DIR: dataDir });
        try {
          const st = await stat(tokenFile);
          expect({ mtimeMs: st.mtimeMs, ino: st.ino }).toEqual(tokenStat);
          expect((await readFile(tokenFile, 'utf8')).trim()).toBe(token);
          expect(await modeOf(tokenFile)).toBe(0o600);
          const list = await third.api(token, 'GET', '/v1/cas');
          expect(list.status, list.text).toBe(200);
          expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([issued.caId]);
          expect(third.output).not.toContain('administrator created');
          expect(third.output).not.toContain(token);

          // SIGTERM stops it cleanly, with exit code 0, and the port is free again.
          const exit = await third.stop('SIGTERM');
          expect(exit).toEqual({ code: 0, signal: null });
          await expect(fetch(`${third.url}/healthz`)).rejects.toThrow();
        } finally {
          await third.stop('SIGKILL');
        }
      },
      LONG,
    );
  });

  it(
    'ok/PRIVATECA_BOOTSTRAP_TOKEN is the administrator token on first start (data dir not there yet); no admin-token file is written, the token is not logged',
    async () => {
      const parent = await tempDir('privateca-bootstrap-');
      const dataDir = path.join(parent, 'does', 'not', 'exist');
      const token = 'pca_given_' + randomBytes(18).toString('base64url');
      // On PostgreSQL, which starts much faster than a first PGlite start (the sequence above covers PGlite).
      const p = await ServiceProcess.start({ PRIVATECA_DATA_DIR: dataDir, PRIVATECA_BOOTSTRAP_TOKEN: token, DATABASE_URL: await freshDatabase() });
      try {
        const list = await p.api(token, 'GET', '/v1/cas');
        expect(list.status, list.text).toBe(200);
        expect((await p.api('pca_other', 'GET', '/v1/cas')).status).toBe(401);
        await expect(stat(path.join(dataDir, 'admin-token'))).rejects.toMatchObject({ code: 'ENOENT' });
        expect(await modeOf(path.join(dataDir, 'kek'))).toBe(0o600);
        expect(p.output).not.toContain(token);
        expect(p.output).not.toContain(token.replace(/^pca_given_/, ''));
      } finally {
        expect(await p.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      }
    },
    LONG,
  );

  it(
    'ok/DATABASE_URL (a fresh database on the real PostgreSQL): first start bootstraps the administrator into <data dir>/admin-token; a restart keeps it; SIGTERM exits 0',
    async () => {
      const databaseUrl = await freshDatabase();
      const dataDir = await tempDir('privateca-pg-');
      await writeFile(path.join(dataDir, 'something-else.conf'), 'x=1\n');
      const env = { PRIVATECA_DATA_DIR: dataDir, DATABASE_URL: databaseUrl };

      const a = await ServiceProcess.start(env);
      const tokenFile = path.join(dataDir, 'admin-token');
      let token: string;
      let caId: string;
      try {
        expect(await modeOf(tokenFile)).toBe(0o600);
        token = (await readFile(tokenFile, 'utf8')).trim();
        const list = await a.api(token, 'GET', '/v1/cas');
        expect(list.status, list.text).toBe(200);
        expect(a.output).toContain(tokenFile);
        expect(a.output).not.toContain(token);
        expect(a.output).toMatch(/"database":"pg"/);
        expect(await modeOf(path.join(dataDir, 'kek'))).toBe(0o600);
        // No embedded database was made beside it.
        await expect(stat(path.join(dataDir, 'pgdata'))).rejects.toMatchObject({ code: 'ENOENT' });
        const ca = await a.api(token, 'POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'PG Root' }, keyAlgorithm: 'EC_secp384r1' });
        expect(ca.status, ca.text).toBe(201);
        caId = ca.body.id;
      } finally {
        expect(await a.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      }
      const before = await stat(tokenFile);

      const b = await ServiceProcess.start(env);
      try {
        const after = await stat(tokenFile);
        expect([after.mtimeMs, after.ino]).toEqual([before.mtimeMs, before.ino]);
        expect((await readFile(tokenFile, 'utf8')).trim()).toBe(token);
        const got = await b.api(token, 'GET', `/v1/cas/${caId}`);
        expect(got.status, got.text).toBe(200);
        expect(b.output).not.toContain('administrator created');
        const c = new pg.Client({ connectionString: databaseUrl });
        await c.connect();
        try {
          expect((await c.query('SELECT count(*)::int AS n FROM api_tokens')).rows[0].n).toBe(1);
        } finally {
          await c.end();
        }
      } finally {
        expect(await b.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      }
    },
    LONG,
  );

  it(
    'fail/bad configuration exits non-zero with a message naming the variable (and never echoing a secret value)',
    async () => {
      const dir = await tempDir('privateca-badconfig-');
      // The key-encryption key is read only after the database is opened and prepared: those cases use
      // PostgreSQL, which opens much faster than a first PGlite start.
      const pgEnv = { DATABASE_URL: await freshDatabase(), PRIVATECA_WORKERS: '1' };
      const badKek = randomBytes(31).toString('base64'); // 31 bytes: one short
      const openKekFile = path.join(dir, 'open-kek');
      await writeFile(openKekFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
      await chmod(openKekFile, 0o644);
      const badToken = 'has a space ' + randomBytes(8).toString('hex');
      const cases: { env: Record<string, string>; names: string; secret?: string }[] = [
        { env: { PORT: 'abc' }, names: 'PORT' },
        { env: { LOG_LEVEL: 'loud' }, names: 'LOG_LEVEL' },
        { env: { DATABASE_URL: 'mysql://localhost/x' }, names: 'DATABASE_URL' },
        { env: { PRIVATECA_WORKERS: '2' }, names: 'PRIVATECA_WORKERS' },
        { env: { PRIVATECA_BOOTSTRAP_TOKEN: badToken }, names: 'PRIVATECA_BOOTSTRAP_TOKEN', secret: badToken },
        { env: { ...pgEnv, PRIVATECA_KEK: 'short' }, names: 'PRIVATECA_KEK' },
        { env: { ...pgEnv, PRIVATECA_KEK: badKek }, names: 'PRIVATECA_KEK', secret: badKek },
        { env: { ...pgEnv, PRIVATECA_KEK_FILE: openKekFile }, names: openKekFile },
      ];
      const results = await Promise.all(
        cases.map(async (c, i) => ({ c, r: await runToExit({ PRIVATECA_DATA_DIR: path.join(dir, `d${i}`), ...c.env }) })),
      );
      for (const { c, r } of results) {
        const label = `${JSON.stringify(c.env)} → ${JSON.stringify({ code: r.code, signal: r.signal })}:\n${r.output}`;
        expect(r.signal, label).toBeNull();
        expect(r.code, label).not.toBe(0);
        expect(r.output, label).toContain(c.names);
        if (c.secret) expect(r.output, label).not.toContain(c.secret);
        expect(r.output, label).not.toMatch(/privateca listening/);
      }
    },
    LONG,
  );

  it(
    'fail/a port in use: the service exits non-zero at once with one message naming the address, with one worker or a cluster, and no restart loop',
    async () => {
      const blocker = net.createServer().listen(0, '127.0.0.1');
      await once(blocker, 'listening');
      const port = String((blocker.address() as net.AddressInfo).port);
      try {
        const databaseUrl = await freshDatabase();
        const envs: Record<string, string>[] = [
          { PRIVATECA_DATA_DIR: await tempDir('privateca-port-'), PORT: port },
          { PRIVATECA_DATA_DIR: await tempDir('privateca-port-'), PORT: port, DATABASE_URL: databaseUrl, PRIVATECA_WORKERS: '2' },
        ];
        for (const env of envs) {
          const t0 = Date.now();
          const r = await runToExit(env);
          const label = `${JSON.stringify(env)} → ${JSON.stringify({ code: r.code, signal: r.signal })}:\n${r.output}`;
          expect(r.code, label).toBe(1);
          expect(Date.now() - t0, label).toBeLessThan(30_000);
          expect(r.output.match(/127\.0\.0\.1:\d+ is in use \(EADDRINUSE\)/g), label).toHaveLength(1);
          expect(r.output, label).not.toMatch(/worker exited|privateca listening/);
        }
      } finally {
        blocker.close();
      }
    },
    LONG,
  );

  it(
    'fail/a worker that keeps crashing is restarted with a growing pause, then takes the node down with the reason',
    async () => {
      const p = await ServiceProcess.start({ PRIVATECA_DATA_DIR: await tempDir('privateca-crash-'), DATABASE_URL: await freshDatabase(), PRIVATECA_WORKERS: '2' });
      const workers = () => execFileSync('pgrep', ['-P', String(p.child.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
      const killed = new Set<number>();
      for (let crashes = 0; p.running && crashes < 10; ) {
        const alive = (() => {
          try {
            return workers().filter((w) => !killed.has(w));
          } catch {
            return [];
          }
        })();
        if (alive.length === 0) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        killed.add(alive[0]!);
        process.kill(alive[0]!, 'SIGKILL');
        crashes++;
        await new Promise((r) => setTimeout(r, 100));
      }
      const e = await p.exited;
      expect(e, p.output).toEqual({ code: 1, signal: null });
      const restarts = [...p.output.matchAll(/"restartInMs":(\d+)/g)].map((m) => Number(m[1]));
      expect(restarts.length, p.output).toBe(5);
      expect(restarts, p.output).toEqual([...restarts].sort((a, b) => a - b));
      expect(restarts[4]!, p.output).toBeGreaterThan(restarts[0]!);
      expect(p.output).toMatch(/workers exited 6 times within 60 s; stopping the node/);
    },
    LONG,
  );

  it(
    'fail/slow headers, a slow body and an idle kept-alive connection are closed at the configured times',
    async () => {
      const dataDir = await tempDir('privateca-timeouts-');
      const p = await ServiceProcess.start({
        PRIVATECA_DATA_DIR: dataDir,
        DATABASE_URL: await freshDatabase(),
        PRIVATECA_WORKERS: '1',
        PRIVATECA_HEADERS_TIMEOUT_MS: '1000',
        PRIVATECA_REQUEST_TIMEOUT_MS: '2500',
        PRIVATECA_KEEPALIVE_TIMEOUT_MS: '500',
      });
      const { port } = new URL(p.url);
      const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
      /** Opens a connection, writes `first`, then `drip` every 200 ms; resolves with ms until the server closed it and what it said. */
      const closedAfter = (first: string, drip?: string) =>
        new Promise<{ ms: number; said: string }>((resolve, reject) => {
          const t0 = Date.now();
          const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(first));
          let said = '';
          const timer = drip ? setInterval(() => socket.writable && socket.write(drip), 200) : undefined;
          socket.on('data', (c) => (said += c));
          socket.on('error', () => {});
          socket.on('close', () => {
            clearInterval(timer);
            resolve({ ms: Date.now() - t0, said });
          });
          setTimeout(() => reject(new Error('not closed within 20 s')), 20_000).unref();
        });
      const [headers, body, idle] = await Promise.all([
        closedAfter('GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n'),
        // authenticated, so that the service waits for the body (an unknown token is refused at once)
        closedAfter(`POST /v1/cas HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`, ' '),
        closedAfter('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]);
      // Node checks these timeouts every quarter of the headers timeout here: closed within ~0.3 s of each.
      expect(headers.ms, JSON.stringify(headers)).toBeGreaterThanOrEqual(900);
      expect(headers.ms, JSON.stringify(headers)).toBeLessThan(2_400);
      expect(headers.said).toMatch(/^HTTP\/1\.1 408/);
      expect(body.ms, JSON.stringify(body)).toBeGreaterThanOrEqual(2_400);
      expect(body.ms, JSON.stringify(body)).toBeLessThan(4_000);
      expect(body.said).toMatch(/^HTTP\/1\.1 408/);
      expect(idle.said).toMatch(/^HTTP\/1\.1 200/);
      expect(idle.ms, JSON.stringify(idle)).toBeLessThan(2_000);
      await p.stop();
    },
    LONG,
  );
});
