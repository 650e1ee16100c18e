/**
 * Audit report benchmark (issue 13): a CA with N certificates, a report of them in each format made
 * through the API, timed, with the peak memory of the process while it is made; then downloaded,
 * its SHA-256 compared and its signature checked with `openssl dgst -sha256 -verify`.
 *
 *   npm run bench:audit-report -- [--certificates 1000000] [--database pg|pglite] [--formats CSV,JSON]
 *                                 [--pg-url postgres://…/postgres] [--out bench/results/audit-report-latest.json]
 *
 * The service runs in this process (compose() from src/main.ts over a fresh database, HTTP on a free
 * port), so the memory measured is the service's. 200 certificates are issued through the API; the
 * other rows are seeded with one SQL statement, each with the DER of one of those 200 (the report
 * parses every certificate's names), its own random serial and a mix of issuers and revocations.
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { inProcessService } from './in-process.ts';
import { makeCsrPem } from './csr-factory.ts';
import { RssSampler, freshPgDatabase, mb, memoryLine, round, runInfo, sleep, writeResult } from './measure.ts';

const { values: args } = parseArgs({
  options: {
    certificates: { type: 'string', default: '1000000' },
    database: { type: 'string', default: 'pg' },
    formats: { type: 'string', default: 'CSV,JSON' },
    'pg-url': { type: 'string', default: process.env.PRIVATECA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    out: { type: 'string', default: 'bench/results/audit-report-latest.json' },
  },
});

const N = Number(args.certificates);
const ISSUED = Math.min(200, N);
const FORMATS = args.formats!.split(',').map((f) => f.trim().toUpperCase());
if (!Number.isInteger(N) || N < 1) throw new Error('--certificates must be a positive integer');
if (args.database !== 'pg' && args.database !== 'pglite') throw new Error('--database must be pg or pglite');
if (FORMATS.some((f) => f !== 'CSV' && f !== 'JSON')) throw new Error('--formats is a list of CSV and JSON');

async function main() {
  const token = 'pca_bench_' + randomBytes(16).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'privateca-bench-report-'));
  let dropDb = async () => {};
  const env: Record<string, string> = { PRIVATECA_DATA_DIR: dataDir, PRIVATECA_BOOTSTRAP_TOKEN: token, LOG_LEVEL: 'warn', PRIVATECA_WORKERS: '1' };
  let pgSettings: Record<string, string> = {};
  if (args.database === 'pg') {
    const fresh = await freshPgDatabase(args['pg-url']!, 'privateca_bench_report');
    pgSettings = fresh.settings;
    env.DATABASE_URL = fresh.url;
    dropDb = () => fresh.drop();
    console.log(`PostgreSQL ${pgSettings.server_version}: shared_buffers=${pgSettings.shared_buffers}; database ${fresh.url.replace(/.*\//, '')}`);
  } else {
    console.log(`PGlite in ${dataDir} (in this process: its memory counts too)`);
  }
  const svc = await inProcessService(env);
  const { db, base } = svc;
  const sampler = new RssSampler();
  try {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };

    const ca = await api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Audit Report Bench Root' }, keyAlgorithm: 'EC_prime256v1' });
    const caId: string = ca.id;
    let t = performance.now();
    for (let i = 0; i < ISSUED; i++) await api('POST', `/v1/cas/${caId}/certificates`, { csr: makeCsrPem(`host${i}.bench.internal`), template: 'EndEntityServerAuthCertificate/V1', validity: { days: 30 } });
    console.log(`issued ${ISSUED} certificates through the API in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // The rest: each the DER of one issued above (names to parse), its own serial, issued by one of
    // four principals, 2% revoked.
    t = performance.now();
    await db.query(
      `INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, issued_by, revoked_at, revocation_reason)
       SELECT $1, CASE WHEN left(m, 2) = '00' THEN '01' || substr(m, 3) ELSE m END,
              CASE WHEN g % 50 = 0 THEN 'REVOKED' ELSE 'ISSUED' END, c.der, c.subject, c.template, c.not_before, c.not_after,
              now() - (g % 8640000) * interval '1 second' - interval '1 minute',
              (ARRAY['payments-svc','orders-svc','devices-svc','admin'])[1 + g % 4],
              CASE WHEN g % 50 = 0 THEN now() - (g % 86400) * interval '1 second' END,
              CASE WHEN g % 50 = 0 THEN 'KEY_COMPROMISE' END
       FROM (SELECT g, md5(random()::text || g::text) AS m FROM generate_series(1, $2::int) AS g) s
       JOIN (SELECT row_number() OVER (ORDER BY serial) - 1 AS k, der, subject, template, not_before, not_after FROM certificates WHERE ca_id = $1) c
         ON c.k = s.g % $3`,
      [caId, N - ISSUED, ISSUED],
    );
    await db.exec('VACUUM ANALYZE certificates');
    await db.exec('CHECKPOINT');
    const count = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM certificates WHERE ca_id = $1', [caId])).rows[0]!.n);
    if (count !== N) throw new Error(`seeded ${count} certificates, expected ${N}`);
    console.log(`seeded ${(N - ISSUED).toLocaleString('en')} more in ${((performance.now() - t) / 1000).toFixed(1)} s; ${N.toLocaleString('en')} in all`);
    writeFileSync(path.join(dataDir, 'audit.pub'), await (await fetch(`${base}/v1/audit/public-key`)).text());

    const results = [];
    for (const format of FORMATS) {
      await sleep(500);
      global.gc?.();
      const before = process.memoryUsage();
      const beforeLine = memoryLine();
      await sampler.start();
      t = performance.now();
      const created = await api('POST', `/v1/cas/${caId}/audit-reports`, { format });
      let report = created;
      while (report.status === 'CREATING') {
        await sleep(100);
        report = await api('GET', `/v1/cas/${caId}/audit-reports/${created.id}`);
      }
      const seconds = (performance.now() - t) / 1000;
      const { peak, samples } = await sampler.stop();
      if (report.status !== 'SUCCESS') throw new Error(`report ${format}: ${JSON.stringify(report)}`);
      if (report.rows !== N) throw new Error(`report ${format} has ${report.rows} rows, expected ${N}`);
      console.log(
        `${format}: ${report.rows.toLocaleString('en')} rows, ${mb(report.size)} MB in ${seconds.toFixed(1)} s; ` +
          `RSS ${mb(before.rss)} → peak ${mb(peak)} MB (+${mb(peak - before.rss)} MB, ${samples} samples);\n  before: ${beforeLine}\n  after:  ${memoryLine()}`,
      );

      // Downloaded as a client would, to a file, hashed on the way; then openssl checks the signature.
      const file = path.join(dataDir, `report.${format.toLowerCase()}`);
      t = performance.now();
      const res = await fetch(`${base}/v1/cas/${caId}/audit-reports/${created.id}/content`, { headers });
      const hash = createHash('sha256');
      const out = createWriteStream(file);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((r) => out.end(() => r()));
      const downloadSeconds = (performance.now() - t) / 1000;
      if (hash.digest('hex') !== report.sha256) throw new Error(`the download's SHA-256 is not the report's`);
      const sig = Buffer.from(await (await fetch(`${base}/v1/cas/${caId}/audit-reports/${created.id}/signature`, { headers })).arrayBuffer());
      writeFileSync(`${file}.sig`, sig);
      const v = spawnSync('openssl', ['dgst', '-sha256', '-verify', path.join(dataDir, 'audit.pub'), '-signature', `${file}.sig`, file], { encoding: 'utf8' });
      if (v.status !== 0 || v.stdout.trim() !== 'Verified OK') throw new Error(`openssl dgst -verify: ${v.stdout}${v.stderr}`);
      console.log(`  downloaded in ${downloadSeconds.toFixed(1)} s; SHA-256 matches; openssl dgst -sha256 -verify: Verified OK`);
      rmSync(file);
      results.push({
        format,
        rows: report.rows,
        sizeMB: mb(report.size),
        seconds: round(seconds, 2),
        rowsPerSecond: Math.round(N / seconds),
        baselineRssMB: mb(before.rss),
        peakRssMB: mb(peak),
        rssGrowthMB: mb(peak - before.rss),
        downloadSeconds: round(downloadSeconds, 2),
        opensslVerified: true,
      });
    }
    await sampler.close();
    const result = {
      ...runInfo(),
      database: args.database,
      postgres: pgSettings,
      certificates: N,
      reports: results,
      targets: { extraMemoryMB: 100 },
    };
    writeResult(args.out!, result);
    console.log(`\nload average ${result.loadAverage.join(' ')}; written to ${args.out}`);
    if (results.some((r) => r.rssGrowthMB > 100)) console.log('target (< 100 MB of extra memory) missed');
  } finally {
    await sampler.close().catch(() => {});
    await svc.close();
    await dropDb();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
