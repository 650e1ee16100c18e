/**
 * Audit event queries on a large log (issue 13): N events (default 10,000,000) seeded into a fresh
 * PostgreSQL database with the service's schema and indexes, then each filter of GET
 * /v1/audit/events timed through the HTTP API, cold (first call) and warm (median and worst of 20).
 *
 *   npm run bench:audit-events -- [--events 10000000] [--pg-url postgres://…/postgres]
 *                                 [--out bench/results/audit-events-latest.json]
 *
 * The events: 1,000 principals (one of them, "payments-svc", with 1 event in 1,000), 20 actions, 5%
 * denials, 2,000 resources, one a second over the last N seconds; sealed (seq and a hash) so that
 * the sealer has nothing to do. The service runs in this process with PRIVATECA_AUDIT_SEALER=off.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { inProcessService } from './in-process.ts';
import { freshPgDatabase, round, runInfo, writeResult } from './measure.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    'pg-url': { type: 'string', default: process.env.PRIVATECA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    out: { type: 'string', default: 'bench/results/audit-events-latest.json' },
  },
});
const N = Number(args.events);
if (!Number.isInteger(N) || N < 1000) throw new Error('--events must be an integer of at least 1000');

async function main() {
  const token = 'pca_bench_' + randomBytes(16).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'privateca-bench-events-'));
  const fresh = await freshPgDatabase(args['pg-url']!, 'privateca_bench_events');
  console.log(`PostgreSQL ${fresh.settings.server_version}: shared_buffers=${fresh.settings.shared_buffers}`);
  const svc = await inProcessService({ DATABASE_URL: fresh.url, PRIVATECA_DATA_DIR: dataDir, PRIVATECA_BOOTSTRAP_TOKEN: token, PRIVATECA_AUDIT_SEALER: 'off', LOG_LEVEL: 'warn', PRIVATECA_WORKERS: '1' });
  const { db, base } = svc;
  try {

    const principals = await db.query<{ id: string }>(
      `INSERT INTO principals (id, name, status, created_at, updated_at)
       SELECT gen_random_uuid(), CASE WHEN g = 1 THEN 'payments-svc' ELSE 'svc-' || g END, 'ACTIVE', now(), now()
       FROM generate_series(1, 1000) g RETURNING id`,
    );
    const payments = (await db.query<{ id: string }>(`SELECT id FROM principals WHERE name = 'payments-svc'`)).rows[0]!.id;
    if (principals.rows.length !== 1000) throw new Error('seeding principals failed');
    let t = performance.now();
    const BATCH = 1_000_000;
    const start = Number((await db.query<{ n: string }>('SELECT coalesce(max(seq), 0)::text AS n FROM audit_events')).rows[0]!.n);
    for (let from = 1; from <= N; from += BATCH) {
      const to = Math.min(N, from + BATCH - 1);
      await db.query(
        `WITH p AS (SELECT row_number() OVER (ORDER BY name) - 1 AS k, id, name FROM principals WHERE name <> 'admin')
         INSERT INTO audit_events (at, principal_id, principal_name, action, resource, outcome, source_ip, request_id, details, seq, hash)
         SELECT now() - ($2::int - g) * interval '1 second', p.id, p.name,
                'privateca:' || (ARRAY['IssueCertificate','IssueCertificate','IssueCertificate','IssueCertificate','IssueCertificate','IssueCertificate',
                  'IssueCertificate','IssueCertificate','IssueCertificate','IssueCertificate','IssueCertificate','IssueCertificate','RevokeCertificate',
                  'CreateToken','DeleteToken','UpdatePrincipal','CreatePolicy','UpdateCertificateAuthority','PublishCrl','CreateAuditReport'])[1 + g % 20],
                'ca/' || md5((g % 2000)::text)::uuid, CASE WHEN g % 20 = 7 THEN 'DENIED' ELSE 'SUCCESS' END,
                '10.0.' || (g % 250) || '.' || (g % 7), md5(g::text)::uuid::text,
                jsonb_build_object('serial', md5(g::text), 'template', 'EndEntityServerAuthCertificate/V1'),
                $3::bigint + g, sha256(int8send(g))
         FROM generate_series($1::int, $2::int) g
         JOIN p ON p.k = CASE WHEN g % 1000 = 0 THEN 0 ELSE 1 + g % 999 END`,
        [from, to, start],
      );
      process.stdout.write(`\rseeded ${to.toLocaleString('en')} events`);
    }
    await db.exec('VACUUM ANALYZE audit_events');
    await db.exec('CHECKPOINT');
    const seeded = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_events')).rows[0]!.n);
    console.log(`\n${seeded.toLocaleString('en')} events in ${((performance.now() - t) / 1000).toFixed(0)} s`);

    const headers = { authorization: `Bearer ${token}` };
    const queries: Record<string, string> = {
      'newest 100': '',
      'one principal (id)': `principal=${payments}`,
      'one principal (name)': 'principal=payments-svc',
      'one principal, second page': '', // filled in below from the first page's cursor
      'one action (RevokeCertificate)': 'action=RevokeCertificate',
      'one resource': `resource=${(await db.query<{ r: string }>(`SELECT 'ca/' || md5('17')::uuid AS r`)).rows[0]!.r}`,
      'denials': 'outcome=DENIED',
      'one hour a day ago': `since=${new Date(Date.now() - 86_400_000).toISOString()}&until=${new Date(Date.now() - 82_800_000).toISOString()}`,
      'one principal in one day': `principal=${payments}&since=${new Date(Date.now() - 2 * 86_400_000).toISOString()}&until=${new Date(Date.now() - 86_400_000).toISOString()}`,
    };
    const first = await (await fetch(`${base}/v1/audit/events?principal=${payments}`, { headers })).json();
    queries['one principal, second page'] = `principal=${payments}&cursor=${first.nextCursor}`;
    const results = [];
    for (const [name, q] of Object.entries(queries)) {
      const times: number[] = [];
      let items = 0;
      for (let i = 0; i < 21; i++) {
        t = performance.now();
        const res = await fetch(`${base}/v1/audit/events?limit=100&${q}`, { headers });
        const body = await res.json();
        times.push(performance.now() - t);
        if (res.status !== 200) throw new Error(`${name}: ${res.status} ${JSON.stringify(body)}`);
        items = body.items.length;
      }
      const cold = times[0]!;
      const warm = times.slice(1).sort((a, b) => a - b);
      const r = { query: name, items, coldMs: round(cold, 1), medianMs: round(warm[10]!, 1), maxMs: round(warm[warm.length - 1]!, 1) };
      results.push(r);
      console.log(`${name.padEnd(32)} ${String(items).padStart(3)} items  cold ${r.coldMs.toFixed(1).padStart(7)} ms  median ${r.medianMs.toFixed(1).padStart(6)} ms  max ${r.maxMs.toFixed(1).padStart(6)} ms`);
    }
    const result = {
      ...runInfo(),
      postgres: fresh.settings,
      events: seeded,
      queries: results,
    };
    writeResult(args.out!, result);
    console.log(`written to ${args.out}`);
  } finally {
    await svc.close();
    await fresh.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
