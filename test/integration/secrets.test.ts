import { spawn, type ChildProcess } from 'node:child_process';
import { createDecipheriv, createHash, createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { createTestDatabase, DRIVERS, startService, type TestService } from '../support/service.ts';
import { freePort } from '../support/net.ts';

/*
 * docs/architecture.md: "A CA private key never leaves its key store through any API, log or error. Software keys
 * are stored encrypted (AES-256-GCM) under a key-encryption key that is never in the database."
 * "Tokens and PINs are stored hashed or read from files/env; they are never logged."
 */

const ALGORITHMS = ['EC_prime256v1', 'EC_secp384r1', 'EC_secp521r1', 'RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
const REPO = path.resolve(import.meta.dirname, '../..');

const bytesOf = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array));

/** AES-256-GCM as the software key store seals keys: 12-byte nonce || ciphertext || 16-byte tag, the id as AAD. */
function unwrap(kek: Buffer, aad: string, sealed: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', kek, sealed.subarray(0, 12));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}

interface Secret {
  what: string;
  bytes: Buffer;
}

/** The private parts of a PKCS#8 key: the DER itself and every private JWK member (d; p, q, dp, dq, qi). */
function privateParts(label: string, pkcs8: Buffer): Secret[] {
  const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }) as Record<string, string>;
  const out: Secret[] = [{ what: `${label} PKCS#8`, bytes: pkcs8 }];
  for (const k of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
    if (jwk[k]) out.push({ what: `${label} private ${k}`, bytes: Buffer.from(jwk[k]!, 'base64url') });
  }
  return out;
}

/**
 * The forms a secret could take in a column or a log line: raw bytes, hex, and base64 / base64url at
 * each of the three alignments it could have inside a longer encoded blob (24-byte slices: 32 characters).
 */
function encodings(s: Secret): { what: string; needle: Buffer }[] {
  const forms = [
    { what: `${s.what} (raw)`, needle: s.bytes },
    { what: `${s.what} (hex)`, needle: Buffer.from(s.bytes.toString('hex')) },
    { what: `${s.what} (HEX)`, needle: Buffer.from(s.bytes.toString('hex').toUpperCase()) },
  ];
  for (let k = 0; k < 3; k++) {
    const slice = s.bytes.subarray(k, k + 24);
    forms.push({ what: `${s.what} (base64, offset ${k})`, needle: Buffer.from(slice.toString('base64')) });
    forms.push({ what: `${s.what} (base64url, offset ${k})`, needle: Buffer.from(slice.toString('base64url')) });
  }
  return forms;
}

/** PKCS#8 PrivateKeyInfo starts with version 0 and the key's AlgorithmIdentifier: nothing else does. */
const PKCS8_PREFIXES = [
  { what: 'PKCS#8 EC prefix', needle: Buffer.from('020100301306072a8648ce3d0201', 'hex') },
  { what: 'PKCS#8 RSA prefix', needle: Buffer.from('020100300d06092a864886f70d0101010500', 'hex') },
  { what: '"PRIVATE KEY" (a PEM label)', needle: Buffer.from('PRIVATE KEY') },
];

/** Every cell of every table of the public schema, as bytes, plus each row as PostgreSQL's text. */
async function everyCell(query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>): Promise<{ where: string; bytes: Buffer }[]> {
  const tables = (await query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).rows.map((r) => String(r.tablename));
  expect(tables).toEqual(expect.arrayContaining(['api_tokens', 'audit_events', 'cas', 'certificates', 'idempotency_keys', 'software_keys']));
  const cells: { where: string; bytes: Buffer }[] = [];
  for (const t of tables) {
    const { rows } = await query(`SELECT * FROM "${t}"`);
    rows.forEach((row, i) => {
      for (const [col, v] of Object.entries(row)) {
        if (v === null || v === undefined) continue;
        const b =
          v instanceof Uint8Array ? Buffer.from(v) : v instanceof Date ? Buffer.from(v.toISOString()) : typeof v === 'object' ? Buffer.from(JSON.stringify(v)) : Buffer.from(String(v));
        cells.push({ where: `${t}[${i}].${col}`, bytes: b });
      }
    });
    const text = await query(`SELECT x::text AS row FROM "${t}" x`);
    text.rows.forEach((r, i) => cells.push({ where: `${t}[${i}]::text`, bytes: Buffer.from(String(r.row)) }));
  }
  return cells;
}

/** Fails with every needle found in a haystack, or in it with whitespace and JSON "\\n" escapes taken out (PEM lines). */
function expectAbsent(haystacks: { where: string; bytes: Buffer }[], needles: { what: string; needle: Buffer }[]): void {
  const all = haystacks.flatMap((h) => [h, { where: `${h.where} (without line breaks)`, bytes: Buffer.from(h.bytes.toString('latin1').replace(/\s+|\\[nr]/g, ''), 'latin1') }]);
  const found: string[] = [];
  for (const n of needles) for (const h of all) if (h.bytes.includes(n.needle)) found.push(`${n.what} in ${h.where}`);
  expect(found).toEqual([]);
}

interface KeyRow {
  id: string;
  algorithm: string;
  spki: Buffer;
  wrappedKey: Buffer;
  kekId: string;
}

/** Decrypts every software key with the KEK and checks it is the key of its row (and of its CA). */
function openKeys(rows: KeyRow[], kek: Buffer): Secret[] {
  const secrets: Secret[] = [];
  for (const row of rows) {
    const pkcs8 = unwrap(kek, row.id, row.wrappedKey);
    // Only this KEK, and only under this row's id, opens it.
    expect(() => unwrap(randomBytes(32), row.id, row.wrappedKey)).toThrow();
    expect(() => unwrap(kek, '00000000-0000-4000-8000-000000000000', row.wrappedKey)).toThrow();
    const priv = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    expect(createPublicKey(priv).export({ format: 'der', type: 'spki' }).equals(row.spki), `key ${row.id} matches its spki`).toBe(true);
    expect(row.kekId).not.toBe('');
    secrets.push(...privateParts(`key ${row.id} (${row.algorithm})`, pkcs8));
  }
  return secrets;
}

describe.each(DRIVERS)('no secret in clear in the database (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  const caIds = new Map<string, string>();

  beforeAll(async () => {
    svc = await startService(driver);
    for (const keyAlgorithm of ALGORITHMS) {
      const r = await svc.api('POST', '/v1/cas', {
        type: 'ROOT',
        subject: { commonName: `Root ${keyAlgorithm}`, organization: 'Secrets Test' },
        keyAlgorithm,
        revocation: { crl: { enabled: true, baseUrl: 'http://crl.example.internal' } },
        tags: { purpose: 'secrets' },
      });
      expect(r.status, r.text).toBe(201);
      caIds.set(keyAlgorithm, r.body.id);
      const leaf = await svc.api('POST', `/v1/cas/${r.body.id}/certificates`, {
        csr: pki.csr({ subject: `/CN=${keyAlgorithm.toLowerCase().replace(/_/g, '-')}.example.internal` }).csr,
        validity: { days: 2 },
        idempotencyToken: `tok-${keyAlgorithm}`,
      });
      expect(leaf.status, leaf.text).toBe(201);
    }
    // A subordinate CA (its key exists before it has a certificate), imported, issuing, and one revocation.
    const sub = await svc.api('POST', '/v1/cas', { type: 'SUBORDINATE', subject: { commonName: 'Sub' }, keyAlgorithm: 'EC_secp384r1' });
    expect(sub.status).toBe(201);
    const pending = await svc.api('POST', '/v1/cas', { type: 'SUBORDINATE', subject: { commonName: 'Pending' }, keyAlgorithm: 'RSA_2048' });
    expect(pending.status).toBe(201);
    const root = pki.root();
    const signed = pki.sign((await svc.api('GET', `/v1/cas/${sub.body.id}/csr`)).body.csr, root, { ca: true });
    expect((await svc.api('POST', `/v1/cas/${sub.body.id}/certificate`, { certificate: signed.cert, chain: root.cert })).status).toBe(200);
    const leaf = await svc.api('POST', `/v1/cas/${sub.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=leaf.example.internal' }).csr, validity: { days: 1 } });
    expect(leaf.status).toBe(201);
    expect((await svc.api('POST', `/v1/cas/${sub.body.id}/certificates/${leaf.body.serial}/revoke`, { reason: 'KEY_COMPROMISE' })).status).toBe(200);
  });
  afterAll(() => svc?.close());

  const keyRows = async (): Promise<KeyRow[]> =>
    (await svc.db.query<Record<string, unknown>>('SELECT id, algorithm, spki, wrapped_key, kek_id FROM software_keys ORDER BY id')).rows.map((r) => ({
      id: String(r.id),
      algorithm: String(r.algorithm),
      spki: bytesOf(r.spki),
      wrappedKey: bytesOf(r.wrapped_key),
      kekId: String(r.kek_id),
    }));

  const kekOf = async () => Buffer.from((await readFile(path.join(svc.dataDir, 'kek'), 'utf8')).trim(), 'base64');

  it('ok/every CA key is a software_keys row that decrypts only under the KEK, to the CA key', async () => {
    const rows = await keyRows();
    const kek = await kekOf();
    expect(kek.length).toBe(32);
    const cas = (await svc.db.query<Record<string, unknown>>('SELECT id, key_uri, key_algorithm, certificate FROM cas')).rows;
    expect(cas.length).toBe(ALGORITHMS.length + 2);
    // A key per CA, and the audit key.
    const auditKeys = (await svc.db.query<{ key_uri: string }>('SELECT key_uri FROM audit_keys')).rows.map((r) => r.key_uri);
    expect(auditKeys).toHaveLength(1);
    expect(rows.length).toBe(cas.length + 1);
    expect(rows.filter((r) => auditKeys.includes(`software:${r.id}`))).toHaveLength(1);
    expect(new Set(rows.map((r) => r.algorithm))).toEqual(new Set([...ALGORITHMS, 'EC_prime256v1']));
    openKeys(rows, kek);
    for (const ca of cas) {
      const row = rows.find((r) => `software:${r.id}` === ca.key_uri);
      expect(row, `the key of CA ${ca.id}`).toBeDefined();
      expect(row!.algorithm).toBe(ca.key_algorithm);
      if (ca.certificate) {
        const cert = new X509Certificate(bytesOf(ca.certificate));
        expect(cert.publicKey.export({ format: 'der', type: 'spki' }).equals(row!.spki), `CA ${ca.id}'s certificate is for its key`).toBe(true);
      }
    }
  });

  it('ok/no private key (PKCS#8, scalar or RSA primes, in any encoding), no KEK and no token appears in any column of any table', async () => {
    const rows = await keyRows();
    const kek = await kekOf();
    const secrets = openKeys(rows, kek);
    // The secrets are long enough that a chance match is impossible.
    for (const s of secrets) expect(s.bytes.length, s.what).toBeGreaterThanOrEqual(32);
    const cells = await everyCell((sql) => svc.db.query(sql));
    expect(cells.length).toBeGreaterThan(50);
    expectAbsent(cells, [
      ...secrets.flatMap(encodings),
      ...encodings({ what: 'the KEK', bytes: kek }),
      { what: 'the KEK file text', needle: Buffer.from((await readFile(path.join(svc.dataDir, 'kek'), 'utf8')).trim()) },
      { what: 'the admin token', needle: Buffer.from(svc.token) },
      { what: 'the admin token (hex)', needle: Buffer.from(Buffer.from(svc.token).toString('hex')) },
      ...PKCS8_PREFIXES,
    ]);
    // The wrapped key is not the PKCS#8 with a few bytes around it.
    for (const r of rows) expect(r.wrappedKey.length).toBeGreaterThan(28);
  });

  it('ok/api_tokens holds the SHA-256 of the admin token, never the token', async () => {
    const { rows } = await svc.db.query<Record<string, unknown>>('SELECT * FROM api_tokens');
    expect(rows.length).toBe(1);
    expect(bytesOf(rows[0]!.token_hash).equals(createHash('sha256').update(svc.token, 'utf8').digest())).toBe(true);
    expect(JSON.stringify(rows[0])).not.toContain(svc.token);
  });

  it('ok/the KEK file is mode 0600 and its data directory is not open to others', async () => {
    expect((await stat(path.join(svc.dataDir, 'kek'))).mode & 0o777).toBe(0o600);
    expect((await stat(svc.dataDir)).mode & 0o077).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// The real process: its stdout and stderr, at the most verbose log level, carry no secret.
// ---------------------------------------------------------------------------------------------


describe('no secret in the logs of the real process (PostgreSQL, LOG_LEVEL=trace)', () => {
  let child: ChildProcess | undefined;
  let output = '';
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let url: string;
  let token: string;
  let exit: Promise<number | null>;
  const pki = new OpensslPki();

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'privateca-secrets-'));
    database = await createTestDatabase();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), PRIVATECA_DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'trace' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    exit = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 45_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}:\n${output}`);
      const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`the service did not become healthy:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
  };

  it('ok/creating CAs of every algorithm, issuing, importing, revoking and failing logs no key, KEK or token', async () => {
    for (const keyAlgorithm of ALGORITHMS) {
      const r = await api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: `Logged ${keyAlgorithm}` }, keyAlgorithm });
      expect(r.status, r.text).toBe(201);
      const leaf = await api('POST', `/v1/cas/${r.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=log.example.internal' }).csr, validity: { days: 1 } });
      expect(leaf.status, leaf.text).toBe(201);
    }
    const sub = await api('POST', '/v1/cas', { type: 'SUBORDINATE', subject: { commonName: 'Logged Sub' }, keyAlgorithm: 'EC_prime256v1' });
    const csr = (await api('GET', `/v1/cas/${sub.body.id}/csr`)).body.csr;
    const root = pki.root();
    // Failures too: errors must not carry key material either.
    expect((await api('POST', `/v1/cas/${sub.body.id}/certificate`, { certificate: pki.sign(csr, root, { ca: false }).cert, chain: root.cert })).status).toBe(400);
    expect((await api('POST', `/v1/cas/${sub.body.id}/certificate`, { certificate: pki.sign(csr, root, { ca: true }).cert, chain: root.cert })).status).toBe(200);
    const leaf = await api('POST', `/v1/cas/${sub.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=sub-leaf.example.internal' }).csr, validity: { days: 1 } });
    expect(leaf.status).toBe(201);
    expect((await api('POST', `/v1/cas/${sub.body.id}/certificates/${leaf.body.serial}/revoke`, {})).status).toBe(200);
    expect((await api('POST', `/v1/cas/${sub.body.id}/certificates`, { csr: 'nope', validity: { days: 1 } })).status).toBe(400);
    expect((await fetch(`${url}/v1/cas`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);

    child!.kill('SIGTERM');
    expect(await exit).toBe(0);

    const kekText = (await readFile(path.join(dataDir, 'kek'), 'utf8')).trim();
    const kek = Buffer.from(kekText, 'base64');
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    let rows: KeyRow[];
    let cells: { where: string; bytes: Buffer }[];
    try {
      rows = (await db.query('SELECT id, algorithm, spki, wrapped_key, kek_id FROM software_keys')).rows.map((r) => ({
        id: r.id,
        algorithm: r.algorithm,
        spki: r.spki,
        wrappedKey: r.wrapped_key,
        kekId: r.kek_id,
      }));
      cells = await everyCell((sql) => db.query(sql));
    } finally {
      await db.end();
    }
    // A key per CA made below, the first root's, and the audit key.
    expect(rows.length).toBe(ALGORITHMS.length + 2);
    const secrets = openKeys(rows, kek);

    // The log was written, and says what happened...
    expect(output).toContain('administrator created');
    expect(output).toContain(path.join(dataDir, 'admin-token'));
    expect(output).toMatch(/"path":"\/v1\/cas"/);
    // ...but never a secret.
    const log = [{ where: 'stdout+stderr', bytes: Buffer.from(output) }];
    expectAbsent(log, [
      ...secrets.flatMap(encodings),
      ...encodings({ what: 'the KEK', bytes: kek }),
      { what: 'the KEK file text', needle: Buffer.from(kekText) },
      { what: 'the admin token', needle: Buffer.from(token) },
      { what: 'the admin token without its prefix', needle: Buffer.from(token.replace(/^pca_/, '')) },
      ...PKCS8_PREFIXES,
    ]);
    // And the database written by the real process holds none either.
    expectAbsent(cells, [...secrets.flatMap(encodings), ...encodings({ what: 'the KEK', bytes: kek }), { what: 'the admin token', needle: Buffer.from(token) }]);
    expect((await stat(path.join(dataDir, 'kek'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dataDir, 'admin-token'))).mode & 0o777).toBe(0o600);
  }, 120_000);
});
