/**
 * Issuance benchmark: drives the real service over HTTP with N concurrent clients issuing from a
 * P-256 CA with fresh P-256 CSRs, against PostgreSQL on this machine, and prints certificates/s
 * and p50/p99 latency. Every 201 means the certificate and its audit event were committed.
 *
 *   npm run bench:issue -- [--concurrency 16] [--duration 15] [--workers 2] [--database pg|pglite]
 *                          [--key-store software|pkcs11|software,pkcs11] [--pkcs11-sign async|sync]
 *                          [--principal admin|restricted|admin,restricted] [--audit-sealer on|off|off,on,…]
 *                          [--url http://… --token …]
 *
 * `--key-store software,pkcs11` measures both, one after the other, in the same run; so does
 * `--principal admin,restricted` (the administrator, then a principal restricted by a policy), and
 * `--audit-sealer off,on` (PRIVATECA_AUDIT_SEALER: the audit chain sealed while issuing, or not; a
 * list may repeat, off,on,off,on, to see the noise). pkcs11 uses the
 * token in PRIVATECA_PKCS11_* when set, otherwise a fresh SoftHSM2 token made for the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { makeCsrPem } from './csr-factory.ts';
import { BenchConnection } from './http-client.ts';
import { createSoftHsm } from '../test/support/softhsm.ts';

const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '16' },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    workers: { type: 'string', default: String(os.availableParallelism()) },
    database: { type: 'string', default: 'pg' },
    'key-store': { type: 'string', default: 'software' },
    /** Who issues: the administrator, or a service principal whose policy has conditions on template, names, validity and the CA's tags. */
    principal: { type: 'string', default: 'admin' },
    /** PRIVATECA_AUDIT_SEALER: whether the service seals audit events into the chain while it issues. */
    'audit-sealer': { type: 'string', default: 'on' },
    /** PRIVATECA_PKCS11_SIGN for the SoftHSM2 token made for the run: sync suits an in-process module. */
    'pkcs11-sign': { type: 'string', default: 'sync' },
    url: { type: 'string' },
    token: { type: 'string' },
    'pg-url': { type: 'string', default: process.env.PRIVATECA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    out: { type: 'string', default: 'bench/results/issue-latest.json' },
  },
});

const concurrency = Number(args.concurrency);
const duration = Number(args.duration) * 1000;
const warmup = Number(args.warmup) * 1000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function request(base: string, token: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      base + p,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function startService(keyStore: string, sealer: string): Promise<{ base: string; token: string; child?: ChildProcess; databaseUrl?: string; cleanup(): Promise<void> }> {
  if (args.url) return { base: args.url, token: args.token ?? '', cleanup: async () => {} };
  const token = 'pca_bench_' + randomBytes(16).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'privateca-bench-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PRIVATECA_AUDIT_SEALER: sealer,
    PRIVATECA_DATA_DIR: dataDir,
    PRIVATECA_BOOTSTRAP_TOKEN: token,
    LOG_LEVEL: 'warn',
    PORT: String(await freePort()),
  };
  let dropDb = async () => {};
  let dropToken = async () => {};
  if (keyStore === 'pkcs11' && !env.PRIVATECA_PKCS11_MODULE) {
    const hsm = await createSoftHsm('bench');
    Object.assign(env, hsm.env, { PRIVATECA_PKCS11_SIGN: args['pkcs11-sign'] });
    dropToken = hsm.cleanup;
  }
  if (args.database === 'pg') {
    const name = `privateca_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: args['pg-url'] });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const sc = (await admin.query('SHOW synchronous_commit')).rows[0].synchronous_commit;
    const fsync = (await admin.query('SHOW fsync')).rows[0].fsync;
    console.log(`PostgreSQL: synchronous_commit=${sc} fsync=${fsync}`);
    await admin.end();
    env.DATABASE_URL = args['pg-url']!.replace(/\/[^/]*$/, `/${name}`);
    env.PRIVATECA_WORKERS = args.workers;
    dropDb = async () => {
      const c = new pg.Client({ connectionString: args['pg-url'] });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    env.PRIVATECA_WORKERS = '1';
  }
  // As `npm start` runs it: the compiled dist/src/main.js next to this compiled file; from sources under tsx otherwise.
  const entry = import.meta.url.endsWith('.ts') ? ['--import', 'tsx', 'src/main.ts'] : [fileURLToPath(new URL('../src/main.js', import.meta.url))];
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...entry], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${env.PORT}`;
  for (let i = 0; ; i++) {
    try {
      if ((await request(base, token, 'GET', '/healthz')).status === 200) break;
    } catch {}
    if (i > 600) throw new Error('service did not become healthy');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    token,
    child,
    databaseUrl: env.DATABASE_URL,
    async cleanup() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await dropDb();
      await dropToken();
    },
  };
}

/** CPU seconds (user+system) used so far by processes whose command line matches. */
function cpuSeconds(match: (pid: number, cmd: string) => boolean): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      if (!match(Number(d), cmd) && !match(ppid, '')) continue;
      total += (Number(f[11]) + Number(f[12])) / tick;
    } catch {}
  }
  return total;
}

/** RSS and peak RSS (VmHWM) in MB of a process and its children, summed. */
function serviceMemory(pid: number): { rss: number; peak: number } {
  let rss = 0;
  let peak = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      if (Number(d) !== pid && ppid !== pid) continue;
      rss += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
      peak += Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
    } catch {}
  }
  return { rss: Math.round(rss), peak: Math.round(peak) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main() {
  const expected = Math.ceil(((duration + warmup) / 1000) * 4000);
  process.stdout.write(`making ${expected} fresh P-256 CSRs… `);
  const t0 = Date.now();
  const csrs = Array.from({ length: expected }, (_, i) => makeCsrPem(`host-${i}.bench.internal`));
  console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const results = [];
  for (const keyStore of args['key-store']!.split(',')) {
    for (const principal of args.principal!.split(',')) {
      if (principal !== 'admin' && principal !== 'restricted') throw new Error('--principal is admin, restricted or both');
      for (const sealer of args['audit-sealer']!.split(',')) {
        if (sealer !== 'on' && sealer !== 'off') throw new Error('--audit-sealer is a list of on and off');
        results.push(await run(keyStore, principal, sealer, csrs));
      }
    }
  }
  mkdirSync(path.dirname(args.out!), { recursive: true });
  writeFileSync(args.out!, JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + '\n');
  if (results.some((r) => r.errors)) process.exitCode = 1;
  agent.destroy();
}

/** One measurement: a fresh service and CA on `keyStore`, the clients for warmup + duration. */
/** The policy of `--principal restricted`: what a real service principal's policy looks like. */
const RESTRICTED_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'BenchIssuer',
      Effect: 'Allow',
      Action: 'privateca:IssueCertificate',
      Resource: 'ca/*',
      Condition: {
        StringEquals: { 'privateca:Template': 'EndEntityCertificate/V1', 'privateca:ResourceTag/team': 'bench' },
        'ForAllValues:StringLike': { 'privateca:DnsNames': ['*.bench.internal'] },
        StringLikeIfExists: { 'privateca:CommonName': ['*.bench.internal'] },
        Null: { 'privateca:DnsNames': 'false', 'privateca:IpAddresses': 'true' },
        NumericLessThanEquals: { 'privateca:ValidityDays': 30 },
        StringLike: { 'privateca:KeyAlgorithm': ['EC_prime256v1', 'RSA_*'] },
      },
    },
  ],
};

/** A token of a principal whose only policy is RESTRICTED_POLICY. */
async function restrictedToken(base: string, adminToken: string): Promise<string> {
  const policy = await request(base, adminToken, 'POST', '/v1/policies', { name: 'bench-issuer', document: RESTRICTED_POLICY });
  if (policy.status !== 201) throw new Error(`creating the policy failed: ${JSON.stringify(policy.body)}`);
  const principal = await request(base, adminToken, 'POST', '/v1/principals', { name: 'bench-svc', policies: [policy.body.id] });
  const token = await request(base, adminToken, 'POST', `/v1/principals/${principal.body.id}/tokens`, {});
  if (token.status !== 201) throw new Error(`creating the token failed: ${JSON.stringify(token.body)}`);
  return token.body.token;
}

async function run(keyStore: string, principal: 'admin' | 'restricted', sealer: 'on' | 'off', csrs: string[]) {
  const svc = await startService(keyStore, sealer);
  try {
    const ca = await request(svc.base, svc.token, 'POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: 'Bench Root', organization: 'privateca bench' },
      keyAlgorithm: 'EC_prime256v1',
      keyStore: { type: keyStore },
      revocation: { crl: { enabled: true, baseUrl: 'http://crl.bench.internal' } },
      tags: { team: 'bench' },
    });
    if (ca.status !== 201) throw new Error(`creating the CA failed: ${JSON.stringify(ca.body)}`);
    const caPath = `/v1/cas/${ca.body.id}/certificates`;
    const token = principal === 'admin' ? svc.token : await restrictedToken(svc.base, svc.token);

    let next = 0;
    let measuring = false;
    let stop = false;
    const latencies: number[] = [];
    let errors = 0;
    let firstError: unknown;
    const { hostname, port } = new URL(svc.base);
    const auth = { authorization: `Bearer ${token}` };
    const client = async () => {
      const conn = new BenchConnection(hostname, Number(port));
      while (!stop) {
        const csr = csrs[next++ % csrs.length]!;
        const start = process.hrtime.bigint();
        const r = await conn.request('POST', caPath, auth, JSON.stringify({ csr, validity: { days: 30 } }));
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (r.status !== 201) {
          errors++;
          firstError ??= r.body;
        } else if (measuring) latencies.push(ms);
      }
      conn.close();
    };
    const clients = Array.from({ length: concurrency }, client);
    await new Promise((r) => setTimeout(r, warmup));
    const servicePid = svc.child?.pid ?? -1;
    const isService = (pid: number) => pid === servicePid;
    const isPostgres = (_pid: number, cmd: string) => cmd.startsWith('postgres:');
    const cpu0 = { service: cpuSeconds(isService), postgres: cpuSeconds(isPostgres), bench: process.cpuUsage() };
    measuring = true;
    const mStart = Date.now();
    await new Promise((r) => setTimeout(r, duration));
    measuring = false;
    const benchCpu = process.cpuUsage(cpu0.bench);
    const cpu = {
      service: cpuSeconds(isService) - cpu0.service,
      postgres: cpuSeconds(isPostgres) - cpu0.postgres,
      client: (benchCpu.user + benchCpu.system) / 1e6,
    };
    const elapsed = (Date.now() - mStart) / 1000;
    stop = true;
    await Promise.all(clients);
    const memory = serviceMemory(servicePid);
    // How far behind the sealer is when the load stops: the audit chain keeps up, or it does not.
    let unsealedAtEnd: number | undefined;
    if (svc.databaseUrl) {
      const c = new pg.Client({ connectionString: svc.databaseUrl });
      await c.connect();
      unsealedAtEnd = Number((await c.query('SELECT count(*) AS n FROM audit_events WHERE seq IS NULL')).rows[0].n);
      await c.end();
    }

    latencies.sort((a, b) => a - b);
    const result = {
      when: new Date().toISOString(),
      machine: `${os.cpus()[0]?.model} × ${os.availableParallelism()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
      node: process.version,
      database: args.database,
      workers: args.database === 'pg' ? Number(args.workers) : 1,
      keyStore,
      principal,
      auditSealer: sealer,
      unsealedAtEnd,
      pkcs11Sign: keyStore === 'pkcs11' ? args['pkcs11-sign'] : undefined,
      concurrency,
      seconds: Math.round(elapsed * 10) / 10,
      certificates: latencies.length,
      certificatesPerSecond: Math.round(latencies.length / elapsed),
      p50ms: Math.round(percentile(latencies, 50) * 100) / 100,
      p99ms: Math.round(percentile(latencies, 99) * 100) / 100,
      errors,
      /** Resident memory of the service's processes (the primary and its workers) at the end, and their peaks. */
      serviceRssMB: memory,
      // CPU time per certificate: less sensitive than certificates/s to whatever else runs here.
      cpuMicrosecondsPerCertificate: {
        service: Math.round((cpu.service / latencies.length) * 1e6),
        postgres: Math.round((cpu.postgres / latencies.length) * 1e6),
        benchClient: Math.round((cpu.client / latencies.length) * 1e6),
      },
    };
    console.log(
      `${result.certificatesPerSecond} certificates/s, p50 ${result.p50ms} ms, p99 ${result.p99ms} ms ` +
        `(${result.certificates} in ${result.seconds} s, concurrency ${concurrency}, ${result.workers} worker(s), ${args.database}, ${keyStore} key, ${principal} principal, audit sealer ${sealer}${unsealedAtEnd === undefined ? '' : `, ${unsealedAtEnd} events unsealed at the end`}, ${errors} errors)`,
    );
    console.log(`service memory: RSS ${memory.rss} MB at the end, peak ${memory.peak} MB (all its processes)`);
    console.log(`CPU per certificate: service ${result.cpuMicrosecondsPerCertificate.service} µs, PostgreSQL ${result.cpuMicrosecondsPerCertificate.postgres} µs, bench client ${result.cpuMicrosecondsPerCertificate.benchClient} µs`);
    if (errors) console.error('first error:', firstError);
    return result;
  } finally {
    await svc.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
