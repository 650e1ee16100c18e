/**
 * Soak test (issue 14): the cluster of docker-compose.yml on this machine (two nodes of two workers
 * each on the local PostgreSQL, HAProxy with deploy/haproxy.cfg in front), under a mixed load for a
 * while; one node is restarted gracefully a third of the way through, the other killed with SIGKILL
 * two thirds through and started again. At the end the database is checked.
 *
 *   npm run bench:soak -- [--seconds 300] [--concurrency 16] [--pg-url postgres://…/postgres] [--out bench/results/soak-latest.json]
 *
 * Load: each client picks, per request, issue (50 %), get a certificate (20 %), list (10 %), fetch
 * the CRL (15 %) or revoke (5 %), on kept-alive connections through HAProxy (Node's http.Agent: a
 * soak is about errors and tails, not peak rate). Checks: every certificate acknowledged with 201
 * is stored with the same bytes, serials are unique, every acknowledged revocation is REVOKED and in
 * the CRL the service serves (openssl crl), and `audit-verify` passes with one IssueCertificate
 * event per stored certificate.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { makeCsrPem } from './csr-factory.ts';
import { freshPgDatabase, round, runInfo, sleep, writeResult } from './measure.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '16' },
    'pg-url': { type: 'string', default: process.env.PRIVATECA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    out: { type: 'string', default: 'bench/results/soak-latest.json' },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
if (!(SECONDS >= 10)) throw new Error('--seconds must be at least 10');
if (!(Number.isInteger(CONCURRENCY) && CONCURRENCY >= 1)) throw new Error('--concurrency must be a positive integer');

const REPO = process.cwd();
const MAIN = path.join(REPO, 'dist/src/main.js');
const token = 'pca_soak_' + randomBytes(16).toString('hex');
const kek = randomBytes(32).toString('base64');
const work = mkdtempSync(path.join(os.tmpdir(), 'privateca-soak-'));

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

interface NodeProc {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
}

async function startNode(port: number, databaseUrl: string, i: number): Promise<NodeProc> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      PRIVATECA_DATA_DIR: path.join(work, `node${i}`),
      PRIVATECA_KEK: kek,
      PRIVATECA_BOOTSTRAP_TOKEN: token,
      PRIVATECA_WORKERS: '2',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
    if (child.exitCode !== null) throw new Error(`node ${i} exited at start`);
    if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`node ${i} not ready within 60 s`);
  }
  return { child, port, exited };
}

type Op = 'issue' | 'get' | 'list' | 'crl' | 'revoke';
const PICK: [Op, number][] = [
  ['issue', 0.5],
  ['get', 0.7],
  ['list', 0.8],
  ['crl', 0.95],
  ['revoke', 1],
];

async function main(): Promise<void> {
  const db = await freshPgDatabase(args['pg-url']!, 'privateca_soak');
  const ports = [await freePort(), await freePort()];
  const nodes = [await startNode(ports[0]!, db.url, 0), await startNode(ports[1]!, db.url, 1)];
  const listen = await freePort();
  const haproxy = spawn('haproxy', ['-db', '-f', path.join(REPO, 'deploy/haproxy.cfg')], {
    env: { PATH: process.env.PATH, PRIVATECA_LISTEN: `127.0.0.1:${listen}`, PRIVATECA_NODE1: `127.0.0.1:${ports[0]}`, PRIVATECA_NODE2: `127.0.0.1:${ports[1]}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const front = `http://127.0.0.1:${listen}`;
  for (const deadline = Date.now() + 20_000; !(await fetch(`${front}/readyz`).then((r) => r.ok, () => false)); await sleep(200)) {
    if (Date.now() > deadline) throw new Error('haproxy does not answer');
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const call = (method: string, p: string, body?: unknown) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(`${front}${p}`, { method, agent, headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });

  const ca = await call('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Soak Root' }, keyAlgorithm: 'EC_prime256v1', revocation: { crl: { enabled: true } } });
  if (ca.status !== 201) throw new Error(`creating the CA: ${ca.status} ${ca.body}`);
  const caId = (JSON.parse(ca.body.toString()) as { id: string }).id;
  const csrs = Array.from({ length: 8 }, (_, i) => makeCsrPem(`soak-${i}.example.internal`));

  const issued: { serial: string; certificate: string }[] = [];
  const revoked = new Set<string>();
  const latencies: Record<Op, number[]> = { issue: [], get: [], list: [], crl: [], revoke: [] };
  const failures: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const fail = (what: string) => (failures[what] = (failures[what] ?? 0) + 1);
  const start = Date.now();
  const end = start + SECONDS * 1000;
  const events: { at: number; what: string }[] = [];

  const client = async () => {
    while (Date.now() < end) {
      const r = Math.random();
      let op = PICK.find(([, p]) => r < p)![0];
      if ((op === 'get' || op === 'revoke') && issued.length === 0) op = 'issue';
      const t0 = performance.now();
      try {
        let res: { status: number; body: Buffer };
        if (op === 'issue') {
          res = await call('POST', `/v1/cas/${caId}/certificates`, { csr: csrs[issued.length % csrs.length], validity: { days: 1 } });
          if (res.status === 201) issued.push(JSON.parse(res.body.toString()));
        } else if (op === 'get') {
          res = await call('GET', `/v1/cas/${caId}/certificates/${issued[Math.floor(Math.random() * issued.length)]!.serial}`);
        } else if (op === 'list') {
          res = await call('GET', `/v1/cas/${caId}/certificates?limit=50`);
        } else if (op === 'crl') {
          res = await call('GET', `/crl/${caId}.crl`);
          // No CRL yet in the first second or two of the run: that is not an error.
          if (res.status === 404 && revoked.size === 0) res.status = 200;
        } else {
          const serial = issued[Math.floor(Math.random() * issued.length)]!.serial;
          res = await call('POST', `/v1/cas/${caId}/certificates/${serial}/revoke`, { reason: 'SUPERSEDED' });
          if (res.status === 200) revoked.add(serial);
          // Another client revoked it first.
          if (res.status === 409) res.status = 200;
        }
        statuses[`${op} ${res.status}`] = (statuses[`${op} ${res.status}`] ?? 0) + 1;
        if (res.status >= 400) fail(`${op} ${res.status}`);
      } catch (e) {
        fail(`${op} ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      latencies[op].push(performance.now() - t0);
    }
  };

  const faults = (async () => {
    await sleep(SECONDS * 333);
    events.push({ at: Date.now() - start, what: 'node 1: SIGTERM (graceful restart)' });
    process.kill(-nodes[0]!.child.pid!, 'SIGTERM');
    await nodes[0]!.exited;
    nodes[0] = await startNode(ports[0]!, db.url, 0);
    events.push({ at: Date.now() - start, what: 'node 1: ready again' });
    await sleep(Math.max(0, start + SECONDS * 667 - Date.now()));
    events.push({ at: Date.now() - start, what: 'node 2: SIGKILL (the whole process group)' });
    process.kill(-nodes[1]!.child.pid!, 'SIGKILL');
    await nodes[1]!.exited;
    nodes[1] = await startNode(ports[1]!, db.url, 1);
    events.push({ at: Date.now() - start, what: 'node 2: ready again' });
  })();
  await Promise.all([...Array.from({ length: CONCURRENCY }, client), faults]);
  const elapsed = (Date.now() - start) / 1000;

  // The checks.
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const rows = (await c.query<{ serial: string; der: Buffer; status: string }>('SELECT serial, der, status FROM certificates WHERE ca_id = $1', [caId])).rows;
  const stored = new Map(rows.map((x) => [x.serial, x]));
  const missing = issued.filter((a) => stored.get(a.serial)?.der.toString('base64') !== a.certificate.replace(/-----[A-Z ]+-----|\s/g, '')).length;
  const notRevoked = [...revoked].filter((s) => stored.get(s)?.status !== 'REVOKED').length;
  const auditIssued = Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_events WHERE action = 'privateca:IssueCertificate' AND outcome = 'SUCCESS' AND resource = $1`, [`ca/${caId}`])).rows[0]!.n);
  await c.end();
  // The CRL the service serves lists every revocation (within the few seconds a revocation takes to reach it).
  let crlMissing = -1;
  for (const deadline = Date.now() + 30_000; crlMissing !== 0 && Date.now() < deadline; await sleep(1_000)) {
    const crl = await call('GET', `/crl/${caId}.crl`);
    const file = path.join(work, 'soak.crl');
    writeFileSync(file, crl.body);
    const text = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-text'], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
    const listed = new Set([...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase()));
    crlMissing = [...revoked].filter((s) => !listed.has(s.toLowerCase())).length;
  }
  const verify = spawnSync(process.execPath, [MAIN, 'audit-verify'], { env: { PATH: process.env.PATH, DATABASE_URL: db.url, PRIVATECA_KEK: kek, PRIVATECA_DATA_DIR: path.join(work, 'node0'), LOG_LEVEL: 'silent' }, encoding: 'utf8' });

  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!, 1) : null;
  };
  const total = Object.values(latencies).reduce((n, xs) => n + xs.length, 0);
  const result = {
    ...runInfo(),
    seconds: round(elapsed, 1),
    concurrency: CONCURRENCY,
    requests: total,
    requestsPerSecond: round(total / elapsed, 0),
    certificatesIssued: issued.length,
    revoked: revoked.size,
    errors: failures,
    errorCount: Object.values(failures).reduce((a, b) => a + b, 0),
    byOperation: Object.fromEntries(
      (Object.keys(latencies) as Op[]).map((op) => [op, { requests: latencies[op].length, p50Ms: pct(latencies[op], 50), p99Ms: pct(latencies[op], 99), maxMs: pct(latencies[op], 100) }]),
    ),
    statuses,
    events,
    checks: {
      acknowledgedMissingOrDifferent: missing,
      serialsUnique: stored.size === rows.length,
      acknowledgedRevocationsNotRevoked: notRevoked,
      acknowledgedRevocationsMissingFromCrl: crlMissing,
      auditIssueEvents: auditIssued,
      storedCertificates: rows.length,
      auditVerify: verify.status === 0 ? 'ok' : `failed: ${verify.stdout.slice(0, 300)}`,
    },
  };
  console.log(JSON.stringify(result, null, 2));
  writeResult(args.out!, result);
  haproxy.kill('SIGTERM');
  for (const n of nodes) process.kill(-n.child.pid!, 'SIGTERM');
  await Promise.all(nodes.map((n) => n.exited));
  agent.destroy();
  await db.drop();
  rmSync(work, { recursive: true, force: true });
  const ok = missing === 0 && notRevoked === 0 && crlMissing === 0 && verify.status === 0 && auditIssued === rows.length && stored.size === rows.length;
  process.exitCode = ok ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
