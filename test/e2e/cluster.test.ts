import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OpensslPki } from '../pki/openssl.ts';
import { issueLoad } from '../support/load.ts';
import { freePort } from '../support/net.ts';
import { buildService, killStarted, REPO, ServiceProcess } from '../support/process.ts';
import { createTestDatabase } from '../support/service.ts';

/*
 * The cluster set-up of docker-compose.yml: PostgreSQL, two privateca nodes and HAProxy in front
 * (deploy/haproxy.cfg). No container engine runs here, so the file is checked against the project,
 * and the same topology runs with real processes: Debian's haproxy with that very haproxy.cfg in
 * front of two nodes (two workers each) on the local PostgreSQL.
 */

const compose = parse(await readFile(path.join(REPO, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image?: string; restart?: string; environment?: Record<string, string>; volumes?: string[]; ports?: string[]; healthcheck?: { test: string[] }; depends_on?: Record<string, unknown>; command?: string[] }>;
  volumes: Record<string, unknown>;
};
const haproxyCfg = await readFile(path.join(REPO, 'deploy/haproxy.cfg'), 'utf8');

/** Every source file of the service, for the variables the compose file sets. */
async function sources(dir: string): Promise<string> {
  let out = '';
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out += await sources(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out += await readFile(p, 'utf8');
  }
  return out;
}

describe('docker-compose.yml', () => {
  const nodes = Object.keys(compose.services).filter((n) => n.startsWith('privateca-'));

  it('ok/names PostgreSQL, two privateca nodes and HAProxy, each with a restart policy and an image', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['haproxy', 'postgres', 'privateca-1', 'privateca-2']);
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.restart, name).toMatch(/^(always|unless-stopped|on-failure)/);
      expect(s.image, name).toBeTruthy();
    }
  });

  it('ok/every variable a node sets is one the service reads; both share the database and the KEK volume; health is /readyz', async () => {
    const code = (await Promise.all(['src', 'hsm-adapters', 'api', 'crl'].map((d) => sources(path.join(REPO, d))))).join('\n');
    for (const n of nodes) {
      const s = compose.services[n]!;
      for (const name of Object.keys(s.environment ?? {})) expect(code.includes(`'${name}'`) || code.includes(`.${name}`), `${n}: ${name}`).toBe(true);
      expect(s.environment!.DATABASE_URL).toBe(compose.services['privateca-1']!.environment!.DATABASE_URL);
      expect(s.environment!.PRIVATECA_KEK_FILE, n).toMatch(/^\/kek\//);
      expect(s.volumes, n).toContain('privateca-kek:/kek');
      expect(s.healthcheck!.test.join(' '), n).toContain(`http://127.0.0.1:${s.environment!.PORT}/readyz`);
      expect(s.command!.join(' '), n).toContain('npm start');
    }
    expect(new URL(compose.services['privateca-1']!.environment!.DATABASE_URL!).hostname).toBe('postgres');
  });

  it('ok/every named volume is declared, every bind-mounted file exists, every service a dependency names exists', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(path.join(REPO, source)), `${name}: ${v}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: ${v}`).toContain(source);
      }
      for (const d of Object.keys(s.depends_on ?? {})) expect(Object.keys(compose.services), `${name} depends on ${d}`).toContain(d);
    }
  });

  it('ok/HAProxy gets the haproxy.cfg of the project, every address that file reads, and publishes the port it listens on', () => {
    const h = compose.services.haproxy!;
    expect(h.volumes).toContain('./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    const read = [...haproxyCfg.matchAll(/"\$\{([A-Z0-9_]+)\}"/g)].map((m) => m[1]!);
    expect(read.sort()).toEqual(['PRIVATECA_LISTEN', 'PRIVATECA_NODE1', 'PRIVATECA_NODE2']);
    for (const v of read) expect(h.environment?.[v], v).toBeTruthy();
    const listen = h.environment!.PRIVATECA_LISTEN!.replace(/^.*:/, '');
    expect(h.ports).toContain(`${listen}:${listen}`);
    nodes.forEach((n, i) => expect(h.environment![`PRIVATECA_NODE${i + 1}`]).toBe(`${n}:${compose.services[n]!.environment!.PORT}`));
    expect(haproxyCfg).toMatch(/option httpchk GET \/readyz/);
  });
});

describe('the same topology with real processes: HAProxy in front of two nodes on PostgreSQL', () => {
  const pki = new OpensslPki();
  const csr = pki.csr({ subject: '/CN=cluster.example.internal' }).csr;
  let build: Awaited<ReturnType<typeof buildService>>;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let haproxy: ChildProcess;
  let haproxyOutput = '';
  const dirs: string[] = [];
  const token = 'pca_cluster_' + randomBytes(16).toString('hex');
  const kek = randomBytes(32).toString('base64');
  let front: string;
  const ports: string[] = [];
  const nodes: ServiceProcess[] = [];

  const startNode = async (i: number) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `privateca-cluster-${i}-`));
    dirs.push(dir);
    nodes[i] = await ServiceProcess.start(build.dir, {
      PORT: ports[i]!,
      DATABASE_URL: database.url,
      PRIVATECA_DATA_DIR: dir,
      PRIVATECA_KEK: kek,
      PRIVATECA_BOOTSTRAP_TOKEN: token,
      PRIVATECA_WORKERS: '2',
      LOG_LEVEL: 'warn',
    });
  };

  beforeAll(async () => {
    build = await buildService('cluster');
    database = await createTestDatabase();
    ports.push(String(await freePort()), String(await freePort()));
    await startNode(0);
    await startNode(1);
    const listen = await freePort();
    front = `http://127.0.0.1:${listen}`;
    haproxy = spawn('haproxy', ['-db', '-f', path.join(REPO, 'deploy/haproxy.cfg')], {
      env: { PATH: process.env.PATH, PRIVATECA_LISTEN: `127.0.0.1:${listen}`, PRIVATECA_NODE1: `127.0.0.1:${ports[0]}`, PRIVATECA_NODE2: `127.0.0.1:${ports[1]}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    haproxy.stdout!.on('data', (c) => (haproxyOutput += c));
    haproxy.stderr!.on('data', (c) => (haproxyOutput += c));
    for (const deadline = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 200))) {
      if (haproxy.exitCode !== null) throw new Error(`haproxy exited: ${haproxyOutput}`);
      if (await fetch(`${front}/readyz`).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`haproxy not answering: ${haproxyOutput}`);
    }
  }, 180_000);

  afterAll(async () => {
    haproxy?.kill('SIGKILL');
    await killStarted();
    await database?.drop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await build?.remove();
  });

  it(
    'ok/a rolling restart of both nodes under load (16 clients through HAProxy): no client sees an error or a 5xx, nothing acknowledged is lost',
    async () => {
      const ca = await fetch(`${front}/v1/cas`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'ROOT', subject: { commonName: 'Cluster Root' }, keyAlgorithm: 'EC_prime256v1' }),
      });
      expect(ca.status).toBe(201);
      const caId = ((await ca.json()) as { id: string }).id;
      const load = issueLoad({ url: front, token, caId, csr, concurrency: 16 });
      const wait = async (n: number) => {
        const target = load.issued + n;
        while (load.issued < target) await new Promise((r) => setTimeout(r, 20));
      };
      await wait(300);
      for (const i of [0, 1]) {
        expect(await nodes[i]!.stop('SIGTERM')).toEqual({ code: 0, signal: null });
        await wait(200);
        await startNode(i);
        // HAProxy marks it up after two good checks, a second apart.
        await new Promise((r) => setTimeout(r, 2_500));
        await wait(200);
      }
      const r = await load.stop();
      const label = JSON.stringify({ byStatus: r.byStatus, errors: r.errors }) + '\n' + haproxyOutput.slice(-2000);
      expect(Object.keys(r.byStatus), label).toEqual(['201']);
      expect(r.errors, label).toEqual({});
      // Both nodes took part: the certificates are in the one database either way.
      const c = await fetch(`${front}/v1/cas/${caId}/certificates?limit=1`, { headers: { authorization: `Bearer ${token}` } });
      expect(c.status).toBe(200);
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const stored = new Set((await client.query<{ serial: string }>('SELECT serial FROM certificates WHERE ca_id = $1', [caId])).rows.map((x) => x.serial));
        expect(r.acknowledged.filter((a) => !stored.has(a.serial))).toEqual([]);
        expect(r.acknowledged.length).toBeGreaterThan(1000);
      } finally {
        await client.end();
      }
    },
    240_000,
  );
});
