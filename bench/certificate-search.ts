/**
 * Certificate search at scale: GET /v1/cas/{caId}/certificates with q (name prefix, serial prefix),
 * expiresBefore and status over a CA holding --certificates rows (default 1,000,000), on PostgreSQL;
 * and the dashboard's GET /v1/cas/{caId}/certificate-stats over the same CA.
 *
 *   npm run bench:search -- [--certificates 1000000] [--repeat 30] [--pg-url postgres://…/postgres]
 *
 * The rows are made in SQL (generate_series) from one certificate the service really issued: the
 * same DER, each with its own serial (md5 of its number), subject CN=host-{n}.example.internal and
 * that as its search name, notAfter spread over a year and issuedAt over the year before (one an
 * hour). Then ANALYZE, and each query is asked --repeat times through HTTP in this process;
 * p50/p95/max are printed. The API's contract: under 50 ms with a million certificates.
 *
 * Then, for the statistics, about 2 % are revoked and 6 % expired (in SQL), and they are timed
 * twice: before VACUUM and after. Their counts read indexes alone only where the visibility map
 * says a page holds no row a transaction might not see; a server's autovacuum sets it after a bulk
 * load or many updates, and this one's may be off.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { makeCsrPem } from './csr-factory.ts';
import { inProcessService } from './in-process.ts';
import { freshPgDatabase, round, runInfo, writeResult } from './measure.ts';

const { values: args } = parseArgs({
  options: {
    certificates: { type: 'string', default: '1000000' },
    repeat: { type: 'string', default: '30' },
    'pg-url': { type: 'string', default: process.env.PRIVATECA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    out: { type: 'string', default: 'bench/results/search-latest.json' },
  },
});
const N = Number(args.certificates);
const REPEAT = Number(args.repeat);
const token = 'pca_bench_' + randomBytes(16).toString('hex');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'privateca-search-'));
const db = await freshPgDatabase(args['pg-url']!, 'privateca_bench_search');
const svc = await inProcessService({
  DATABASE_URL: db.url,
  PRIVATECA_DATA_DIR: dataDir,
  PRIVATECA_KEK: randomBytes(32).toString('base64'),
  PRIVATECA_BOOTSTRAP_TOKEN: token,
  LOG_LEVEL: 'warn',
});
const api = async (method: string, p: string, body?: unknown) => {
  const res = await fetch(svc.base + p, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return JSON.parse(text);
};
try {
  const ca = await api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Search Bench Root' }, keyAlgorithm: 'EC_prime256v1' });
  const first = await api('POST', `/v1/cas/${ca.id}/certificates`, { csr: await makeCsrPem('seed.example.internal'), validity: { days: 365 } });
  const t0 = performance.now();
  const CHUNK = 100_000;
  for (let from = 1; from <= N; from += CHUNK) {
    const to = Math.min(N, from + CHUNK - 1);
    await svc.db.query(
      `INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, issued_by, search_name)
       SELECT c.ca_id, md5(i::text), 'ISSUED', c.der, 'CN=host-' || lpad(i::text, 7, '0') || '.example.internal', c.template, c.not_before,
              now() + ((i % 365) || ' days')::interval + interval '1 hour', now() - ((i % 8760) || ' hours')::interval, c.issued_by,
              'host-' || lpad(i::text, 7, '0') || '.example.internal'
       FROM certificates c, generate_series($2::int, $3::int) AS i WHERE c.ca_id = $1 AND c.serial = $4`,
      [ca.id, from, to, first.serial],
    );
  }
  await svc.db.query('ANALYZE certificates');
  const loadSeconds = round((performance.now() - t0) / 1000, 1);
  console.log(`${N} certificates made in SQL in ${loadSeconds} s`);

  const serialPrefix = (await svc.db.query<{ s: string }>('SELECT substring(md5($1::text), 1, 4) AS s', [Math.floor(N / 2)])).rows[0]!.s;
  const soon = new Date(Date.now() + 3 * 86_400_000).toISOString();
  const queries: [string, string][] = [
    ['first page, no filter', ''],
    ['q: one name', `q=host-${String(Math.floor(N / 3)).padStart(7, '0')}.example.internal`],
    ['q: ten names (prefix)', `q=host-${String(Math.floor(N / 30)).padStart(6, '0')}`],
    ['q: every name (broad prefix)', 'q=host-'],
    ['q: serial prefix (4 hex digits)', `q=${serialPrefix}`],
    ['expiresBefore: 3 days', `expiresBefore=${encodeURIComponent(soon)}`],
    ['q broad + expiresBefore', `q=host-&expiresBefore=${encodeURIComponent(soon)}`],
    ['status=REVOKED (none)', 'status=REVOKED'],
    ['first page with include=certificate', 'include=certificate'],
  ];
  /** GET `p` --repeat times after 3 to warm up: the last answer, and p50/p95/max in ms. */
  const timed = async (p: string) => {
    const times: number[] = [];
    let body;
    for (let i = 0; i < REPEAT + 3; i++) {
      const t = performance.now();
      body = await api('GET', p);
      if (i >= 3) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const at = (x: number) => round(times[Math.min(times.length - 1, Math.floor(x * times.length))]!, 1);
    return { body, p50ms: at(0.5), p95ms: at(0.95), maxMs: round(times.at(-1)!, 1) };
  };
  const results = [];
  for (const [name, qs] of queries) {
    const { body, ...t } = await timed(`/v1/cas/${ca.id}/certificates?limit=100${qs ? '&' + qs : ''}`);
    const row = { query: name, parameters: qs, items: body.items.length, ...t };
    results.push(row);
    console.log(`${name.padEnd(38)} ${String(row.items).padStart(4)} items  p50 ${row.p50ms} ms  p95 ${row.p95ms} ms  max ${row.maxMs} ms`);
  }
  await svc.db.query(`UPDATE certificates SET status = 'REVOKED', revoked_at = now(), revocation_reason = 'SUPERSEDED' WHERE ca_id = $1 AND serial < '05'`, [ca.id]);
  await svc.db.query(`UPDATE certificates SET not_after = now() - interval '1 day' WHERE ca_id = $1 AND serial >= 'f0'`, [ca.id]);
  await svc.db.query('ANALYZE certificates');
  const statistics = [];
  for (const when of ['before VACUUM', 'after VACUUM']) {
    if (when === 'after VACUUM') await svc.db.query('VACUUM ANALYZE certificates');
    const { body, ...t } = await timed(`/v1/cas/${ca.id}/certificate-stats`);
    const sum = (buckets: { count: number }[]) => buckets.reduce((n, b) => n + b.count, 0);
    const row = { when, counts: { issued: body.issued, expired: body.expired, revoked: body.revoked, expiringWithin30Days: body.expiringWithin30Days }, hourlyTotal: sum(body.hourly), dailyTotal: sum(body.daily), ...t };
    statistics.push(row);
    console.log(`${`certificate-stats, ${when}`.padEnd(38)} p50 ${row.p50ms} ms  p95 ${row.p95ms} ms  max ${row.maxMs} ms  ${JSON.stringify(row.counts)} daily ${row.dailyTotal}`);
  }
  writeResult(args.out!, { ...runInfo(), certificates: N, repeat: REPEAT, loadSeconds, results, statistics });
  console.log(`written to ${args.out}`);
} finally {
  await svc.close();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
