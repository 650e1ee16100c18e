import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrlTargetQueue, publishToTargets, toCrlFile, crlFileRef } from '../../crl/publish-targets.ts';
import { DirectoryPublisher } from '../../crl/publishers/directory.ts';
import { S3Publisher } from '../../crl/publishers/s3.ts';
import type { Db } from '../../src/db/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPgDb } from '../../src/db/pg-driver.ts';
import { createPgliteDb } from '../../src/db/pglite-driver.ts';
import { crlPublicationRepository } from '../../src/db/repositories/crl-publication-repository.ts';
import type { CrlPublicationRecord } from '../../src/ports/crl-publication-repository.ts';
import type { CrlFile, CrlPublisher } from '../../src/ports/crl-publisher.ts';
import { OpensslPki } from '../pki/openssl.ts';
import { createTestDatabase, DRIVERS } from '../support/service.ts';

/*
 * Publication targets besides the database: a directory (atomic replace, even when the writer is
 * killed), an S3-compatible bucket (against s3rver started here), and publishToTargets' retries,
 * isolation of failing targets and status rows on PostgreSQL and PGlite.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);

const pki = new OpensslPki();
let caCert: string;
let caKey: string;

/** A real CRL made by `openssl ca -gencrl`, with `revoked` entries (so it is big enough to take a while to write). */
function opensslCrl(crlNumber: number, revoked = 20_000): Buffer {
  const tag = `${crlNumber}-${randomBytes(4).toString('hex')}`;
  const lines: string[] = [];
  for (let i = 0; i < revoked; i++) {
    lines.push(`R\t301231000000Z\t250101000000Z,keyCompromise\t${(0x100000 + i).toString(16).toUpperCase()}\tunknown\t/CN=r${i}`);
  }
  const index = pki.file(`index-${tag}.txt`, lines.join('\n') + '\n');
  const serialFile = pki.file(`crlnumber-${tag}`, crlNumber.toString(16).padStart(2, '0') + '\n');
  const cnf = pki.file(
    `ca-${tag}.cnf`,
    `[ca]\ndefault_ca = d\n[d]\ndatabase = ${index}\ncrlnumber = ${serialFile}\ndefault_md = sha256\ndefault_crl_days = 1\ncrl_extensions = ext\n[ext]\nauthorityKeyIdentifier=keyid:always\n`,
  );
  const pem = `crl-${tag}.pem`;
  pki.ok(['ca', '-gencrl', '-config', cnf, '-keyfile', caKey, '-cert', caCert, '-out', pem]);
  const der = `crl-${tag}.der`;
  pki.ok(['crl', '-in', pem, '-outform', 'DER', '-out', der]);
  return readFileSync(pki.file(der));
}

/** `openssl crl -inform DER -noout -text` of a file; throws when openssl cannot parse it. */
function opensslCrlNumber(file: string): number {
  const out = `${file}.txt`;
  pki.ok(['crl', '-inform', 'DER', '-in', file, '-noout', '-text', '-out', out]);
  const text = readFileSync(out, 'utf8');
  const m = /X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text);
  if (!m) throw new Error(`no CRL number in:\n${text.slice(0, 500)}`);
  return Number(m[1]);
}

const crlFile = (caId: string, crlNumber: number, der: Buffer, partition = ''): CrlFile => ({
  caId,
  partition,
  crlNumber: BigInt(crlNumber),
  path: partition ? `${caId}/${partition}.crl` : `${caId}.crl`,
  der,
});

/** Byte equality without vitest's element-by-element diff, which takes seconds on a CRL this size. */
function expectBytes(actual: Uint8Array, expected: Buffer): void {
  expect(Buffer.from(actual).equals(expected), `${actual.length} bytes differ from the expected ${expected.length}`).toBe(true);
}

const tempFiles = async (dir: string) => (await readdir(dir, { recursive: true })).filter((n) => n.endsWith('.tmp'));

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Runs fn without root's power to write anywhere: as nobody when the tests run as root. */
async function withoutRoot<T>(fn: () => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0) return fn();
  process.seteuid!(65534);
  try {
    return await fn();
  } finally {
    process.seteuid!(0);
  }
}

const crls: Buffer[] = [];
let base: string;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  caKey = pki.key('ec:P-256');
  caCert = pki.file('crl-ca.pem');
  pki.ok([
    'req', '-x509', '-new', '-key', caKey, '-subj', '/O=Test/CN=CRL Publisher Test CA', '-days', '2',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash', '-out', caCert,
  ]);
  for (let n = 1; n <= 5; n++) crls[n] = opensslCrl(n);
  // The SDK's standard credential chain reads these (s3rver accepts S3RVER/S3RVER); set for every
  // S3 publisher here, including those aimed at a closed port.
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) savedEnv[k] = process.env[k];
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  base = await mkdtemp(path.join(os.tmpdir(), 'privateca-publish-'));
  // Readable by the unprivileged user that withoutRoot() switches to.
  await chmod(base, 0o755);
});
afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(base, { recursive: true, force: true });
});

describe('DirectoryPublisher', () => {
  it('ok/writes <caId>.crl and <caId>/<partition>.crl atomically: same bytes, 0644 despite the umask, no temp file left', async () => {
    const dir = path.join(base, 'plain');
    const p = new DirectoryPublisher({ dir });
    expect(p.name).toBe(`directory:${dir}`);
    const caId = randomUUID();
    const old = process.umask(0o077);
    try {
      await p.publish(crlFile(caId, 1, crls[1]!));
      await p.publish(crlFile(caId, 2, crls[2]!, '7'));
    } finally {
      process.umask(old);
    }
    expectBytes(await readFile(path.join(dir, `${caId}.crl`)), crls[1]!);
    expectBytes(await readFile(path.join(dir, caId, '7.crl')), crls[2]!);
    expect((await stat(path.join(dir, `${caId}.crl`))).mode & 0o777).toBe(0o644);
    expect((await stat(path.join(dir, caId, '7.crl'))).mode & 0o777).toBe(0o644);
    expect((await stat(path.join(dir, caId))).mode & 0o777).toBe(0o755);
    expect(opensslCrlNumber(path.join(dir, `${caId}.crl`))).toBe(1);
    expect(opensslCrlNumber(path.join(dir, caId, '7.crl'))).toBe(2);
    expect(await tempFiles(dir)).toEqual([]);

    await p.publish(crlFile(caId, 3, crls[3]!));
    expectBytes(await readFile(path.join(dir, `${caId}.crl`)), crls[3]!);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it('ok/concurrent publishes of increasing numbers: one publisher ends with the newest; several writers end with one complete CRL that openssl parses', async () => {
    const dir = path.join(base, 'concurrent');
    const caId = randomUUID();
    const target = path.join(dir, `${caId}.crl`);

    const one = new DirectoryPublisher({ dir });
    await Promise.all([5, 1, 3, 2, 4].map((n) => one.publish(crlFile(caId, n, crls[n]!))));
    expectBytes(await readFile(target), crls[5]!);
    expect(opensslCrlNumber(target)).toBe(5);
    // An older CRL published later never replaces the newer one.
    await one.publish(crlFile(caId, 4, crls[4]!));
    expect(opensslCrlNumber(target)).toBe(5);

    // Several processes writing the same file (each with its own publisher) while a reader checks it.
    const caId2 = randomUUID();
    const target2 = path.join(dir, `${caId2}.crl`);
    const writers = [1, 2, 3, 4].map(() => new DirectoryPublisher({ dir }));
    let done = false;
    const seen = new Set<number>();
    const reader = (async () => {
      while (!done) {
        const bytes = await readFile(target2).catch(() => undefined);
        if (bytes) {
          const n = crls.findIndex((c) => c?.equals(bytes));
          expect(n, 'a reader saw a CRL that is not one of those written').toBeGreaterThan(0);
          seen.add(n);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(
      writers.flatMap((w, i) => [1, 2, 3, 4, 5].map((n) => w.publish(crlFile(caId2, n, crls[((n + i) % 5) + 1]!)))),
    );
    done = true;
    await reader;
    const final = await readFile(target2);
    expect(crls.some((c) => c?.equals(final))).toBe(true);
    expect(opensslCrlNumber(target2)).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThan(0);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it('ok/a writer killed with SIGKILL mid-publish leaves the old or the new CRL, never part of one; its stale temp files go on a later publish', async () => {
    const dir = path.join(base, 'killed');
    const caId = randomUUID();
    const target = path.join(dir, `${caId}.crl`);
    const versions = [crls[1]!, crls[2]!, crls[3]!];
    // Big files make the write long enough to be cut; each version fills the file with its own byte.
    const big = [0x11, 0x22, 0x33].map((b) => Buffer.alloc(24 * 1024 * 1024, b));
    const seed = path.join(base, 'killed-seed');
    await mkdir(seed, { recursive: true });
    for (const [i, b] of big.entries()) await writeFile(path.join(seed, String(i)), b);
    const child = `
      import { readFileSync } from 'node:fs';
      import { DirectoryPublisher } from ${JSON.stringify(path.join(ROOT, 'crl/publishers/directory.ts'))};
      const p = new DirectoryPublisher({ dir: process.env.DIR });
      const big = [0, 1, 2].map((i) => readFileSync(process.env.SEED + '/' + i));
      let n = 100;
      for (;;) {
        await p.publish({ caId: process.env.CA, partition: '', crlNumber: BigInt(n), path: process.env.CA + '.crl', der: big[n % 3] });
        if (n++ === 100) process.stdout.write('ready\\n');
      }
    `;
    for (let round = 0; round < 3; round++) {
      const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
        cwd: ROOT,
        env: { ...process.env, DIR: dir, SEED: seed, CA: caId },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        proc.once('exit', (code) => reject(new Error(`writer exited with ${code} before it was ready`)));
      });
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      const bytes = await readFile(target);
      expect(bytes.length).toBe(big[0]!.length);
      expect(big.some((b) => b.equals(bytes))).toBe(true);
    }

    // What the killed writers left: temp files, and one of another writer that is still writing.
    const stale = path.join(dir, `.${caId}.crl.99999.deadbeef.tmp`);
    const fresh = path.join(dir, `.${caId}.crl.99998.feedface.tmp`);
    const otherCa = path.join(dir, `.${randomUUID()}.crl.99997.abad1dea.tmp`);
    await writeFile(stale, 'partial');
    await writeFile(fresh, 'partial');
    await writeFile(otherCa, 'partial');
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    for (const f of [stale, otherCa]) await utimes(f, twoMinutesAgo, twoMinutesAgo);
    const leftovers = (await tempFiles(dir)).map((n) => path.join(dir, n));
    for (const f of leftovers) if (f !== fresh) await utimes(f, twoMinutesAgo, twoMinutesAgo);

    await new DirectoryPublisher({ dir }).publish(crlFile(caId, 1000, versions[0]!));
    expectBytes(await readFile(target), versions[0]!);
    const left = (await tempFiles(dir)).map((n) => path.join(dir, n)).sort();
    // The fresh one may belong to a live writer; another CA's temp files are that CA's publish's business.
    expect(left).toEqual([fresh, otherCa].sort());
  });

  it('fail/a target directory that is not writable makes publish throw and writes nothing', async () => {
    const dir = path.join(base, 'read-only');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o555);
    const caId = randomUUID();
    const p = new DirectoryPublisher({ dir });
    await expect(withoutRoot(() => p.publish(crlFile(caId, 1, crls[1]!)))).rejects.toThrow(/EACCES|permission denied/i);
    await expect(withoutRoot(() => p.publish(crlFile(caId, 1, crls[1]!, '3')))).rejects.toThrow(/EACCES|permission denied/i);
    expect(await readdir(dir)).toEqual([]);
  });

  it('fail/a directory path that runs through a regular file makes publish throw', async () => {
    const file = path.join(base, 'a-file');
    await writeFile(file, 'not a directory');
    const p = new DirectoryPublisher({ dir: path.join(file, 'crl') });
    await expect(p.publish(crlFile(randomUUID(), 1, crls[1]!))).rejects.toThrow(/creating CRL directory .*(ENOTDIR|EEXIST)/);
  });

  it('fail/a path that would leave the directory or look like a temp file is refused', async () => {
    const p = new DirectoryPublisher({ dir: path.join(base, 'refuse') });
    for (const bad of ['../x.crl', '/etc/x.crl', 'a/../../x.crl', '.x.crl', 'a//b.crl', '', 'a\\b.crl']) {
      await expect(p.publish({ ...crlFile(randomUUID(), 1, crls[1]!), path: bad }), bad).rejects.toThrow(/refusing CRL path/);
    }
  });
});

describe('S3Publisher against s3rver', () => {
  const bucket = 'privateca-crls';
  let server: { run(): Promise<AddressInfo>; close(): Promise<void> };
  let endpoint: string;
  let client: S3Client;

  beforeAll(async () => {
    // s3rver has no type declarations; it is a CommonJS class.
    const S3rver = require('s3rver') as new (o: Record<string, unknown>) => typeof server;
    server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: await mkdtemp(path.join(base, 's3rver-')) });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
    client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  it('ok/puts <prefix><path> with Content-Type application/pkix-crl and no Cache-Control; GetObject returns the same bytes', async () => {
    const p = new S3Publisher({ bucket, prefix: 'crl/', region: 'us-east-1', endpoint, forcePathStyle: true });
    expect(p.name).toBe(`s3:${bucket}/crl/`);
    const caId = randomUUID();
    await p.publish(crlFile(caId, 1, crls[1]!));
    await p.publish(crlFile(caId, 2, crls[2]!, '5'));
    await p.publish(crlFile(caId, 3, crls[3]!));

    const full = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `crl/${caId}.crl` }));
    expect(full.ContentType).toBe('application/pkix-crl');
    expect(full.CacheControl).toBeUndefined();
    const bytes = Buffer.from(await full.Body!.transformToByteArray());
    expectBytes(bytes, crls[3]!);
    const file = path.join(base, `from-s3-${caId}.crl`);
    await writeFile(file, bytes);
    expect(opensslCrlNumber(file)).toBe(3);

    const part = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `crl/${caId}/5.crl` }));
    expectBytes(Buffer.from(await part.Body!.transformToByteArray()), crls[2]!);
    await p.close();
  });

  it('ok/without a prefix the key is the path itself', async () => {
    const p = new S3Publisher({ bucket, region: 'us-east-1', endpoint, forcePathStyle: true });
    expect(p.name).toBe(`s3:${bucket}/`);
    const caId = randomUUID();
    await p.publish(crlFile(caId, 4, crls[4]!));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${caId}.crl` }));
    expectBytes(Buffer.from(await got.Body!.transformToByteArray()), crls[4]!);
    await p.close();
  });

  it('fail/a missing bucket or a closed endpoint makes publish throw, naming the object but no credential', async () => {
    const missing = new S3Publisher({ bucket: 'no-such-bucket', prefix: 'x/', region: 'us-east-1', endpoint, forcePathStyle: true });
    const e1 = await missing.publish(crlFile(randomUUID(), 1, crls[1]!)).catch((e: Error) => e);
    expect(e1).toBeInstanceOf(Error);
    expect((e1 as Error).message).toMatch(/^putting CRL s3:\/\/no-such-bucket\/x\/[0-9a-f-]+\.crl: /);
    const closed = new S3Publisher({ bucket, region: 'us-east-1', endpoint: `http://127.0.0.1:${await closedPort()}`, forcePathStyle: true });
    const e2 = await closed.publish(crlFile(randomUUID(), 1, crls[1]!)).catch((e: Error) => e);
    expect((e2 as Error).message).toMatch(/ECONNREFUSED/);
    for (const e of [e1, e2]) expect((e as Error).message).not.toContain('S3RVER');
    await missing.close();
    await closed.close();
  });

  it('ok/the AWS SDK is loaded on the first publish, not when the publisher is made', () => {
    const child = `
      import { createRequire } from 'node:module';
      import { S3Publisher } from ${JSON.stringify(path.join(ROOT, 'crl/publishers/s3.ts'))};
      const cache = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))}).cache;
      const loaded = () => Object.keys(cache).some((k) => k.includes('@aws-sdk'));
      const p = new S3Publisher({ bucket: 'b-lazy', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true });
      const before = loaded();
      await p.publish({ caId: 'c', partition: '', crlNumber: 1n, path: 'c.crl', der: Buffer.from([0x30, 0]) }).catch(() => {});
      console.log(JSON.stringify({ before, after: loaded() }));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ before: false, after: true });
  });
});

/** A pino logger whose lines the test reads. */
function captureLogger(): { logger: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/** Counts tries and remembers when each ended. */
function counted(p: CrlPublisher): CrlPublisher & { tries: number; endedAt: number[] } {
  const c = {
    name: p.name,
    tries: 0,
    endedAt: [] as number[],
    async publish(f: CrlFile) {
      c.tries++;
      try {
        await p.publish(f);
      } finally {
        c.endedAt.push(performance.now());
      }
    },
  };
  return c;
}

describe.each(DRIVERS)('publishToTargets with status rows (%s)', (driver) => {
  let db: Db;
  let drop: (() => Promise<void>) | undefined;

  const insertCa = async (): Promise<string> => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO cas (id, type, status, subject, key_algorithm, signing_algorithm, key_store_type, key_uri, revocation, created_at, updated_at)
       VALUES ($1, 'ROOT', 'ACTIVE', '{"commonName":"Publication Test"}', 'EC_prime256v1', 'SHA256WITHECDSA', 'SOFTWARE', $2, '{}', now(), now())`,
      [id, `software:${id}`],
    );
    return id;
  };

  beforeAll(async () => {
    if (driver === 'pg') {
      const t = await createTestDatabase();
      drop = t.drop;
      db = createPgDb({ connectionString: t.url, max: 4 });
    } else {
      db = await createPgliteDb({});
    }
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('ok/a good target succeeds while failing ones are retried `attempts` times, recorded ok=false with the error and logged; nothing throws', async () => {
    const caId = await insertCa();
    const dir = path.join(base, `targets-${driver}`);
    const good = counted(new DirectoryPublisher({ dir }));
    const notADir = path.join(base, `not-a-dir-${driver}`);
    await writeFile(notADir, 'x');
    const badDir = counted(new DirectoryPublisher({ dir: notADir }));
    const badS3 = counted(new S3Publisher({ bucket: 'unreachable', prefix: 'p/', region: 'us-east-1', endpoint: `http://127.0.0.1:${await closedPort()}`, forcePathStyle: true }));
    const status = crlPublicationRepository(db);
    const { logger, lines } = captureLogger();
    const file = crlFile(caId, 7, crls[1]!);
    const started = performance.now();

    await expect(
      publishToTargets({ publishers: [badS3, badDir, good], file, status, logger, attempts: 3, backoffMs: 200 }),
    ).resolves.toBeUndefined();

    expect(good.tries).toBe(1);
    expect(badDir.tries).toBe(3);
    expect(badS3.tries).toBe(3);
    // In parallel: the good target was done before the failing ones' backoff (200 + 400 ms) was over.
    expect(good.endedAt[0]! - started).toBeLessThan(Math.max(...badDir.endedAt) - started);
    expect(Math.max(...badDir.endedAt) - started).toBeGreaterThanOrEqual(590);
    expectBytes(await readFile(path.join(dir, `${caId}.crl`)), crls[1]!);

    const rows = await status.list(caId);
    const byTarget = Object.fromEntries(rows.map((r) => [r.target, r]));
    expect(Object.keys(byTarget).sort()).toEqual([badDir.name, badS3.name, good.name].sort());
    expect(byTarget[good.name]).toMatchObject({ caId, partition: '', crlNumber: 7n, ok: true, attempts: 1 });
    expect(byTarget[good.name]!.error).toBeUndefined();
    expect(byTarget[badDir.name]).toMatchObject({ crlNumber: 7n, ok: false, attempts: 3 });
    expect(byTarget[badDir.name]!.error).toMatch(/creating CRL directory/);
    expect(byTarget[badS3.name]).toMatchObject({ crlNumber: 7n, ok: false, attempts: 3 });
    expect(byTarget[badS3.name]!.error).toMatch(/putting CRL s3:\/\/unreachable\/p\/.*ECONNREFUSED/);
    for (const r of rows) {
      expect(r.at).toBeInstanceOf(Date);
      expect(Math.abs(r.at.getTime() - Date.now())).toBeLessThan(60_000);
    }

    const errors = lines.filter((l) => l.level === 50);
    expect(errors.map((l) => l.target).sort()).toEqual([badDir.name, badS3.name].sort());
    for (const l of errors) {
      expect(l).toMatchObject({ caId, partition: '', crlNumber: '7', attempts: 3, msg: 'publishing the CRL to a target failed' });
      expect(l.error).toBeTruthy();
    }
    expect(lines.filter((l) => l.level === 40)).toHaveLength(4);
    expect(JSON.stringify(lines)).not.toContain('S3RVER');
  });

  it('ok/a target that fails once then works is recorded ok with its attempts; a status store that fails is logged, not thrown', async () => {
    const caId = await insertCa();
    let calls = 0;
    const flaky: CrlPublisher = {
      name: 'flaky:test',
      async publish() {
        if (++calls === 1) throw new Error('temporarily unavailable');
      },
    };
    const status = crlPublicationRepository(db);
    const { logger, lines } = captureLogger();
    await publishToTargets({ publishers: [flaky], file: crlFile(caId, 3, crls[1]!, '2'), status, logger, backoffMs: 1 });
    expect(await status.list(caId)).toEqual([
      expect.objectContaining({ caId, partition: '2', target: 'flaky:test', crlNumber: 3n, ok: true, attempts: 2 }),
    ]);
    expect(lines.filter((l) => l.level === 50)).toEqual([]);

    const broken = { record: () => Promise.reject(new Error('database is down')), list: () => Promise.resolve([]) };
    await expect(publishToTargets({ publishers: [flaky], file: crlFile(caId, 4, crls[1]!), status: broken, logger })).resolves.toBeUndefined();
    expect(lines.find((l) => l.level === 50)).toMatchObject({ msg: 'recording the CRL publication status failed', error: 'database is down' });
  });

  it('ok/error messages are stored and logged without credentials', async () => {
    const caId = await insertCa();
    const secret = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    try {
      const leaky: CrlPublisher = {
        name: 'leaky:test',
        async publish() {
          throw new Error(`PUT https://admin:hunter2@minio.internal/crl failed; signing with wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`);
        },
      };
      const status = crlPublicationRepository(db);
      const { logger, lines } = captureLogger();
      await publishToTargets({ publishers: [leaky], file: crlFile(caId, 1, crls[1]!), status, logger, attempts: 2, backoffMs: 1 });
      const [row] = await status.list(caId);
      expect(row).toMatchObject({ ok: false, attempts: 2 });
      expect(row!.error).toContain('https://[redacted]@minio.internal/crl');
      for (const text of [row!.error!, JSON.stringify(lines)]) {
        expect(text).not.toContain('hunter2');
        expect(text).not.toContain('wJalrXUtnFEMI');
      }
    } finally {
      if (secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = secret;
    }
  });

  it('ok/record replaces a row only with an equal or higher CRL number; rows go with their CA', async () => {
    const caId = await insertCa();
    const status = crlPublicationRepository(db);
    const at = new Date('2026-01-02T03:04:05.000Z');
    const row = { caId, partition: '', target: 's3:b/p/', crlNumber: 5n, ok: true, attempts: 1, at };
    await status.record(row);
    await status.record({ ...row, crlNumber: 3n, ok: false, attempts: 3, error: 'older, late' });
    expect(await status.list(caId)).toEqual([row]);
    await status.record({ ...row, ok: false, attempts: 3, error: 'same number, later try' });
    expect(await status.list(caId)).toEqual([{ ...row, ok: false, attempts: 3, error: 'same number, later try' }]);
    // 2^63 - 1: CRL numbers are bigint end to end.
    await status.record({ ...row, crlNumber: 9223372036854775807n });
    await status.record({ ...row, partition: '1', target: 'directory:/srv/crl' });
    expect((await status.list(caId)).map((r) => [r.partition, r.target, r.crlNumber])).toEqual([
      ['', 's3:b/p/', 9223372036854775807n],
      ['1', 'directory:/srv/crl', 5n],
    ]);
    await db.query('DELETE FROM cas WHERE id = $1', [caId]);
    expect(await status.list(caId)).toEqual([]);
  });

  it('fail/a row for an unknown CA is refused by the foreign key', async () => {
    const status = crlPublicationRepository(db);
    await expect(
      status.record({ caId: randomUUID(), partition: '', target: 'x', crlNumber: 1n, ok: true, attempts: 1, at: new Date() }),
    ).rejects.toThrow(/foreign key/i);
  });
});

describe('CrlTargetQueue', () => {
  it('ok/publishes in the background, one at a time per CA and partition, newest waiting CRL only, never an older one after a newer', async () => {
    const gates: (() => void)[] = [];
    let started = 0;
    const published: string[] = [];
    const slow: CrlPublisher = {
      name: 'slow:test',
      async publish(f) {
        started++;
        await new Promise<void>((resolve) => gates.push(resolve));
        published.push(`${f.caId}/${f.partition}#${f.crlNumber}`);
      },
    };
    const records: CrlPublicationRecord[] = [];
    const status = { record: async (r: CrlPublicationRecord) => void records.push(r), list: async () => records };
    const { logger } = captureLogger();
    const queue = new CrlTargetQueue({
      publishers: [slow],
      status,
      logger,
      superseded: async (f) => f.crlNumber === 10n,
    });
    const waitForStarted = async (n: number) => {
      while (started < n) await new Promise((r) => setTimeout(r, 5));
    };

    queue.enqueue(toCrlFile({ caId: 'a', partition: '', crlNumber: 1n, der: crls[1]! }));
    queue.enqueue(toCrlFile({ caId: 'b', partition: '', crlNumber: 1n, der: crls[1]! }));
    await waitForStarted(2); // a#1 and b#1 run together
    queue.enqueue(toCrlFile({ caId: 'a', partition: '', crlNumber: 2n, der: crls[2]! }));
    queue.enqueue(toCrlFile({ caId: 'a', partition: '', crlNumber: 4n, der: crls[4]! }));
    queue.enqueue(toCrlFile({ caId: 'a', partition: '', crlNumber: 3n, der: crls[3]! }));
    queue.enqueue(toCrlFile({ caId: 'a', partition: 'p1', crlNumber: 1n, der: crls[1]! }));
    await waitForStarted(3); // a/p1#1 is not behind a#1
    gates.shift()!();
    await waitForStarted(4); // a#4 (2 and 3 were replaced while they waited)
    queue.enqueue(toCrlFile({ caId: 'a', partition: '', crlNumber: 3n, der: crls[3]! })); // older than the one under way
    while (gates.length) gates.shift()!();
    await queue.idle();
    queue.enqueue(toCrlFile({ caId: 'a', partition: '', crlNumber: 10n, der: crls[5]! })); // superseded
    await queue.idle();

    expect(published.sort()).toEqual(['a/#1', 'a/#4', 'a/p1#1', 'b/#1']);
    expect(records.map((r) => `${r.caId}/${r.partition}#${r.crlNumber}:${r.ok}`).sort()).toEqual(['a/#1:true', 'a/#4:true', 'a/p1#1:true', 'b/#1:true']);
  });

  it('ok/a CRL queued without its bytes is read only when it is published: never when replaced while waiting, skipped when no longer the latest', async () => {
    const published: { name: string; der: Buffer; keys: string[] }[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const target: CrlPublisher = {
      name: 'memory:test',
      async publish(f) {
        await gate;
        published.push({ name: `${f.caId}#${f.crlNumber}`, der: f.der, keys: Object.keys(f).sort() });
      },
    };
    const { logger, lines } = captureLogger();
    const queue = new CrlTargetQueue({ publishers: [target], status: { record: async () => undefined, list: async () => [] }, logger });
    const loads: string[] = [];
    const lazy = (caId: string, crlNumber: bigint, der: Buffer | undefined) => ({
      ...crlFileRef({ caId, partition: '', crlNumber }),
      load: async () => {
        loads.push(`${caId}#${crlNumber}`);
        return der;
      },
    });
    queue.enqueue(lazy('a', 1n, crls[1]!));
    queue.enqueue(lazy('a', 2n, crls[2]!)); // replaced by #3 while #1 is published
    queue.enqueue(lazy('a', 3n, crls[3]!));
    queue.enqueue(lazy('b', 1n, undefined)); // a newer CRL of b is stored meanwhile: nothing to publish
    await new Promise((r) => setTimeout(r, 20));
    release();
    await queue.idle();
    expect(loads.sort()).toEqual(['a#1', 'a#3', 'b#1']);
    expect(published.map((p) => p.name)).toEqual(['a#1', 'a#3']);
    expect(published[1]!.der.equals(crls[3]!)).toBe(true);
    // Publishers get a plain CrlFile, not the loader.
    expect(published[0]!.keys).toEqual(['caId', 'crlNumber', 'der', 'partition', 'path']);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('ok/toCrlFile names <caId>.crl and <caId>/<partition>.crl', () => {
    expect(toCrlFile({ caId: 'c', partition: '', crlNumber: 1n, der: Buffer.alloc(0) }).path).toBe('c.crl');
    expect(toCrlFile({ caId: 'c', partition: 'p-7', crlNumber: 1n, der: Buffer.alloc(0) }).path).toBe('c/p-7.crl');
  });
});
