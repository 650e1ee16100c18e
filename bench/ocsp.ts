/**
 * OCSP responder benchmark: answers/s and latency of the service's OCSP responder (GET, RFC 6960
 * A.1) with its answer cache warm and with it disabled, and of `openssl ocsp` answering the same
 * requests from an index.txt on the same machine.
 *
 *   npm run bench:ocsp -- [--concurrency 16] [--duration 10] [--warmup 3] [--certificates 20000]
 *                         [--workers 2] [--openssl-multi <workers>] [--phases warm,cold,openssl]
 *                         [--service-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"]
 *                         [--pg-url postgres://…/postgres] [--out bench/results/ocsp-latest.json]
 *
 * Setup: the compiled service (dist/) on a fresh PostgreSQL database with PRIVATECA_WORKERS, a ROOT
 * EC_prime256v1 CA with revocation.ocsp enabled, --certificates certificates issued (2 days) and 5 %
 * of them revoked (keyCompromise), all over raw keep-alive connections. For every issued serial and
 * 1 % never-issued random serials: the DER OCSPRequest (SHA-1 CertID, no nonce; three of them
 * compared byte for byte with what `openssl ocsp -issuer -serial -no_nonce -reqout` makes) and its
 * GET request, built once before any load.
 *
 * Load: --concurrency connections, each sending one request at a time and the next as soon as the
 * answer is in; each request is for a random entry of the good (weight 95), revoked (5) or unknown
 * (1) pool. Raw sockets, the request bytes made before the run, the answer parsed in place (bench/
 * ocsp-request.ts) — the client's CPU share is printed so that one can see it is not the limit.
 * Every answer is checked (HTTP 200, Content-Type application/ocsp-response, one SingleResponse for
 * the CertID asked, the status expected, for revoked ones the revocation time and keyCompromise);
 * a sample of each phase's answers, and one good, revoked and unknown answer before each phase is
 * timed, are also given to `openssl ocsp -respin` (signature, validity times, status). Wrong answers
 * and non-200s are errors, printed, and never counted as answers.
 *
 * Phases:
 *   privateca warm  every entry asked once, then the mixed load for --warmup s and on until 99 % of the
 *                   answers of a second are pre-signed ones reused (each worker of a cluster keeps its
 *                   own, so the one pass filled only one worker's per serial; at most a minute more),
 *                   then --duration s measured
 *   privateca cold  the service restarted with PRIVATECA_OCSP_CACHE_MB=0 (no answer cache: each answer
 *                   read from the database and signed), --warmup s, then --duration s
 * For both, the share of measured answers that were reused comes from the service's
 * privateca_ocsp_responses_total{cached} (GET /metrics), read before and after the measurement.
 *   openssl         `openssl ocsp -index index.txt -rsigner r.pem -rkey r.key -CA ca.pem -multi N
 *                   -nmin 60`, r.pem an OCSPSigningCertificate/V1 issued by the same CA; GET /<base64>
 *                   (it serves no path prefix), HTTP/1.0, one connection per answer (it does not
 *                   keep connections alive, so each request includes a TCP connect)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeCsrPem } from './csr-factory.ts';
import { BenchConnection } from './http-client.ts';
import { freshPgDatabase, round, runInfo, sleep, writeResult } from './measure.ts';
import {
  answerError,
  checkAnswer,
  generalizedDigits,
  GOOD,
  issuerIds,
  ocspGetPath,
  ocspRequest,
  REVOKED,
  serialInteger,
  STATUS_NAMES,
  UNKNOWN,
  type IssuerIds,
} from './ocsp-request.ts';

const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '16' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    certificates: { type: 'string', default: '20000' },
    workers: { type: 'string', default: String(os.availableParallelism()) },
    'openssl-multi': { type: 'string' },
    phases: { type: 'string', default: 'warm,cold,openssl' },
    /** The environment variable that disables the service's answer cache (set to 0 in the cold phase). */
    'cache-env': { type: 'string', default: 'PRIVATECA_OCSP_CACHE_MB' },
    /** Node options for the service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (its workers inherit them). */
    'service-node-args': { type: 'string', default: '' },
    'pg-url': { type: 'string', default: process.env.PRIVATECA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    out: { type: 'string', default: 'bench/results/ocsp-latest.json' },
    'keep-work': { type: 'boolean', default: false },
  },
});
const CONCURRENCY = Number(args.concurrency);
const DURATION_MS = Number(args.duration) * 1000;
const WARMUP_MS = Number(args.warmup) * 1000;
const CERTIFICATES = Number(args.certificates);
const WORKERS = Number(args.workers);
const OPENSSL_MULTI = Number(args['openssl-multi'] ?? args.workers);
const PHASES = args.phases!.split(',');
const CACHE_ENV = args['cache-env']!;
for (const [name, v] of Object.entries({ concurrency: CONCURRENCY, certificates: CERTIFICATES, workers: WORKERS, 'openssl-multi': OPENSSL_MULTI })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
}
if (!(DURATION_MS > 0) || !(WARMUP_MS >= 0)) throw new Error('--duration must be positive and --warmup not negative');
for (const p of PHASES) if (!['warm', 'cold', 'openssl'].includes(p)) throw new Error('--phases is a list of warm, cold, openssl');

const REVOKED_SHARE = 0.05;
const UNKNOWN_SHARE = 0.01;
const WEIGHTS = { good: 95, revoked: 5, unknown: 1 };
const SAMPLES_PER_STATUS = 4;
const SAMPLE_EVERY = 4001;
const SAMPLE_MAX = 24;

const work = mkdtempSync(path.join(os.tmpdir(), 'privateca-bench-ocsp-'));
const notes: string[] = [];
const note = (s: string) => {
  notes.push(s);
  console.log(`note: ${s}`);
};

// ---------------------------------------------------------------------------------------------
// Processes: the service, openssl, and what they cost
// ---------------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  cpu: number;
  /** Of cpu: in the kernel. */
  sys: number;
}
function readProcs(): Map<number, ProcInfo> {
  const out = new Map<number, ProcInfo>();
  for (const d of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const f = stat.slice(close + 2).split(' ');
      out.set(Number(d), { pid: Number(d), ppid: Number(f[1]), comm: stat.slice(stat.indexOf('(') + 1, close), cpu: (Number(f[11]) + Number(f[12])) / 100, sys: Number(f[12]) / 100 });
    } catch {}
  }
  return out;
}
/** A process and its descendants. */
function tree(procs: Map<number, ProcInfo>, root: number): ProcInfo[] {
  const all = [...procs.values()];
  const out: ProcInfo[] = [];
  const walk = (pid: number) => {
    const p = procs.get(pid);
    if (!p) return;
    out.push(p);
    for (const c of all) if (c.ppid === pid) walk(c.pid);
  };
  walk(root);
  return out;
}
interface CpuSnapshot {
  procs: Map<number, ProcInfo>;
  /** /proc/stat's first line in seconds: user nice system idle iowait irq softirq steal. */
  machine: number[];
}
/** CPU seconds so far of every process and of the machine. */
function cpuSnapshot(): CpuSnapshot {
  const machine = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map((x) => Number(x) / 100);
  return { procs: readProcs(), machine };
}
/** CPU seconds that the processes `which` picks used between two snapshots (those that exited in between are lost). */
function usedBetween(a: CpuSnapshot, b: CpuSnapshot, which: (p: ProcInfo) => boolean, field: 'cpu' | 'sys' = 'cpu'): number {
  let s = 0;
  for (const p of b.procs.values()) if (which(p)) s += p[field] - (a.procs.get(p.pid)?.[field] ?? 0);
  return s;
}
/** Where the CPU went between two snapshots, in cores (CPU seconds per second). */
function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, seconds: number, client: NodeJS.CpuUsage, serverPid: number, answers: number) {
  const clientSeconds = (client.user + client.system) / 1e6;
  const d = b.machine.map((x, i) => x - a.machine[i]!);
  const total = d.reduce((s, x) => s + x, 0);
  const busy = total - d[3]! - d[4]!;
  const cores = (x: number) => round(x / seconds, 3);
  const server = new Set(tree(b.procs, serverPid).map((p) => p.pid));
  const others: { pid: number; comm: string; cores: number }[] = [];
  for (const p of b.procs.values()) {
    if (server.has(p.pid) || p.pid === process.pid || p.comm === 'postgres') continue;
    const delta = p.cpu - (a.procs.get(p.pid)?.cpu ?? 0);
    if (delta > 0.02 * seconds) others.push({ pid: p.pid, comm: p.comm, cores: cores(delta) });
  }
  others.sort((x, y) => y.cores - x.cores);
  return {
    clientCoreShare: cores(clientSeconds),
    clientMachineShare: round(clientSeconds / seconds / os.availableParallelism(), 3),
    clientSystemCores: cores(client.system / 1e6),
    serverCores: cores(usedBetween(a, b, (p) => server.has(p.pid))),
    serverSystemCores: cores(usedBetween(a, b, (p) => server.has(p.pid), 'sys')),
    postgresCores: cores(usedBetween(a, b, (p) => p.comm === 'postgres')),
    /** CPU time per right answer, µs: less sensitive than answers/s to what else runs here. */
    microsecondsPerAnswer: {
      server: Math.round((usedBetween(a, b, (p) => server.has(p.pid)) / answers) * 1e6),
      postgres: Math.round((usedBetween(a, b, (p) => p.comm === 'postgres') / answers) * 1e6),
      client: Math.round((clientSeconds / answers) * 1e6),
    },
    machineBusy: round(busy / total, 3),
    machineCores: { user: cores(d[0]! + d[1]!), system: cores(d[2]!), softirq: cores(d[5]! + d[6]!), steal: cores(d[7]!), idle: cores(d[3]! + d[4]!) },
    /** Other processes that used more than 2 % of a core: what else competed for the CPUs. */
    otherProcesses: others.slice(0, 5),
  };
}
/** VmRSS of a process and its descendants, in MB, each and summed. */
function treeRss(root: number): { totalMB: number; processes: { pid: number; role: string; rssMB: number }[] } {
  const processes = tree(readProcs(), root).map((p) => {
    let rss = 0;
    try {
      rss = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {}
    return { pid: p.pid, role: p.pid === root ? 'primary' : 'worker', rssMB: round(rss / 1024, 1) };
  });
  return { totalMB: round(processes.reduce((s, p) => s + p.rssMB, 0), 1), processes };
}

function vitestRunning(): boolean {
  for (const d of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('vitest')) return true;
    } catch {}
  }
  return false;
}

/** Stops a process tree that this benchmark started: SIGTERM to each, SIGKILL to what is left after `graceMs`. */
async function stopTree(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const pids = tree(readProcs(), child.pid!).map((p) => p.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  const timer = setTimeout(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

interface Service {
  child: ChildProcess;
  port: number;
  base: string;
  env: Record<string, string>;
}
const token = 'pca_bench_' + randomBytes(16).toString('hex');
const kek = randomBytes(32).toString('base64');
const dataDir = path.join(work, 'data');

async function startService(port: number, databaseUrl: string, extraEnv: Record<string, string> = {}): Promise<Service> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: databaseUrl,
    PRIVATECA_WORKERS: String(WORKERS),
    PRIVATECA_DATA_DIR: dataDir,
    PRIVATECA_KEK: kek,
    PRIVATECA_BOOTSTRAP_TOKEN: token,
    LOG_LEVEL: 'warn',
    PORT: String(port),
    ...extraEnv,
  };
  const entry = import.meta.url.endsWith('.ts') ? ['--import', 'tsx', 'src/main.ts'] : [fileURLToPath(new URL('../src/main.js', import.meta.url))];
  const nodeArgs = args['service-node-args']!.split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...entry], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} while starting`);
    try {
      if ((await fetch(base + '/healthz')).status === 200) break;
    } catch {}
    if (i > 600) throw new Error('the service did not become healthy');
    await sleep(100);
  }
  return { child, port, base, env: extraEnv };
}

async function api(svc: Service, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(svc.base + p, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: res.status, body: parsed };
}

/**
 * privateca_ocsp_responses_total from GET /metrics (all workers'): answers so far, and how many of
 * them were pre-signed answers reused. Undefined when the service does not count them.
 */
async function ocspCounts(base: string): Promise<{ total: number; cached: number } | undefined> {
  try {
    const text = await (await fetch(base + '/metrics')).text();
    let total = 0;
    let cached = 0;
    let seen = false;
    for (const m of text.matchAll(/^privateca_ocsp_responses_total\{([^}]*)\} ([0-9.e+]+)$/gm)) {
      seen = true;
      const n = Number(m[2]);
      total += n;
      if (/cached="true"/.test(m[1]!)) cached += n;
    }
    return seen ? { total, cached } : undefined;
  } catch {
    return undefined;
  }
}
/**
 * privateca_ocsp_cache_entries and _bytes from GET /metrics (the service's own estimate of its
 * answer cache), and the V8 heap (used and total) and external memory of the workers: what of the
 * RSS is live data and what is heap V8 has grown and kept.
 */
async function cacheGauges(base: string): Promise<{ entries?: number; bytes?: number; heapUsed?: number; heapTotal?: number; external?: number }> {
  try {
    const text = await (await fetch(base + '/metrics')).text();
    const sum = (name: string) => {
      let total: number | undefined;
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))) total = (total ?? 0) + Number(m[1]);
      return total;
    };
    return {
      entries: sum('privateca_ocsp_cache_entries'),
      bytes: sum('privateca_ocsp_cache_bytes'),
      heapUsed: sum('privateca_nodejs_heap_size_used_bytes'),
      heapTotal: sum('privateca_nodejs_heap_size_total_bytes'),
      external: sum('privateca_nodejs_external_memory_bytes'),
    };
  } catch {
    return {};
  }
}
const mb = (bytes?: number) => (bytes === undefined ? '?' : round(bytes / 2 ** 20, 1));
const cachedShare = (a?: { total: number; cached: number }, b?: { total: number; cached: number }) =>
  a && b && b.total > a.total ? round((b.cached - a.cached) / (b.total - a.total), 4) : undefined;

function openssl(argv: string[], input?: Buffer): { status: number; out: string } {
  const r = spawnSync('openssl', argv, { cwd: work, input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

// ---------------------------------------------------------------------------------------------
// The load generator
// ---------------------------------------------------------------------------------------------

const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const H_LENGTH = Buffer.from('content-length:');
const H_TYPE = Buffer.from('content-type:');
const H_CONNECTION = Buffer.from('connection:');
const OCSP_TYPE = Buffer.from('application/ocsp-response');
const CLOSE = Buffer.from('close');

// What parseHead read last (module state: parsing makes no objects).
let rStatus = 0;
let rBodyStart = 0;
let rBodyEnd = 0;
let rClose = false;
let rTypeOk = false;

/** Case-insensitive: does the header line at b[p, le) start with `name` (lowercase, with its colon)? */
function nameIs(b: Buffer, p: number, le: number, name: Buffer): boolean {
  if (le - p < name.length) return false;
  for (let i = 0; i < name.length; i++) if ((b[p + i]! | 0x20) !== name[i]) return false;
  return true;
}
/** Is the header value at b[v, le), without surrounding spaces, `value` (lowercase) case-insensitively? */
function valueIs(b: Buffer, v: number, le: number, value: Buffer): boolean {
  while (v < le && b[v] === 0x20) v++;
  while (le > v && b[le - 1] === 0x20) le--;
  if (le - v !== value.length) return false;
  for (let i = 0; i < value.length; i++) if ((b[v + i]! | 0x20) !== (value[i]! | 0x20)) return false;
  return true;
}
/**
 * Parses a response head in b: the length of the whole response when it is all there, -1 when more
 * is to come, -2 when it is not an HTTP/1.x response with a Content-Length.
 */
function parseHead(b: Buffer): number {
  const he = b.indexOf(CRLF2);
  if (he < 0) return b.length > 16384 ? -2 : -1;
  if (he < 12 || b[0] !== 0x48 || b[5] !== 0x31) return -2;
  rStatus = (b[9]! - 48) * 100 + (b[10]! - 48) * 10 + (b[11]! - 48);
  rClose = b[7] === 0x30; // HTTP/1.0 closes (we never ask it to keep the connection)
  rTypeOk = false;
  let length = -1;
  let p = b.indexOf(CRLF) + 2;
  while (p < he) {
    let le = b.indexOf(CRLF, p);
    if (le < 0 || le > he) le = he;
    if (nameIs(b, p, le, H_LENGTH)) {
      length = 0;
      for (let i = p + H_LENGTH.length; i < le; i++) {
        const c = b[i]!;
        if (c >= 48 && c <= 57) length = length * 10 + c - 48;
      }
    } else if (nameIs(b, p, le, H_TYPE)) rTypeOk = valueIs(b, p + H_TYPE.length, le, OCSP_TYPE);
    else if (nameIs(b, p, le, H_CONNECTION) && valueIs(b, p + H_CONNECTION.length, le, CLOSE)) rClose = true;
    p = le + 2;
  }
  if (length < 0) return -2;
  rBodyStart = he + 4;
  rBodyEnd = rBodyStart + length;
  return b.length >= rBodyEnd ? rBodyEnd : -1;
}

/** The benchmark's view of its entries: what to send, what to expect. */
interface Entries {
  serialHex: string[];
  serialInt: Buffer[];
  der: Buffer[];
  expected: Uint8Array;
  revocationTime: (Buffer | undefined)[];
  notAfter: Date[];
  pools: { good: Int32Array; revoked: Int32Array; unknown: Int32Array };
}

/** Latencies in a histogram (no per-request allocation): 1 µs buckets to 100 ms, 100 µs buckets to 10 s. */
class Histogram {
  fine = new Uint32Array(100_000);
  coarse = new Uint32Array(100_000);
  count = 0;
  max = 0;
  record(ms: number): void {
    const us = (ms * 1000) | 0;
    if (us < 100_000) this.fine[us]++;
    else this.coarse[Math.min(99_999, (us / 100) | 0)]++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }
  reset(): void {
    this.fine.fill(0);
    this.coarse.fill(0);
    this.count = 0;
    this.max = 0;
  }
  /** The p-th percentile in ms (the bucket's upper edge). */
  percentile(p: number): number {
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.fine.length; i++) if ((seen += this.fine[i]!) >= rank) return (i + 1) / 1000;
    for (let i = 0; i < this.coarse.length; i++) if ((seen += this.coarse[i]!) >= rank) return ((i + 1) * 100) / 1000;
    return NaN;
  }
}

interface Sample {
  entry: number;
  der: Buffer;
}

/**
 * One load: `concurrency` connections to 127.0.0.1:port, each sending requests[pick()] and the next
 * as soon as the answer is in (a new connection when the server closes). pick() returning -1 ends
 * that connection. Every answer is checked; while `measuring`, right answers are timed and counted.
 */
class Load {
  measuring = false;
  stopping = false;
  readonly hist = new Histogram();
  answers = 0;
  perStatus = [0, 0, 0];
  errors = 0;
  errorKinds = new Map<string, number>();
  errorExamples: string[] = [];
  connects = 0;
  samples: Sample[] = [];
  private sampleCount = [0, 0, 0];
  sampling = false;
  total = 0;

  constructor(
    private readonly port: number,
    private readonly requests: Buffer[],
    private readonly entries: Entries,
    private readonly issuer: IssuerIds,
    private readonly pick: () => number,
  ) {}

  /** Starts the connections; resolves when every one has finished (pick() gave -1, or stop()). */
  run(concurrency: number): Promise<void> {
    return Promise.all(Array.from({ length: concurrency }, () => new Promise<void>((resolve) => this.connection(resolve)))).then(() => {});
  }

  resetStats(): void {
    this.hist.reset();
    this.answers = 0;
    this.perStatus = [0, 0, 0];
    this.connects = 0;
  }

  private error(kind: string, entry: number, detail = ''): void {
    this.errors++;
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
    if (this.errorExamples.length < 10) this.errorExamples.push(`${kind}: serial ${this.entries.serialHex[entry]} (expected ${STATUS_NAMES[this.entries.expected[entry]!]})${detail ? ' ' + detail : ''}`);
  }

  private connection(done: () => void): void {
    let sock: net.Socket | null = null;
    let acc: Buffer | null = null;
    let entry = -1;
    let t0 = 0;
    let failures = 0;
    const { requests, entries, issuer } = this;

    const open = (): net.Socket => {
      const s = net.connect(this.port, '127.0.0.1');
      s.setNoDelay(true);
      s.on('data', (d: Buffer) => {
        if (s === sock) onData(d);
      });
      s.on('error', (e: NodeJS.ErrnoException) => {
        if (s !== sock) return;
        sock = null;
        if (entry >= 0) failed(`socket ${e.code ?? e.message}`);
      });
      s.on('close', () => {
        if (s !== sock) return;
        sock = null;
        if (entry >= 0) failed('connection closed before the answer');
      });
      this.connects++;
      return s;
    };
    const failed = (kind: string) => {
      const e = entry;
      entry = -1;
      acc = null;
      this.error(kind, e);
      // A server that is down would make this spin: back off after repeated failures.
      if (++failures > 50) setTimeout(next, 100);
      else setImmediate(next);
    };
    const next = () => {
      if (this.stopping) return finish();
      const e = this.pick();
      if (e < 0) return finish();
      entry = e;
      t0 = performance.now();
      sock ??= open();
      sock.write(requests[e]!);
    };
    const finish = () => {
      sock?.destroy();
      sock = null;
      done();
    };
    const onData = (d: Buffer) => {
      if (entry < 0) return; // nothing asked: a stray byte, ignored
      const b = acc === null ? d : Buffer.concat([acc, d]);
      const n = parseHead(b);
      if (n === -1) {
        acc = b;
        return;
      }
      acc = null;
      const e = entry;
      if (n === -2) {
        sock?.destroy();
        sock = null;
        return failed('malformed HTTP response');
      }
      const ms = performance.now() - t0;
      entry = -1;
      failures = 0;
      this.total++;
      if (rClose) sock = null; // the server closes it; a new connection for the next request
      const expected = entries.expected[e]!;
      if (rStatus !== 200) this.error(`HTTP ${rStatus}`, e);
      else if (!rTypeOk) this.error('Content-Type is not application/ocsp-response', e);
      else {
        const bad = checkAnswer(b, rBodyStart, rBodyEnd, issuer, entries.serialInt[e]!, expected, entries.revocationTime[e]);
        if (bad !== 0) this.error(answerError(bad), e);
        else if (this.measuring) {
          this.hist.record(ms);
          this.answers++;
          this.perStatus[expected]++;
          if (this.sampling && this.samples.length < SAMPLE_MAX && (this.sampleCount[expected]! < SAMPLES_PER_STATUS || this.answers % SAMPLE_EVERY === 0)) {
            this.sampleCount[expected]++;
            this.samples.push({ entry: e, der: Buffer.from(b.subarray(rBodyStart, rBodyEnd)) });
          }
        }
      }
      next();
    };
    next();
  }
}

/** One request on its own connection (for checks before the timing): status, Content-Type and body. */
function fetchOnce(port: number, request: Buffer): Promise<{ status: number; typeOk: boolean; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let acc = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      acc = Buffer.concat([acc, d]);
      const n = parseHead(acc);
      if (n === -1) return;
      s.destroy();
      if (n === -2) return reject(new Error(`malformed HTTP response: ${JSON.stringify(acc.subarray(0, 200).toString('latin1'))}`));
      resolve({ status: rStatus, typeOk: rTypeOk, body: Buffer.from(acc.subarray(rBodyStart, rBodyEnd)) });
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error('connection closed before the answer')));
    s.write(request);
  });
}

// ---------------------------------------------------------------------------------------------
// Checks with openssl
// ---------------------------------------------------------------------------------------------

/** `openssl ocsp -respin`: signature (chained to ca.pem), validity times, the status of `serial`. Undefined when right. */
function opensslVerdict(der: Buffer, serialHex: string, expected: number): string | undefined {
  const f = path.join(work, `answer-${serialHex}.der`);
  writeFileSync(f, der);
  const serialArg = '0x' + serialHex;
  const r = openssl(['ocsp', '-respin', f, '-CAfile', 'ca.pem', '-verify_other', 'ca.pem', '-issuer', 'ca.pem', '-serial', serialArg]);
  rmSync(f);
  const problems: string[] = [];
  if (!/Response verify OK/.test(r.out)) problems.push('signature not verified');
  if (/Status times invalid/i.test(r.out)) problems.push('thisUpdate/nextUpdate invalid');
  const m = new RegExp(`^${serialArg}: (\\w+)`, 'm').exec(r.out);
  if (!m) problems.push('no status for the serial');
  else if (m[1] !== STATUS_NAMES[expected]) problems.push(`status ${m[1]}, expected ${STATUS_NAMES[expected]}`);
  if (expected === REVOKED && !/Reason: keyCompromise/.test(r.out)) problems.push('no keyCompromise reason');
  return problems.length ? `${problems.join(', ')}: ${r.out.trim().replace(/\s*\n\s*/g, ' | ')}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Phases
// ---------------------------------------------------------------------------------------------

interface PhaseResult {
  phase: string;
  ran: boolean;
  skipped?: string;
  transport?: string;
  answersPerSecond?: number;
  p50ms?: number;
  p90ms?: number;
  p99ms?: number;
  maxms?: number;
  answers?: number;
  seconds?: number;
  mix?: Record<string, number>;
  errors: number;
  errorKinds?: Record<string, number>;
  errorExamples?: string[];
  sweep?: { answers: number; seconds: number; errors: number };
  warmupSeconds?: number;
  /** Share of the measured answers that were pre-signed answers reused (the service's metrics). */
  cachedShare?: number;
  connectionsOpened?: number;
  samplesCheckedWithOpenssl?: number;
  /** Mean size of the DER answers sampled. */
  answerBytes?: number;
  sampleProblems?: string[];
  cpu?: ReturnType<typeof cpuBetween>;
  /** Set when other work competed for the CPUs during the measurement. */
  contended?: string;
  serviceRss?: ReturnType<typeof treeRss>;
  /** privateca_ocsp_cache_entries / _bytes after the phase, summed over the workers. */
  answerCache?: Awaited<ReturnType<typeof cacheGauges>>;
  env?: Record<string, string>;
}

function makePicker(entries: Entries): () => number {
  const { good, revoked, unknown } = entries.pools;
  const total = WEIGHTS.good + WEIGHTS.revoked + WEIGHTS.unknown;
  return () => {
    const r = Math.random() * total;
    const pool = r < WEIGHTS.good ? good : r < WEIGHTS.good + WEIGHTS.revoked ? revoked : unknown;
    return pool[(Math.random() * pool.length) | 0]!;
  };
}

/** One good, one revoked, one unknown entry fetched and checked in process and by openssl; the problems found. */
async function precheck(port: number, requests: Buffer[], entries: Entries, issuer: IssuerIds): Promise<{ problems: string[]; status?: number }> {
  const problems: string[] = [];
  let firstStatus: number | undefined;
  for (const pool of [entries.pools.good, entries.pools.revoked, entries.pools.unknown]) {
    const e = pool[0]!;
    const r = await fetchOnce(port, requests[e]!);
    firstStatus ??= r.status;
    const expected = entries.expected[e]!;
    const label = `${STATUS_NAMES[expected]} serial ${entries.serialHex[e]}`;
    if (r.status !== 200) {
      problems.push(`${label}: HTTP ${r.status} ${r.body.subarray(0, 200).toString('utf8')}`);
      continue;
    }
    if (!r.typeOk) problems.push(`${label}: Content-Type is not application/ocsp-response`);
    const bad = checkAnswer(r.body, 0, r.body.length, issuer, entries.serialInt[e]!, expected, entries.revocationTime[e]);
    if (bad) problems.push(`${label}: ${answerError(bad)}`);
    const verdict = opensslVerdict(r.body, entries.serialHex[e]!, expected);
    if (verdict) problems.push(`${label}: openssl: ${verdict}`);
    else console.log(`  openssl ocsp -respin: ${label} → ${STATUS_NAMES[expected]}, Response verify OK`);
  }
  return { problems, status: firstStatus };
}

async function measurePhase(name: string, port: number, requests: Buffer[], entries: Entries, issuer: IssuerIds, serverPid: number, opts: { sweep: boolean; transport: string; metricsBase?: string; untilCached?: number }): Promise<PhaseResult> {
  console.log(`\n== ${name} ==`);
  const pre = await precheck(port, requests, entries, issuer);
  if (pre.problems.length) {
    for (const p of pre.problems) console.log(`  precheck: ${p}`);
    return { phase: name, ran: false, skipped: pre.status === 404 ? 'the OCSP route answers 404 (not implemented yet?)' : `precheck failed: ${pre.problems.join('; ')}`, errors: pre.problems.length, errorExamples: pre.problems };
  }
  const result: PhaseResult = { phase: name, ran: true, transport: opts.transport, errors: 0 };
  if (opts.sweep) {
    // Every entry once, so that every answer is in the cache (and every one of them is checked).
    let i = 0;
    const n = entries.serialHex.length;
    const sweep = new Load(port, requests, entries, issuer, () => (i < n ? i++ : -1));
    sweep.measuring = true;
    const t = performance.now();
    await sweep.run(CONCURRENCY);
    const seconds = (performance.now() - t) / 1000;
    result.sweep = { answers: sweep.answers, seconds: round(seconds, 2), errors: sweep.errors };
    console.log(`  every entry once: ${sweep.answers}/${n} right in ${seconds.toFixed(1)} s (${Math.round(sweep.answers / seconds)}/s), ${sweep.errors} errors`);
    if (sweep.errors) {
      result.errors += sweep.errors;
      result.errorKinds = Object.fromEntries(sweep.errorKinds);
      result.errorExamples = [...sweep.errorExamples];
      for (const x of sweep.errorExamples) console.log(`  error: ${x}`);
    }
  }
  const load = new Load(port, requests, entries, issuer, makePicker(entries));
  const running = load.run(CONCURRENCY);
  const warmStart = performance.now();
  await sleep(WARMUP_MS);
  if (opts.untilCached !== undefined && opts.metricsBase) {
    // A cluster's workers each keep their own answers: the sweep filled one worker's per serial.
    // Go on until nearly every answer is a reused one (at most a minute).
    let before = await ocspCounts(opts.metricsBase);
    for (let i = 0; i < 60; i++) {
      await sleep(1000);
      const now = await ocspCounts(opts.metricsBase);
      const share = cachedShare(before, now);
      before = now;
      if (share === undefined || share >= opts.untilCached) break;
      if (i % 5 === 4) console.log(`  warming: ${pct(share)} of the answers of the last second reused`);
    }
  }
  result.warmupSeconds = round((performance.now() - warmStart) / 1000, 1);
  load.resetStats();
  const errorsBefore = load.errors;
  const counts0 = opts.metricsBase ? await ocspCounts(opts.metricsBase) : undefined;
  const vitestBefore = vitestRunning();
  const cpu0 = cpuSnapshot();
  const client0 = process.cpuUsage();
  load.measuring = true;
  load.sampling = true;
  const t0 = performance.now();
  await sleep(DURATION_MS);
  load.measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const clientUsage = process.cpuUsage(client0);
  const cpu1 = cpuSnapshot();
  const vitestAfter = vitestRunning();
  load.stopping = true;
  await running;
  if (opts.metricsBase) result.cachedShare = cachedShare(counts0, await ocspCounts(opts.metricsBase));

  result.cpu = cpuBetween(cpu0, cpu1, seconds, clientUsage, serverPid, load.answers);
  const otherCores = result.cpu.otherProcesses.reduce((x, o) => x + o.cores, 0);
  if (vitestBefore || vitestAfter || otherCores > 0.15) {
    result.contended = `${vitestBefore || vitestAfter ? 'a vitest run was in progress; ' : ''}other processes used ${otherCores.toFixed(2)} cores`;
    console.log(`  WARNING: measured while other work ran here (${result.contended}); the figures are low`);
  }
  Object.assign(result, {
    answersPerSecond: Math.round(load.answers / seconds),
    p50ms: round(load.hist.percentile(50), 3),
    p90ms: round(load.hist.percentile(90), 3),
    p99ms: round(load.hist.percentile(99), 3),
    maxms: round(load.hist.max, 3),
    answers: load.answers,
    seconds: round(seconds, 2),
    mix: Object.fromEntries(STATUS_NAMES.map((s, i) => [s, load.perStatus[i]!])),
    connectionsOpened: load.connects,
  });
  result.errors += load.errors;
  if (load.errors) {
    result.errorKinds = { ...result.errorKinds, ...Object.fromEntries(load.errorKinds) };
    result.errorExamples = [...(result.errorExamples ?? []), ...load.errorExamples];
  }
  // The sample, after the timing: openssl checks signature, times and status.
  const problems: string[] = [];
  for (const s of load.samples) {
    const v = opensslVerdict(s.der, entries.serialHex[s.entry]!, entries.expected[s.entry]!);
    if (v) problems.push(`serial ${entries.serialHex[s.entry]}: ${v}`);
  }
  result.samplesCheckedWithOpenssl = load.samples.length;
  if (load.samples.length) result.answerBytes = Math.round(load.samples.reduce((x, y) => x + y.der.length, 0) / load.samples.length);
  result.sampleProblems = problems;
  result.errors += problems.length;
  console.log(
    `  ${result.answersPerSecond} answers/s, p50 ${result.p50ms} ms, p99 ${result.p99ms} ms, max ${result.maxms} ms (${load.answers} right answers in ${result.seconds} s: ` +
      `${result.mix!.good} good, ${result.mix!.revoked} revoked, ${result.mix!.unknown} unknown; ${load.connects} connections opened; answers of ${result.answerBytes} bytes)`,
  );
  if (result.cachedShare !== undefined) console.log(`  ${pct(result.cachedShare)} of the measured answers were pre-signed answers reused (privateca_ocsp_responses_total{cached="true"}), after ${result.warmupSeconds} s of warmup`);
  console.log(`  errors: ${result.errors}${load.errors - errorsBefore !== load.errors ? ` (${errorsBefore} during the warmup)` : ''}; ${load.samples.length} answers checked with openssl ocsp -respin, ${problems.length} wrong`);
  for (const [k, v] of load.errorKinds) console.log(`  error ${k}: ${v}`);
  for (const x of load.errorExamples) console.log(`  e.g. ${x}`);
  for (const p of problems) console.log(`  sample wrong: ${p}`);
  const c = result.cpu;
  console.log(
    `  CPU (cores): this client ${c.clientCoreShare.toFixed(2)} (${pct(c.clientMachineShare)} of the machine; ${c.clientSystemCores.toFixed(2)} in the kernel), server ${c.serverCores.toFixed(2)} (${c.serverSystemCores.toFixed(2)} in the kernel), PostgreSQL ${c.postgresCores.toFixed(2)}; ` +
      `machine ${pct(c.machineBusy)} busy (user ${c.machineCores.user.toFixed(2)}, system ${c.machineCores.system.toFixed(2)}, softirq ${c.machineCores.softirq.toFixed(2)}, steal ${c.machineCores.steal.toFixed(2)})` +
      (c.otherProcesses.length ? `; others: ${c.otherProcesses.map((o) => `${o.comm} ${o.cores.toFixed(2)}`).join(', ')}` : ''),
  );
  console.log(`  CPU per answer: server ${c.microsecondsPerAnswer.server} µs, PostgreSQL ${c.microsecondsPerAnswer.postgres} µs, client ${c.microsecondsPerAnswer.client} µs`);
  return result;
}
const pct = (x: number) => `${Math.round(x * 100)}%`;

// ---------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------

/** Runs `task(i)` for i in [0, n) on `concurrency` raw keep-alive connections. */
async function onConnections(port: number, n: number, task: (conn: BenchConnection, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, n) }, async () => {
      const conn = new BenchConnection('127.0.0.1', port);
      try {
        while (next < n) await task(conn, next++);
      } finally {
        conn.close();
      }
    }),
  );
}

/** YYMMDDHHMMSSZ (openssl's index.txt dates). */
const indexDate = (d: Date) => d.toISOString().slice(2, 19).replace(/[-:T]/g, '') + 'Z';

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

async function main(): Promise<void> {
  if (vitestRunning()) console.warn('WARNING: a vitest run is in progress on this machine; it competes for the CPUs');
  const info = runInfo();
  const cpus = os.cpus();
  console.log(`machine: ${cpus[0]?.model} × ${cpus.length} CPUs, node ${process.version}, ${os.type()} ${os.release()}`);
  const opensslVersion = openssl(['version']).out.trim();
  console.log(`openssl: ${opensslVersion}; work directory ${work}`);

  process.stdout.write(`making ${CERTIFICATES} fresh P-256 CSRs… `);
  let t = performance.now();
  const csrs = Array.from({ length: CERTIFICATES }, (_, i) => makeCsrPem(`host-${i}.bench.internal`));
  console.log(`${((performance.now() - t) / 1000).toFixed(1)} s`);

  const db = await freshPgDatabase(args['pg-url']!, 'privateca_bench_ocsp');
  console.log(`PostgreSQL ${db.settings.server_version}: synchronous_commit=${db.settings.synchronous_commit} fsync=${db.settings.fsync}`);
  const port = await freePort();
  let svc: Service | undefined;
  let responder: ChildProcess | undefined;
  const phases: PhaseResult[] = [];
  let rssAfterWarm: ReturnType<typeof treeRss> | undefined;
  let setup: Record<string, unknown> = {};
  try {
    svc = await startService(port, db.url);

    // The CA, with OCSP if the API knows the field yet.
    const caBody = {
      type: 'ROOT',
      subject: { commonName: 'Bench OCSP Root', organization: 'privateca bench' },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { ocsp: { enabled: true } } as Record<string, unknown>,
    };
    let ca = await api(svc, 'POST', '/v1/cas', caBody);
    let ocspField = true;
    if (ca.status === 400 && /ocsp|unrecognized|revocation/i.test(JSON.stringify(ca.body))) {
      note(`POST /v1/cas rejected revocation.ocsp (${JSON.stringify(ca.body).slice(0, 200)}); the CA is created without it`);
      ocspField = false;
      ca = await api(svc, 'POST', '/v1/cas', { ...caBody, revocation: undefined });
    }
    if (ca.status !== 201) throw new Error(`creating the CA failed: ${ca.status} ${JSON.stringify(ca.body)}`);
    const caId: string = ca.body.id;
    const caCert = await api(svc, 'GET', `/v1/cas/${caId}/certificate`);
    if (caCert.status !== 200) throw new Error(`GET the CA certificate failed: ${caCert.status}`);
    writeFileSync(path.join(work, 'ca.pem'), caCert.body.certificate);
    const issuer = issuerIds(pemToDer(caCert.body.certificate));
    console.log(`CA ${caId}: issuerNameHash ${issuer.nameHash.toString('hex')}, issuerKeyHash ${issuer.keyHash.toString('hex')}`);

    // Issuance, then revocation of 5 %.
    const issued: { serial: string; notAfter: Date }[] = new Array(CERTIFICATES);
    let failures = 0;
    let firstFailure = '';
    t = performance.now();
    const auth = { authorization: `Bearer ${token}` };
    await onConnections(port, CERTIFICATES, async (conn, i) => {
      const r = await conn.request('POST', `/v1/cas/${caId}/certificates`, auth, JSON.stringify({ csr: csrs[i], validity: { days: 2 } }));
      if (r.status !== 201) {
        failures++;
        firstFailure ||= `${r.status} ${r.body.slice(0, 300)}`;
        return;
      }
      const b = JSON.parse(r.body);
      issued[i] = { serial: b.serial, notAfter: new Date(b.notAfter) };
    });
    const issueSeconds = (performance.now() - t) / 1000;
    if (failures) throw new Error(`${failures} issuances failed, the first: ${firstFailure}`);
    console.log(`issued ${CERTIFICATES} certificates in ${issueSeconds.toFixed(1)} s (${Math.round(CERTIFICATES / issueSeconds)}/s)`);

    const nRevoked = Math.round(CERTIFICATES * REVOKED_SHARE);
    const order = Array.from({ length: CERTIFICATES }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const revokedIdx = order.slice(0, nRevoked);
    const revokedAt = new Map<number, Date>();
    t = performance.now();
    await onConnections(port, nRevoked, async (conn, k) => {
      const i = revokedIdx[k]!;
      const r = await conn.request('POST', `/v1/cas/${caId}/certificates/${issued[i]!.serial}/revoke`, auth, JSON.stringify({ reason: 'KEY_COMPROMISE' }));
      if (r.status !== 200) {
        failures++;
        firstFailure ||= `${r.status} ${r.body.slice(0, 300)}`;
        return;
      }
      const b = JSON.parse(r.body);
      if (b.status !== 'REVOKED' || !b.revokedAt) throw new Error(`revoking answered ${r.body.slice(0, 300)}`);
      revokedAt.set(i, new Date(b.revokedAt));
    });
    if (failures) throw new Error(`${failures} revocations failed, the first: ${firstFailure}`);
    console.log(`revoked ${nRevoked} (keyCompromise) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // The responder certificate for openssl, issued by the same CA.
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'r.key']);
    const csrOut = openssl(['req', '-new', '-key', 'r.key', '-subj', '/CN=privateca bench OCSP responder', '-out', 'r.csr']);
    if (csrOut.status !== 0) throw new Error(`openssl req failed: ${csrOut.out}`);
    const rCert = await api(svc, 'POST', `/v1/cas/${caId}/certificates`, {
      csr: readFileSync(path.join(work, 'r.csr'), 'utf8'),
      template: 'OCSPSigningCertificate/V1',
      validity: { days: 2 },
    });
    if (rCert.status !== 201) throw new Error(`issuing the OCSP signing certificate failed: ${rCert.status} ${JSON.stringify(rCert.body)}`);
    writeFileSync(path.join(work, 'r.pem'), rCert.body.certificate);
    const purpose = openssl(['x509', '-in', 'r.pem', '-noout', '-purpose']).out;
    if (!/OCSP helper : Yes/.test(purpose)) note(`the responder certificate is not an OCSP helper for openssl: ${purpose}`);

    // The entries: every issued serial, and 1 % never issued.
    const nUnknown = Math.max(1, Math.round(CERTIFICATES * UNKNOWN_SHARE));
    const n = CERTIFICATES + nUnknown;
    const entries: Entries = { serialHex: [], serialInt: [], der: [], expected: new Uint8Array(n), revocationTime: [], notAfter: [], pools: { good: new Int32Array(CERTIFICATES - nRevoked), revoked: new Int32Array(nRevoked), unknown: new Int32Array(nUnknown) } };
    const known = new Set(issued.map((c) => c.serial));
    const pos = { good: 0, revoked: 0, unknown: 0 };
    for (let i = 0; i < n; i++) {
      let hex: string;
      if (i < CERTIFICATES) hex = issued[i]!.serial;
      else {
        do {
          const b = randomBytes(16);
          b[0] ||= 1;
          hex = b.toString('hex');
        } while (known.has(hex));
      }
      const magnitude = Buffer.from(hex, 'hex');
      entries.serialHex.push(hex);
      entries.serialInt.push(serialInteger(magnitude));
      entries.der.push(ocspRequest(issuer, magnitude));
      entries.notAfter.push(i < CERTIFICATES ? issued[i]!.notAfter : new Date(0));
      const rev = revokedAt.get(i);
      entries.revocationTime.push(rev ? generalizedDigits(rev) : undefined);
      const status = i >= CERTIFICATES ? UNKNOWN : rev ? REVOKED : GOOD;
      entries.expected[i] = status;
      if (status === GOOD) entries.pools.good[pos.good++] = i;
      else if (status === REVOKED) entries.pools.revoked[pos.revoked++] = i;
      else entries.pools.unknown[pos.unknown++] = i;
    }

    // Our requests against openssl's own for the same serials: byte for byte, and as openssl reads them.
    for (const e of [entries.pools.good[0]!, entries.pools.revoked[0]!, entries.pools.unknown[0]!]) {
      const theirs = openssl(['ocsp', '-issuer', 'ca.pem', '-serial', '0x' + entries.serialHex[e], '-no_nonce', '-reqout', 'openssl-req.der']);
      if (theirs.status !== 0) throw new Error(`openssl ocsp -reqout failed: ${theirs.out}`);
      const same = readFileSync(path.join(work, 'openssl-req.der')).equals(entries.der[e]!);
      writeFileSync(path.join(work, 'req.der'), entries.der[e]!);
      const text = openssl(['ocsp', '-reqin', 'req.der', '-req_text']).out;
      const serialLine = /Serial Number: ([0-9A-F]+)/.exec(text)?.[1];
      if (!same || serialLine !== entries.serialHex[e]!.toUpperCase()) throw new Error(`our OCSP request for ${entries.serialHex[e]} differs from openssl's:\n${text}`);
    }
    console.log(`${n} OCSP requests built (${CERTIFICATES - nRevoked} good, ${nRevoked} revoked, ${nUnknown} unknown); three equal byte for byte to openssl ocsp -reqout's`);

    // openssl's database: V (valid) or R (revoked) rows, dates as YYMMDDHHMMSSZ, serials in upper-case hex.
    const index = issued
      .map((c, i) => {
        const rev = revokedAt.get(i);
        const subject = `/CN=host-${i}.bench.internal`;
        return rev ? `R\t${indexDate(c.notAfter)}\t${indexDate(rev)},keyCompromise\t${c.serial.toUpperCase()}\tunknown\t${subject}` : `V\t${indexDate(c.notAfter)}\t\t${c.serial.toUpperCase()}\tunknown\t${subject}`;
      })
      .join('\n');
    writeFileSync(path.join(work, 'index.txt'), index + '\n');
    writeFileSync(path.join(work, 'index.txt.attr'), 'unique_subject = no\n');

    const privatecaRequests = entries.der.map((d) => Buffer.from(`GET ${ocspGetPath(`/ocsp/${caId}/`, d)} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, 'latin1'));
    setup = { caId, ocspFieldAccepted: ocspField, issued: CERTIFICATES, revoked: nRevoked, unknown: nUnknown, issuancePerSecond: Math.round(CERTIFICATES / issueSeconds), requestBytes: { der: entries.der[0]!.length, http: privatecaRequests[0]!.length } };

    // privateca, its cache warm.
    if (PHASES.includes('warm')) {
      const r = await measurePhase('privateca warm', port, privatecaRequests, entries, issuer, svc.child.pid!, { sweep: true, transport: 'GET /ocsp/{caId}/{base64}, HTTP/1.1 keep-alive', metricsBase: svc.base, untilCached: 0.99 });
      if (r.ran) {
        rssAfterWarm = treeRss(svc.child.pid!);
        r.serviceRss = rssAfterWarm;
        r.answerCache = await cacheGauges(svc.base);
        const c = r.answerCache;
        console.log(
          `  service RSS after the warm phase: ${rssAfterWarm.totalMB} MB (${rssAfterWarm.processes.map((p) => `${p.role} ${p.rssMB}`).join(', ')}); ` +
            `answer cache by its own metrics: ${c.entries ?? '?'} answers, ${mb(c.bytes)} MB (all workers); ` +
            `workers' V8 heap ${mb(c.heapUsed)} MB used of ${mb(c.heapTotal)} MB, external ${mb(c.external)} MB`,
        );
      }
      phases.push(r);
    }

    // privateca, no answer cache.
    if (PHASES.includes('cold')) {
      await stopTree(svc.child);
      const env = { [CACHE_ENV]: '0' };
      svc = await startService(port, db.url, env);
      const r = await measurePhase('privateca cold', port, privatecaRequests, entries, issuer, svc.child.pid!, { sweep: false, transport: 'GET /ocsp/{caId}/{base64}, HTTP/1.1 keep-alive', metricsBase: svc.base });
      r.env = env;
      if (r.cachedShare) note(`the cold phase reused pre-signed answers (${pct(r.cachedShare)}): ${CACHE_ENV}=0 did not disable the cache`);
      if (r.ran) r.serviceRss = treeRss(svc.child.pid!);
      phases.push(r);
    }
    await stopTree(svc.child);
    svc = undefined;

    // openssl ocsp on the same requests.
    if (PHASES.includes('openssl')) {
      const oport = await freePort();
      const log = openSync(path.join(work, 'openssl-ocsp.log'), 'w');
      const argv = ['ocsp', '-index', 'index.txt', '-port', String(oport), '-rsigner', 'r.pem', '-rkey', 'r.key', '-CA', 'ca.pem', '-multi', String(OPENSSL_MULTI), '-nmin', '60'];
      responder = spawn('openssl', argv, { cwd: work, stdio: ['ignore', log, log] });
      closeSync(log);
      for (let i = 0; ; i++) {
        const ok = await new Promise<boolean>((resolve) => {
          const s = net.connect(oport, '127.0.0.1', () => (s.destroy(), resolve(true)));
          s.on('error', () => resolve(false));
        });
        if (ok) break;
        if (responder.exitCode !== null || i > 100) throw new Error(`openssl ocsp did not start: ${readFileSync(path.join(work, 'openssl-ocsp.log'), 'utf8')}`);
        await sleep(100);
      }
      await sleep(300); // its -multi children
      // openssl's HTTP server takes the base64 after the first '/', so no /ocsp/{caId}/ prefix.
      const opensslRequests = entries.der.map((d) => Buffer.from(`GET ${ocspGetPath('/', d)} HTTP/1.1\r\nHost: 127.0.0.1:${oport}\r\n\r\n`, 'latin1'));
      const r = await measurePhase('openssl', oport, opensslRequests, entries, issuer, responder.pid!, { sweep: false, transport: 'GET /{base64}; answered HTTP/1.0 with the connection closed, so one TCP connection per request' });
      (r as PhaseResult & { command?: string }).command = `openssl ${argv.join(' ')}`;
      phases.push(r);
      await stopTree(responder, 3000);
      responder = undefined;
    }
  } finally {
    if (responder) await stopTree(responder, 3000);
    if (svc) await stopTree(svc.child);
    await db.drop();
    if (!args['keep-work']) rmSync(work, { recursive: true, force: true });
  }

  // The table.
  console.log('\nphase             answers/s    p50 ms    p99 ms   errors   CPU µs/answer (server+PostgreSQL)   client CPU (of one core)');
  for (const p of phases) {
    if (!p.ran) console.log(`${p.phase.padEnd(16)}  not run: ${p.skipped}`);
    else console.log(`${p.phase.padEnd(16)}${String(p.answersPerSecond).padStart(11)}${p.p50ms!.toFixed(3).padStart(10)}${p.p99ms!.toFixed(3).padStart(10)}${String(p.errors).padStart(9)}${String(p.cpu!.microsecondsPerAnswer.server + p.cpu!.microsecondsPerAnswer.postgres).padStart(20)}                    ${pct(p.cpu!.clientCoreShare)}${p.contended ? '   * other work ran: ' + p.contended : ''}`);
  }
  const warm = phases.find((p) => p.phase === 'privateca warm' && p.ran);
  const cold = phases.find((p) => p.phase === 'privateca cold' && p.ran);
  const ossl = phases.find((p) => p.phase === 'openssl' && p.ran);
  const ratio = warm && ossl ? round(warm.answersPerSecond! / ossl.answersPerSecond!, 2) : undefined;
  const coldRatio = cold && ossl ? round(cold.answersPerSecond! / ossl.answersPerSecond!, 2) : undefined;
  if (ratio !== undefined) console.log(`privateca warm / openssl: ${ratio}×`);
  if (coldRatio !== undefined) console.log(`privateca cold / openssl: ${coldRatio}×`);
  console.log(`machine: ${os.cpus()[0]?.model}, ${os.cpus().length} CPUs; node ${process.version}; concurrency ${CONCURRENCY}, ${args.duration} s measured after ${args.warmup} s, ${WORKERS} service worker(s), openssl -multi ${OPENSSL_MULTI}`);
  if (rssAfterWarm) console.log(`service RSS after the warm phase: ${rssAfterWarm.totalMB} MB`);
  for (const n of notes) console.log(`note: ${n}`);

  const totalErrors = phases.reduce((s, p) => s + (p.ran ? p.errors : 0), 0);
  writeResult(args.out!, {
    ...info,
    cpuModel: os.cpus()[0]?.model,
    cpus: os.cpus().length,
    openssl: opensslVersion,
    parameters: { concurrency: CONCURRENCY, durationSeconds: Number(args.duration), warmupSeconds: Number(args.warmup), certificates: CERTIFICATES, workers: WORKERS, opensslMulti: OPENSSL_MULTI, phases: PHASES, mix: WEIGHTS, revokedShare: REVOKED_SHARE, unknownShare: UNKNOWN_SHARE, coldPhaseEnv: { [CACHE_ENV]: '0' } },
    setup,
    phases,
    ratioWarmToOpenssl: ratio,
    ratioColdToOpenssl: coldRatio,
    serviceRssAfterWarmMB: rssAfterWarm,
    notes,
  });
  console.log(`written to ${args.out}`);
  if (totalErrors || phases.some((p) => !p.ran)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
