import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { freePort } from '../support/net.ts';
import { createTestDatabase } from '../support/service.ts';

/*
 * Two service processes on one PostgreSQL, both issuing while whichever holds the sealer's advisory
 * lock seals: one chain in one total order, no gaps, every acknowledged certificate's event in it.
 * Then the node that is sealing is killed with SIGKILL in the middle of a large backlog: the other
 * takes over and the chain still verifies.
 */

const REPO = path.resolve(import.meta.dirname, '../..');
/** The sealer's advisory lock key, as src/db/job-lock.ts derives it from the name 'audit-sealer'. */
const SEALER_KEY = (createHash('sha256').update('audit-sealer').digest().readUInt32BE(0) & 0x7fffffff) | 0x00800000;

class Node {
  output = '';
  killed = false;
  readonly exited: Promise<void>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stdout!.on('data', (c: Buffer) => (this.output += c));
    child.stderr!.on('data', (c: Buffer) => (this.output += c));
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }
  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

describe('the audit chain across two nodes on one PostgreSQL', () => {
  let db: { url: string; drop(): Promise<void> };
  let sql: pg.Client;
  let dataDir: string;
  const token = 'pca_test_' + randomBytes(16).toString('hex');
  const kek = randomBytes(32).toString('base64');
  const nodes: Node[] = [];
  const pki = new OpensslPki();
  let caId: string;
  const csrs = Array.from({ length: 16 }, (_, i) => pki.csr({ subject: `/CN=n${i}.example`, san: `DNS:n${i}.example` }).csr);

  const start = async (name: string) => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        // application_name tells which node's connection holds the sealer's lock
        DATABASE_URL: `${db.url}?application_name=${name}`,
        PRIVATECA_KEK: kek,
        PRIVATECA_BOOTSTRAP_TOKEN: token,
        PRIVATECA_WORKERS: '1',
        PRIVATECA_DATA_DIR: path.join(dataDir, name),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const node = new Node(name, child, `http://127.0.0.1:${port}`);
    nodes.push(node);
    for (const t0 = Date.now(); ; ) {
      if (!node.running) throw new Error(`${name} exited:\n${node.output}`);
      if (await fetch(`${node.url}/readyz`).then((r) => r.ok, () => false)) return node;
      if (Date.now() - t0 > 60_000) throw new Error(`${name} not healthy:\n${node.output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const api = async (node: Node, method: string, p: string, body?: unknown) => {
    const res = await fetch(node.url + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
  };
  /** `clients` concurrent clients on `node` issuing until `until()` says stop (or `count` each); the serials acknowledged. */
  const issuing = async (node: Node, clients: number, o: { count?: number; until?: () => boolean }) => {
    const acknowledged: string[] = [];
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; o.count === undefined || i < o.count; i++) {
          if (o.until?.()) return;
          const r = await api(node, 'POST', `/v1/cas/${caId}/certificates`, { csr: csrs[(c + i) % csrs.length], template: 'EndEntityServerAuthCertificate/V1', validity: { days: 7 } }).catch(() => undefined);
          if (r?.status === 201) acknowledged.push(r.body.serial);
          else if (node.killed) return;
          else expect(r?.status, r?.text).toBe(201);
        }
      }),
    );
    return acknowledged;
  };
  const chainState = async () =>
    (
      await sql.query<{ total: string; sealed: string; min: string | null; max: string | null; distinct: string }>(
        'SELECT count(*) AS total, count(seq) AS sealed, min(seq) AS min, max(seq) AS max, count(DISTINCT seq) AS distinct FROM audit_events',
      )
    ).rows[0]!;
  const allSealed = async (withinMs: number) => {
    for (const t0 = Date.now(); Date.now() - t0 < withinMs; await new Promise((r) => setTimeout(r, 100))) {
      const s = await chainState();
      if (s.total === s.sealed) return s;
    }
    throw new Error(`events still unsealed after ${withinMs} ms: ${JSON.stringify(await chainState())}`);
  };
  /** Every acknowledged certificate is in the table and has exactly one sealed IssueCertificate event. */
  const eventsOf = async (serials: string[]) => {
    const r = await sql.query<{ serial: string; n: string; sealed: string }>(
      `SELECT c.serial, count(e.id) AS n, count(e.seq) AS sealed FROM certificates c
         LEFT JOIN audit_events e ON e.action = 'privateca:IssueCertificate' AND e.details->>'serial' = c.serial AND e.resource = 'ca/' || c.ca_id
        WHERE c.serial = ANY($1) GROUP BY c.serial`,
      [serials],
    );
    expect(r.rows.length).toBe(serials.length);
    for (const row of r.rows) expect([row.serial, row.n, row.sealed]).toEqual([row.serial, '1', '1']);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'privateca-audit-nodes-'));
    await start('audit-node-a');
    await start('audit-node-b');
    const ca = await api(nodes[0]!, 'POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Two Nodes Root' }, keyAlgorithm: 'EC_prime256v1' });
    expect(ca.status, ca.text).toBe(201);
    caId = ca.body.id;
  }, 120_000);
  afterAll(async () => {
    for (const n of nodes) if (n.running) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await sql?.end();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('ok/both nodes issuing while one seals: one chain without gaps that verifies, every acknowledged certificate in it once', async () => {
    const [a, b] = nodes as [Node, Node];
    const [onA, onB] = await Promise.all([issuing(a, 8, { count: 40 }), issuing(b, 8, { count: 40 })]);
    expect(onA.length + onB.length).toBe(640);
    const s = await allSealed(10_000);
    expect([s.min, s.max, s.distinct]).toEqual(['1', s.total, s.total]);
    await eventsOf([...onA, ...onB]);
    for (const node of [a, b]) {
      const v = await api(node, 'GET', '/v1/audit/verify');
      expect(v.body, v.text).toMatchObject({ ok: true, events: Number(s.total) });
    }
  }, 120_000);

  it('ok/the sealing node killed with SIGKILL mid-seal: the other takes over, and the chain still verifies without gaps', async () => {
    // A backlog of 200,000 unsealed events (a burst), so that a seal takes seconds and can be interrupted.
    await sql.query(
      `INSERT INTO audit_events (at, principal_name, action, resource, outcome, details)
       SELECT now(), 'admin', 'privateca:IssueCertificate', 'ca/${caId}', 'SUCCESS', jsonb_build_object('burst', g) FROM generate_series(1, 200000) g`,
    );
    let stop = false;
    const load = nodes.map((n) => issuing(n, 4, { until: () => stop }));
    // Which node holds the lock while sealing is under way?
    let sealing: Node | undefined;
    let sealedAtKill = 0;
    for (const t0 = Date.now(); !sealing; await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() - t0 > 15_000) throw new Error('no node was seen sealing');
      const holder = await sql.query<{ application_name: string }>(
        `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = $1 AND l.granted`,
        [SEALER_KEY],
      );
      const s = await chainState();
      if (holder.rows[0] && Number(s.total) - Number(s.sealed) > 20_000) {
        sealing = nodes.find((n) => n.name === holder.rows[0]!.application_name);
        sealedAtKill = Number(s.sealed);
      }
    }
    sealing!.killed = true;
    sealing!.child.kill('SIGKILL');
    await sealing!.exited;
    const survivor = nodes.find((n) => n !== sealing)!;
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    const [first, second] = await Promise.all(load);
    const s = await allSealed(60_000);
    expect(Number(s.sealed)).toBeGreaterThan(sealedAtKill + 20_000);
    expect([s.min, s.max, s.distinct]).toEqual(['1', s.total, s.total]);
    // What either node acknowledged, the killed one included, is in the chain once.
    await eventsOf([...first!, ...second!]);
    const v = await api(survivor, 'GET', '/v1/audit/verify');
    expect(v.body, v.text).toMatchObject({ ok: true, events: Number(s.total) });
  }, 180_000);
});
