import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { createTestDatabase } from '../support/service.ts';
import { freePort } from '../support/net.ts';

/*
 * Issue 3 with several service nodes on one PostgreSQL: two real processes (`node --import tsx
 * src/main.ts`, one worker each) share a fresh database, KEK and bootstrap token.
 *  - A CA on a `*\/2 * * * * *` schedule (node-cron's seconds field): CRL numbers only increase, both
 *    nodes serve the latest, and the nodes make one CRL per tick between them, not one each.
 *  - A node killed (SIGKILL) in the middle of a publication leaves its CRL number unused for ever:
 *    the other node's next CRL has a higher number, parses and verifies.
 */

const REPO = path.resolve(import.meta.dirname, '../..');
const SEEDED = 300_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


class ServiceNode {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly url: string,
    private readonly token: string,
    readonly dataDir: string,
  ) {
    child.stdout!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(name: string, env: Record<string, string>, token: string): Promise<ServiceNode> {
    const port = await freePort();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `privateca-node-${name}-`));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), PRIVATECA_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const node = new ServiceNode(name, child, `http://127.0.0.1:${port}`, token, dataDir);
    for (const deadline = Date.now() + 60_000; ; await sleep(100)) {
      if (!node.running) throw new Error(`node ${name} exited before it was healthy:\n${node.output}`);
      if (await fetch(`${node.url}/readyz`).then((r) => r.status === 200, () => false)) return node;
      if (Date.now() > deadline) throw new Error(`node ${name} not healthy within 60 s:\n${node.output}`);
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async api(method: string, p: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
    const res = await fetch(this.url + p, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  }

  /** The CRL number this node serves at GET /v1/cas/{id}/crl (-1 for none). */
  async servedNumber(caId: string): Promise<bigint> {
    const r = await this.api('GET', `/v1/cas/${caId}/crl`);
    if (r.status === 404) return -1n;
    if (r.status !== 200) throw new Error(`node ${this.name}: GET crl ${r.status} ${r.text}`);
    return BigInt(r.body.crlNumber);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) {
      this.child.kill(signal);
      const t = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(t);
    }
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Entries of a DER CRL, by walking its TLVs (openssl -text on 300k entries is slow). */
function countCrlEntries(der: Buffer): number {
  const tlv = (p: number) => {
    let len = der[p + 1]!;
    let h = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[p + 2 + i]!;
      h += n;
    }
    return { tag: der[p]!, start: p + h, end: p + h + len };
  };
  const tbs = tlv(tlv(0).start);
  let p = tlv(tbs.start).end; // version
  p = tlv(p).end; // signature
  p = tlv(p).end; // issuer
  p = tlv(p).end; // thisUpdate
  if (der[p] === 0x17 || der[p] === 0x18) p = tlv(p).end; // nextUpdate
  if (p >= tbs.end || der[p] !== 0x30) return 0;
  const list = tlv(p);
  let n = 0;
  for (let q = list.start; q < list.end; n++) q = tlv(q).end;
  return n;
}

/** Ticks of `*\/2 * * * * *` (every even second) in (from, to]. */
function ticksIn(from: number, to: number): number {
  let n = 0;
  for (let s = Math.floor(from / 1000) + 1; s * 1000 <= to; s++) if (s % 2 === 0) n++;
  return n;
}

describe('CRLs with two service processes on one PostgreSQL', () => {
  const token = 'pca_test_' + randomBytes(16).toString('hex');
  const pki = new OpensslPki();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: pg.Client;
  let a: ServiceNode;
  let b: ServiceNode;
  /** CAs on a 2-second schedule, and the one with SEEDED revoked certificates. */
  let ticking: string;
  let patched: string;
  let big: string;

  const numbers = async (caId: string) => {
    const r = await sql.query<{ taken: string; stored: string | null }>(
      `SELECT crl_number::text AS taken, (SELECT crl_number::text FROM crls WHERE ca_id = $1 AND partition = '') AS stored FROM cas WHERE id = $1`,
      [caId],
    );
    return { taken: BigInt(r.rows[0]!.taken), stored: r.rows[0]!.stored === null ? -1n : BigInt(r.rows[0]!.stored) };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const env = {
      DATABASE_URL: database.url,
      PRIVATECA_WORKERS: '1',
      PRIVATECA_KEK: randomBytes(32).toString('base64'),
      PRIVATECA_BOOTSTRAP_TOKEN: token,
    };
    a = await ServiceNode.start('A', env, token);
    // Both CAs exist before node B starts, so that B's scheduler has them too.
    const create = async (body: Record<string, unknown>) => {
      const r = await a.api('POST', '/v1/cas', { type: 'ROOT', keyAlgorithm: 'EC_prime256v1', ...body });
      expect(r.status, r.text).toBe(201);
      return r.body.id as string;
    };
    ticking = await create({ subject: { commonName: 'Two Nodes Ticking Root' }, revocation: { crl: { enabled: true, schedule: '*/2 * * * * *' } } });
    patched = await create({ subject: { commonName: 'Two Nodes Patched Root' }, revocation: { crl: { enabled: true, schedule: '*/2 * * * * *' } } });
    big = await create({ subject: { commonName: 'Two Nodes Big Root' }, revocation: { crl: { enabled: true, schedule: '0 0 1 1 *' } } });
    const seed = sql.query(
      `INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, revoked_at, revocation_reason)
       SELECT $1, CASE WHEN left(m, 2) = '00' THEN '01' || substr(m, 3) ELSE m END, 'REVOKED', '\\x3000'::bytea, 'CN=seed-' || g,
              'EndEntityCertificate/V1', now() - interval '10 days', now() + interval '300 days', now() - interval '10 days',
              now() - (g % 86400) * interval '1 second',
              (ARRAY['UNSPECIFIED','KEY_COMPROMISE','SUPERSEDED','CESSATION_OF_OPERATION','AFFILIATION_CHANGED'])[1 + g % 5]
       FROM (SELECT g, md5(random()::text || g::text) AS m FROM generate_series(1, $2::int) AS g) s`,
      [big, SEEDED],
    );
    [b] = await Promise.all([ServiceNode.start('B', env, token), seed]);
    await sql.query('ANALYZE certificates');
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await sql?.end();
    await database?.drop();
  });

  it('ok/schedule every 2 s on both nodes: numbers only increase, both nodes serve the latest, one CRL per tick between them', async () => {
    const t0 = Date.now();
    const n0 = (await numbers(ticking)).taken;
    const seen = { A: [] as bigint[], B: [] as bigint[], db: [] as bigint[] };
    let explicit = 0;
    let explicitNumber = -1n;
    while (Date.now() - t0 < 12_000) {
      // Every node reads the latest from the database on each request: what it serves lies between
      // what the database held just before and just after.
      const before = (await numbers(ticking)).stored;
      const [na, nb] = await Promise.all([a.servedNumber(ticking), b.servedNumber(ticking)]);
      const after = (await numbers(ticking)).stored;
      expect(na).toBeGreaterThanOrEqual(before);
      expect(na).toBeLessThanOrEqual(after);
      expect(nb).toBeGreaterThanOrEqual(before);
      expect(nb).toBeLessThanOrEqual(after);
      seen.A.push(na);
      seen.B.push(nb);
      seen.db.push(before, after);
      if (explicit === 0 && Date.now() - t0 > 5_000) {
        // One explicit publication through node B, between ticks: a number above all seen so far.
        const r = await b.api('POST', `/v1/cas/${ticking}/crl`);
        expect(r.status, r.text).toBe(201);
        explicitNumber = BigInt(r.body.crlNumber);
        expect(explicitNumber).toBeGreaterThan(after);
        // Stored before its 201: the database holds it now, or a tick that came right after it.
        const stored = (await numbers(ticking)).stored;
        expect(stored).toBeGreaterThanOrEqual(explicitNumber);
        seen.db.push(stored);
        explicit++;
      }
      await sleep(200);
    }
    const t1 = Date.now();
    const n1 = (await numbers(ticking)).taken;

    for (const s of Object.values(seen)) {
      for (let i = 1; i < s.length; i++) expect(s[i]!).toBeGreaterThanOrEqual(s[i - 1]!);
    }
    const distinct = new Set(seen.db).size;

    // Ticks in (t0 - 1 s, t1]: the one just before t0 may take its number after n0.
    const made = Number(n1 - n0);
    const upper = ticksIn(t0 - 1000, t1) + explicit;
    const lower = ticksIn(t0, t1) - 2;
    const report = `${made} CRLs in ${t1 - t0} ms (${ticksIn(t0, t1)} ticks, ${explicit} explicit; ${distinct} distinct numbers polled)`;
    expect(made, report).toBeLessThanOrEqual(upper);
    expect(made, report).toBeGreaterThanOrEqual(lower);
    console.log(`two nodes: ${report}`);

    // Settled: both nodes serve the number the database holds, and the same bytes.
    for (let i = 0; ; i++) {
      const { stored } = await numbers(ticking);
      const [na, nb] = await Promise.all([a.servedNumber(ticking), b.servedNumber(ticking)]);
      if (na === stored && nb === stored) {
        const [da, db] = await Promise.all([a, b].map(async (n) => Buffer.from(await (await fetch(`${n.url}/crl/${ticking}.crl`)).arrayBuffer())));
        if (da!.equals(db!)) break;
      }
      if (i > 10) throw new Error(`nodes serve ${na} and ${nb}, the database holds ${stored}`);
      await sleep(150);
    }
  });

  it('ok/a schedule changed through node A (PATCH) is followed by node B too: no more CRLs on the old 2-second schedule', async () => {
    const r = await a.api('PATCH', `/v1/cas/${patched}`, { revocation: { crl: { enabled: true, schedule: '0 0 1 1 *' } } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.revocation.crl.schedule).toBe('0 0 1 1 *');
    // Let what the PATCH itself set off (and a build in flight) finish, then watch two or more ticks.
    await sleep(2_500);
    const t0 = Date.now();
    const n0 = (await numbers(patched)).taken;
    await sleep(4_500);
    const made = Number((await numbers(patched)).taken - n0);
    expect(made, `${made} CRLs made on the old schedule in ${Date.now() - t0} ms (${ticksIn(t0, Date.now())} old ticks)`).toBe(0);
  });

  it(`fail/node A killed (SIGKILL) in the middle of publishing ${SEEDED.toLocaleString('en')} entries: its number is never reused; node B's next CRL is higher, parses and verifies`, async () => {
    const before = await numbers(big);
    const highestSeen = before.taken > before.stored ? before.taken : before.stored;

    // POST on A (never answered), then SIGKILL once A has taken its number and is building.
    const posted = a.api('POST', `/v1/cas/${big}/crl`).then(
      (r) => r,
      () => undefined,
    );
    let taken = before.taken;
    for (const deadline = Date.now() + 10_000; taken === before.taken; await sleep(5)) {
      if (Date.now() > deadline) throw new Error(`node A took no CRL number within 10 s:\n${a.output}`);
      taken = (await numbers(big)).taken;
    }
    await sleep(50 + Math.floor(Math.random() * 100));
    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    expect(await posted).toBeUndefined(); // the POST died with the process
    const afterKill = await numbers(big);
    expect(afterKill.taken).toBe(taken);
    // A died before storing: otherwise this did not test a publication cut in the middle.
    expect(afterKill.stored, 'node A finished its CRL before the kill: the build was too fast for this test').toBeLessThan(taken);
    expect(taken).toBeGreaterThan(highestSeen);

    // Node B publishes (waiting, if need be, for PostgreSQL to drop A's advisory lock).
    const r = await b.api('POST', `/v1/cas/${big}/crl`);
    expect(r.status, r.text).toBe(201);
    const next = BigInt(r.body.crlNumber);
    expect(next).toBeGreaterThan(taken);
    expect(r.body.revokedCount).toBe(SEEDED);
    expect((await numbers(big)).stored).toBe(next);
    expect(await b.servedNumber(big)).toBe(next);
    // The CRL is stored in pieces: the dead build's are gone, the new one's and the previous one's stay.
    const pieces = await sql.query<{ n: string; parts: string }>(
      `SELECT crl_number::text AS n, count(*)::text AS parts FROM crl_parts WHERE ca_id = $1 AND partition = '' GROUP BY crl_number`,
      [big],
    );
    const byNumber = new Map(pieces.rows.map((r) => [BigInt(r.n), Number(r.parts)]));
    expect(byNumber.has(taken)).toBe(false);
    expect(byNumber.get(next)).toBeGreaterThan(10);
    expect([...byNumber.keys()].every((n) => n === next || n === afterKill.stored)).toBe(true);

    const res = await fetch(`${b.url}/crl/${big}.crl`);
    expect(res.status).toBe(200);
    const der = Buffer.from(await res.arrayBuffer());
    expect(countCrlEntries(der)).toBe(SEEDED);
    const caFile = pki.file(`big-${big}.pem`, (await b.api('GET', `/v1/cas/${big}/certificate`)).body.certificate);
    // DER, as served: this OpenSSL 3.0 spent over a minute reading a 19 MB PEM CRL, under a second on its DER.
    const crlFile = path.join(pki.dir, `big-${big}.crl`);
    writeFileSync(crlFile, der);
    const verified = pki.run(['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', caFile, '-verify', '-noout', '-crlnumber']);
    expect(verified.status, verified.out).toBe(0);
    expect(verified.out).toContain('verify OK');
    expect(verified.out).toMatch(new RegExp(`crlNumber=0x${next.toString(16).toUpperCase().padStart(2, '0')}\\b`, 'i'));
  });

  it('ok/with node A gone, node B alone keeps the 2-second schedule and serves the latest', async () => {
    expect(a.running).toBe(false);
    const t0 = Date.now();
    const n0 = (await numbers(ticking)).taken;
    await sleep(4_500);
    const t1 = Date.now();
    const made = Number((await numbers(ticking)).taken - n0);
    expect(made).toBeGreaterThanOrEqual(1);
    expect(made).toBeLessThanOrEqual(ticksIn(t0 - 1000, t1));
    for (let i = 0; ; i++) {
      const { stored } = await numbers(ticking);
      if ((await b.servedNumber(ticking)) === stored) break;
      if (i > 10) throw new Error('node B does not serve the latest CRL');
      await sleep(100);
    }
  });
});
