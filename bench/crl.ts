/**
 * CRL benchmark (issue 3, "Scale"): one full CRL of N revoked certificates built, signed and stored,
 * timed, with the peak memory of the process around it; and the cost of revoking one more
 * certificate with none and with N revoked.
 *
 *   npm run bench:crl -- [--revoked 1000000] [--database pg|pglite] [--runs 3] [--revokes 30]
 *                        [--pg-url postgres://…/postgres] [--keep-db] [--out bench/results/crl-latest.json]
 *
 * The service runs in this process (compose() from src/main.ts over a fresh database, HTTP on a free
 * port), so the memory measured is the service's. The revoked rows are seeded with one SQL statement;
 * the CRL only reads serial, revoked_at, revocation_reason and not_after, so `der` is a dummy.
 * Profile with `node --cpu-prof --import tsx bench/crl.ts …`.
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Db } from '../src/db/db.ts';
import { createRepos } from '../src/db/repositories/index.ts';
import { inProcessService } from './in-process.ts';
import { SYSTEM_ACTOR } from '../src/services/actor.ts';
import { toPem } from '../src/x509/pem.ts';
import { MB, RssSampler, freshPgDatabase, mb, memoryLine, round, runInfo, sleep, writeResult } from './measure.ts';

const { values: args } = parseArgs({
  options: {
    revoked: { type: 'string', default: '1000000' },
    database: { type: 'string', default: 'pg' },
    runs: { type: 'string', default: '3' },
    /** Milliseconds between publications (a busy CA rebuilds about once a second). */
    pause: { type: 'string', default: '200' },
    revokes: { type: 'string', default: '30' },
    'pg-url': { type: 'string', default: process.env.PRIVATECA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    /** Leave the seeded PostgreSQL database in place (to look at the CRL queries with EXPLAIN). */
    'keep-db': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/crl-latest.json' },
  },
});

const N = Number(args.revoked);
const RUNS = Math.max(1, Number(args.runs));
const REVOKES = Math.max(1, Number(args.revokes));
const WARMUP_REVOKES = 5;
if (!Number.isInteger(N) || N < 0) throw new Error('--revoked must be a non-negative integer');
if (args.database !== 'pg' && args.database !== 'pglite') throw new Error('--database must be pg or pglite');

/**
 * Counts the entries of a DER CRL by walking its TLVs (openssl -text on a million entries takes
 * longer than the build): CertificateList → TBSCertList → version, signature, issuer, thisUpdate,
 * nextUpdate, revokedCertificates.
 */
function countCrlEntries(der: Uint8Array): number {
  const tlv = (p: number) => {
    const tag = der[p]!;
    let len = der[p + 1]!;
    let h = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[p + 2 + i]!;
      h += n;
    }
    return { tag, start: p + h, end: p + h + len };
  };
  const crl = tlv(0);
  if (crl.tag !== 0x30 || crl.end !== der.length) throw new Error('not a single DER SEQUENCE');
  const tbs = tlv(crl.start);
  let p = tbs.start;
  const version = tlv(p);
  if (version.tag !== 0x02) throw new Error('CRL has no version (v1?)');
  p = version.end;
  p = tlv(p).end; // signature AlgorithmIdentifier
  p = tlv(p).end; // issuer
  p = tlv(p).end; // thisUpdate
  if (der[p] === 0x17 || der[p] === 0x18) p = tlv(p).end; // nextUpdate
  if (p >= tbs.end || der[p] !== 0x30) return 0; // no revokedCertificates
  const revoked = tlv(p);
  let count = 0;
  for (let q = revoked.start; q < revoked.end; count++) {
    const e = tlv(q);
    if (e.tag !== 0x30) throw new Error(`entry ${count} is not a SEQUENCE`);
    q = e.end;
  }
  return count;
}

function openssl(argv: string[]): { status: number; out: string; seconds: number } {
  const t = performance.now();
  const r = spawnSync('openssl', argv, { encoding: 'utf8', maxBuffer: 1024 * MB });
  return { status: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, seconds: (performance.now() - t) / 1000 };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, medianMs: round(percentile(s, 50), 2), p90Ms: round(percentile(s, 90), 2), meanMs: round(s.reduce((a, b) => a + b, 0) / s.length, 2) };
};

/** What the scheduler may still be doing for this CA: wait until its stored CRL carries the last number taken. */
async function waitForIdle(db: Db, caId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let stableSince = 0;
  let last = '';
  for (;;) {
    const r = await db.query<{ taken: string; stored: string | null }>(
      `SELECT c.crl_number::text AS taken, (SELECT crl_number::text FROM crls WHERE ca_id = c.id AND partition = '') AS stored FROM cas c WHERE c.id = $1`,
      [caId],
    );
    const { taken, stored } = r.rows[0]!;
    const now = `${taken}/${stored}`;
    if (taken === stored && now === last) {
      if (!stableSince) stableSince = Date.now();
      if (Date.now() - stableSince > 1500) return; // past the scheduler's 1 s debounce
    } else stableSince = 0;
    last = now;
    if (Date.now() > deadline) throw new Error(`the scheduler's CRL builds for ${caId} did not settle (${now})`);
    await sleep(100);
  }
}

async function main() {
  const token = 'pca_bench_' + randomBytes(16).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'privateca-bench-crl-'));
  let dropDb = async () => {};
  const env: Record<string, string> = { PRIVATECA_DATA_DIR: dataDir, PRIVATECA_BOOTSTRAP_TOKEN: token, LOG_LEVEL: 'warn', PRIVATECA_WORKERS: '1' };
  let pgSettings: Record<string, string> = {};
  if (args.database === 'pg') {
    const fresh = await freshPgDatabase(args['pg-url']!, 'privateca_bench');
    pgSettings = fresh.settings;
    env.DATABASE_URL = fresh.url;
    dropDb = () => fresh.drop();
    console.log(`PostgreSQL ${pgSettings.server_version}: shared_buffers=${pgSettings.shared_buffers} synchronous_commit=${pgSettings.synchronous_commit} fsync=${pgSettings.fsync}; database ${fresh.url.replace(/.*\//, '')}`);
  } else {
    console.log(`PGlite in ${dataDir} (in this process: its memory counts too)`);
  }

  const svc = await inProcessService(env);
  const { db, node, base } = svc;
  const sampler = new RssSampler();
  try {
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(base + p, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };

    // The CA, through the service. Its cron schedule (once a year) stays out of the way; the
    // scheduler still publishes at creation and after each revocation, as in production.
    const ca = await node.cas.create(SYSTEM_ACTOR, {
      type: 'ROOT',
      subject: { commonName: 'CRL Bench Root', organization: 'privateca bench' },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { crl: { enabled: true, baseUrl: 'http://crl.bench.internal', schedule: '0 0 1 1 *' } },
    });
    const caId = ca.id;
    const caPemFile = path.join(dataDir, 'ca.pem');
    writeFileSync(caPemFile, toPem(ca.certificateDer!, 'CERTIFICATE'));
    await waitForIdle(db, caId);

    // Certificates to revoke through the API: plain ISSUED rows (revocation only updates the row).
    const targets = WARMUP_REVOKES + 2 * REVOKES;
    await db.query(
      `INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at)
       SELECT $1, '7f' || lpad(to_hex(g), 30, '0'), 'ISSUED', '\\x3000'::bytea, 'CN=target-' || g, 'EndEntityCertificate/V1',
              now() - interval '1 day', now() + interval '30 days', now() - interval '1 day'
       FROM generate_series(1, $2::int) AS g`,
      [caId, targets],
    );
    const targetSerial = (i: number) => '7f' + (i + 1).toString(16).padStart(30, '0');
    const reasons = ['UNSPECIFIED', 'KEY_COMPROMISE', 'SUPERSEDED', 'CESSATION_OF_OPERATION', 'AFFILIATION_CHANGED'];
    let nextTarget = 0;
    const timeRevokes = async (count: number): Promise<number[]> => {
      const ms: number[] = [];
      for (let i = 0; i < count; i++) {
        const serial = targetSerial(nextTarget++);
        const t = performance.now();
        const r = await api('POST', `/v1/cas/${caId}/certificates/${serial}/revoke`, { reason: reasons[i % reasons.length] });
        ms.push(performance.now() - t);
        if (r.status !== 200) throw new Error(`revoke ${serial}: ${r.status} ${JSON.stringify(r.body)}`);
      }
      return ms;
    };
    await timeRevokes(WARMUP_REVOKES);
    const revokeZero = await timeRevokes(REVOKES);
    await waitForIdle(db, caId);
    const revokedThroughApi = WARMUP_REVOKES + REVOKES;

    // N revoked rows in one statement: random 16-octet serials (first octet non-zero, as the
    // service's), revocation dates over the last 90 days, a mix of reasons with UNSPECIFIED.
    let t = performance.now();
    await db.query(
      `INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, revoked_at, revocation_reason)
       SELECT $1, CASE WHEN left(m, 2) = '00' THEN '01' || substr(m, 3) ELSE m END, 'REVOKED', '\\x3000'::bytea,
              'CN=seed-' || g, 'EndEntityCertificate/V1', now() - interval '100 days', now() + interval '300 days',
              now() - interval '100 days', now() - (g % 7776000) * interval '1 second',
              (ARRAY['UNSPECIFIED','KEY_COMPROMISE','CERTIFICATE_AUTHORITY_COMPROMISE','AFFILIATION_CHANGED','SUPERSEDED',
                     'CESSATION_OF_OPERATION','PRIVILEGE_WITHDRAWN','A_A_COMPROMISE','UNSPECIFIED','SUPERSEDED'])[1 + g % 10]
       FROM (SELECT g, md5(random()::text || g::text) AS m FROM generate_series(1, $2::int) AS g) s`,
      [caId, N],
    );
    const seedSeconds = (performance.now() - t) / 1000;
    // What autovacuum does soon after a bulk change anyway; the planner then knows the table's size.
    t = performance.now();
    await db.exec('VACUUM ANALYZE certificates');
    // Flush the seeding's dirty pages now, so that a checkpoint does not land in the middle of the timed runs.
    await db.exec('CHECKPOINT');
    const analyzeSeconds = (performance.now() - t) / 1000;
    const expected = N + revokedThroughApi;
    const dbCount = Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM certificates WHERE ca_id = $1 AND status = 'REVOKED'`, [caId])).rows[0]!.n);
    if (dbCount !== expected) throw new Error(`seeded ${dbCount} revoked rows, expected ${expected}`);
    console.log(`seeded ${N.toLocaleString('en')} revoked certificates in ${seedSeconds.toFixed(1)} s (VACUUM ANALYZE ${analyzeSeconds.toFixed(1)} s); ${expected.toLocaleString('en')} revoked in all`);

    // The publish itself: CrlUpdater.publish() as the scheduler and POST /v1/cas/{id}/crl call it,
    // wired as compose() wires it.
    const updater = node.crlUpdater;

    const runs: { seconds: number; crlNumber: string; entries: number; derBytes: number; baselineRssMB: number; peakRssMB: number; rssGrowthMB: number; rssSamples: number; heapUsedBeforeMB: number }[] = [];
    let maxRssAfterFirst = 0;
    for (let i = 0; i < RUNS; i++) {
      await sleep(Number(args.pause));
      const before = process.memoryUsage();
      await sampler.start();
      t = performance.now();
      const crl = await updater.publish(caId);
      const seconds = (performance.now() - t) / 1000;
      const { peak, samples } = await sampler.stop();
      if (i === 0) maxRssAfterFirst = process.resourceUsage().maxRSS * 1024;
      if (!crl) throw new Error('publish made no CRL');
      runs.push({
        seconds: round(seconds),
        crlNumber: crl.crlNumber.toString(),
        entries: crl.revokedCount,
        derBytes: crl.derBytes,
        baselineRssMB: mb(before.rss),
        peakRssMB: mb(peak),
        rssGrowthMB: mb(peak - before.rss),
        rssSamples: samples,
        heapUsedBeforeMB: mb(before.heapUsed),
      });
      console.log(
        `publish ${i + 1}/${RUNS}: ${seconds.toFixed(2)} s, ${crl.revokedCount.toLocaleString('en')} entries, ${mb(crl.derBytes)} MB DER, ` +
          `RSS ${mb(before.rss)} → peak ${mb(peak)} MB (+${mb(peak - before.rss)} MB, ${samples} samples)` +
          (i === 0 ? `, maxRSS of the process so far ${mb(maxRssAfterFirst)} MB` : '') +
          `; after: ${memoryLine()}`,
      );
    }
    await sampler.close();

    // Check what was stored, as clients will read it.
    const stored = (await createRepos(db).crls.latest(caId, ''))!;
    if (stored.crlNumber.toString() !== runs[runs.length - 1]!.crlNumber) throw new Error(`stored CRL number ${stored.crlNumber} is not the last published`);
    const crlFile = path.join(dataDir, 'bench.crl');
    writeFileSync(crlFile, stored.der);
    const parse = openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout']);
    if (parse.status !== 0) throw new Error(`openssl crl could not parse the CRL: ${parse.out}`);
    const verify = openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-CAfile', caPemFile, '-verify']);
    if (verify.status !== 0 || !verify.out.includes('verify OK')) throw new Error(`openssl crl -verify: ${verify.out}`);
    const entries = countCrlEntries(stored.der);
    let opensslCount: number | undefined;
    if (expected <= 100_000) {
      const text = openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
      opensslCount = (text.out.match(/Serial Number/g) ?? []).length;
      if (opensslCount !== expected) throw new Error(`openssl -text lists ${opensslCount} entries, expected ${expected}`);
    }
    if (entries !== expected || stored.revokedCount !== expected) throw new Error(`the CRL has ${entries} entries (revokedCount ${stored.revokedCount}), expected ${expected}`);
    console.log(
      `openssl crl parses it (${parse.seconds.toFixed(1)} s) and -verify says OK (${verify.seconds.toFixed(1)} s); ` +
        `${entries.toLocaleString('en')} entries by DER walk${opensslCount !== undefined ? ` and by openssl -text` : ''}`,
    );

    // One more revocation with N revoked, then how soon the service's own rebuild serves it.
    const revokeN = await timeRevokes(REVOKES);
    const lastRevokeAt = performance.now();
    const want = expected + REVOKES;
    let servedAfterSeconds: number | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
      const r = await api('GET', `/v1/cas/${caId}/crl`);
      if (r.status === 200 && r.body.revokedCount === want) {
        servedAfterSeconds = round((performance.now() - lastRevokeAt) / 1000, 2);
        break;
      }
    }
    const zero = summary(revokeZero);
    const withN = summary(revokeN);
    console.log(`revoke one more (HTTP, ${REVOKES} each): with ~0 revoked median ${zero.medianMs} ms (p90 ${zero.p90Ms}); with ${expected.toLocaleString('en')} revoked median ${withN.medianMs} ms (p90 ${withN.p90Ms})`);
    console.log(`the service's own rebuild served the last of those revocations ${servedAfterSeconds ?? '(not within 60)'} s after its 200`);

    const secs = runs.map((r) => r.seconds).sort((a, b) => a - b);
    const result = {
      ...runInfo(),
      database: args.database,
      postgres: pgSettings,
      revoked: N,
      entries,
      derMB: mb(stored.der.length),
      seed: { seconds: round(seedSeconds, 1), vacuumAnalyzeSeconds: round(analyzeSeconds, 1) },
      publish: {
        medianSeconds: round(secs.length % 2 ? secs[secs.length >> 1]! : (secs[secs.length / 2 - 1]! + secs[secs.length / 2]!) / 2),
        firstSeconds: runs[0]!.seconds,
        peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
        maxRssGrowthMB: Math.max(...runs.map((r) => r.rssGrowthMB)),
        processMaxRssAfterFirstPublishMB: mb(maxRssAfterFirst),
        runs,
      },
      verify: { opensslParseSeconds: round(parse.seconds, 2), opensslVerifySeconds: round(verify.seconds, 2), derWalkEntries: entries, opensslTextEntries: opensslCount },
      revokeOneMore: { withAboutZeroRevoked: zero, withNRevoked: withN, servedInCrlAfterSeconds: servedAfterSeconds },
      targets: { seconds: 3, peakMB: 200 },
    };
    console.log(
      `\nCRL of ${entries.toLocaleString('en')} entries: ${result.publish.medianSeconds} s (median of ${RUNS}; first ${result.publish.firstSeconds} s), ` +
        `peak RSS ${result.publish.peakRssMB} MB (+${result.publish.maxRssGrowthMB} MB over the baseline), maxRSS ${result.publish.processMaxRssAfterFirstPublishMB} MB; ` +
        `load average ${result.loadAverage.join(' ')}`,
    );
    writeResult(args.out!, result);
    if (result.publish.medianSeconds > 3 || result.publish.peakRssMB > 200) console.log('target (≤ 3 s, ≤ 200 MB) missed');
  } finally {
    await sampler.close().catch(() => {});
    await svc.close();
    if (args['keep-db']) console.log('kept the database (--keep-db)');
    else await dropDb();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
