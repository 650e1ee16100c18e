import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type ApiResponse, type TestService } from '../support/service.ts';

/*
 * docs/api.md: "Bad input gets a 4xx problem+json with a stable error code and changes nothing."
 * Every request below is a client mistake; each is checked for its status and code, for the
 * problem+json shape, and for leaving the database exactly as it was.
 */

const MiB = 1024 * 1024;

function derOf(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Checks the RFC 9457 shape docs/api.md asks for: type, title, status, detail and a snake_case code. */
function expectProblem(res: { status: number; headers: Headers | http.IncomingHttpHeaders; text: string }, status: number, code: string): any {
  const ct = res.headers instanceof Headers ? res.headers.get('content-type') : res.headers['content-type'];
  expect(res.status, res.text).toBe(status);
  expect(ct, res.text).toMatch(/^application\/problem\+json(;|$)/);
  const body = JSON.parse(res.text);
  expect(body.code, res.text).toBe(code);
  expect(body.status).toBe(status);
  expect(body.type).toBeTypeOf('string');
  expect(body.type.length).toBeGreaterThan(0);
  expect(body.title).toBeTypeOf('string');
  expect(body.title.length).toBeGreaterThan(0);
  expect(body.detail).toBeTypeOf('string');
  expect(body.detail.length).toBeGreaterThan(0);
  expect(body.code).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
  return body;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * A request through node:http, for what fetch cannot send: bodies whose Content-Length we choose, and
 * chunked bodies without any Content-Length. The server may answer before the whole body is sent.
 */
function rawRequest(
  base: string,
  options: { method: string; path: string; headers: Record<string, string>; body?: Buffer; chunks?: Buffer[] },
): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise<RawResponse>((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: u.hostname, port: u.port, method: options.method, path: options.path, headers: options.headers, agent: false },
      (res) => {
        answered = true;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(parts).toString('utf8') });
          req.destroy();
        });
        res.on('error', reject);
      },
    );
    // The server may close the connection while we are still writing a body it refused.
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (options.chunks) {
      const chunks = options.chunks;
      (async () => {
        for (const c of chunks) {
          if (answered || req.destroyed) return;
          if (!req.write(c)) {
            await new Promise<void>((r) => {
              req.once('drain', r);
              req.once('response', () => r());
              req.once('close', r);
            });
          }
        }
        if (!answered && !req.destroyed) req.end();
      })().catch(reject);
    } else {
      req.end(options.body);
    }
  });
}

/** The `openssl ca` command, which (unlike `x509 -req` in OpenSSL 3.0) takes explicit start and end dates. */
function signWithDates(pki: OpensslPki, csrPem: string, issuer: { certFile: string; key: string }, start: Date, end: Date): string {
  const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
  const tag = randomBytes(4).toString('hex');
  pki.file(`index-${tag}.txt`, '');
  const cnf = pki.file(
    `ca-${tag}.cnf`,
    [
      '[ca]',
      `default_ca = x`,
      '[x]',
      `database = index-${tag}.txt`,
      'new_certs_dir = .',
      `serial = serial-${tag}`,
      'rand_serial = yes',
      'default_md = sha256',
      'policy = p',
      'unique_subject = no',
      'copy_extensions = none',
      'email_in_dn = no',
      '[p]',
      'commonName = optional',
      '[v3]',
      'basicConstraints = critical,CA:true',
      'keyUsage = critical,digitalSignature,cRLSign,keyCertSign',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always,issuer',
      '',
    ].join('\n'),
  );
  const csrFile = pki.file(`dated-${tag}.csr`, csrPem);
  const out = `dated-${tag}.pem`;
  pki.ok([
    'ca', '-batch', '-config', cnf, '-cert', issuer.certFile, '-keyfile', issuer.key, '-in', csrFile, '-preserveDN',
    '-startdate', stamp(start), '-enddate', stamp(end), '-extensions', 'v3', '-notext', '-out', out,
  ]);
  return pki.read(out);
}

describe.each(DRIVERS)('bad input gets 4xx problem+json and changes nothing (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  /** ROOT, EC P-256, validityDays 30: ACTIVE. */
  let root30: string;
  /** SUBORDINATE, PENDING_CERTIFICATE; every failed import below targets it. */
  let pending: string;
  let pendingCsr: string;
  let disabled: string;
  let deleted: string;
  let goodCsr: string;
  let outside: ReturnType<OpensslPki['root']>;
  let unrelated: ReturnType<OpensslPki['root']>;
  let pathLen0: ReturnType<OpensslPki['root']>;

  const snapshot = async () => {
    const r = await svc.db.query<Record<string, unknown>>(`
      SELECT (SELECT count(*) FROM cas)::int AS cas,
             (SELECT count(*) FROM certificates)::int AS certificates,
             (SELECT count(*) FROM audit_events)::int AS audit_events,
             (SELECT count(*) FROM software_keys)::int AS software_keys,
             (SELECT count(*) FROM idempotency_keys)::int AS idempotency_keys,
             (SELECT count(*) FROM api_tokens)::int AS api_tokens,
             (SELECT md5(coalesce(string_agg(c::text, '|' ORDER BY c.id), '')) FROM cas c) AS cas_rows,
             (SELECT md5(coalesce(string_agg(c::text, '|' ORDER BY c.ca_id, c.serial), '')) FROM certificates c) AS certificate_rows`);
    return r.rows[0];
  };

  /** Runs a bad request and checks that every table is as it was. */
  async function unchanged<T>(fn: () => Promise<T>): Promise<T> {
    const before = await snapshot();
    const out = await fn();
    expect(await snapshot(), 'the database changed').toEqual(before);
    return out;
  }

  const noAuth = (method: string, p: string, init: { headers?: Record<string, string>; body?: string } = {}) =>
    fetch(svc.url + p, { method, headers: init.headers, body: init.body }).then(async (res) => ({
      status: res.status,
      headers: res.headers,
      text: await res.text(),
    }));

  const issue = (caId: string, body: unknown) => svc.api('POST', `/v1/cas/${caId}/certificates`, body);

  beforeAll(async () => {
    svc = await startService(driver);
    const mk = async (body: unknown) => {
      const r = await svc.api('POST', '/v1/cas', body);
      expect(r.status, r.text).toBe(201);
      return r.body.id as string;
    };
    root30 = await mk({ type: 'ROOT', subject: { commonName: 'Thirty Day Root' }, keyAlgorithm: 'EC_prime256v1', validityDays: 30 });
    pending = await mk({ type: 'SUBORDINATE', subject: { commonName: 'Pending Sub', organization: 'Acme' }, keyAlgorithm: 'EC_prime256v1' });
    disabled = await mk({ type: 'ROOT', subject: { commonName: 'Disabled Root' }, keyAlgorithm: 'EC_prime256v1', validityDays: 30 });
    deleted = await mk({ type: 'ROOT', subject: { commonName: 'Deleted Root' }, keyAlgorithm: 'EC_prime256v1', validityDays: 30 });
    const d = await svc.api('PATCH', `/v1/cas/${disabled}`, { status: 'DISABLED' });
    expect(d.status, d.text).toBe(200);
    expect(d.body.status).toBe('DISABLED');
    const del = await svc.api('DELETE', `/v1/cas/${deleted}?permanentDeletionDays=7`);
    expect(del.status, del.text).toBe(200);
    expect(del.body.status).toBe('DELETED');
    const csr = await svc.api('GET', `/v1/cas/${pending}/csr`);
    expect(csr.status).toBe(200);
    pendingCsr = csr.body.csr;
    goodCsr = pki.csr({ subject: '/CN=good.example.internal' }).csr;
    outside = pki.root({ subject: '/O=Outside/CN=Outside Root' });
    unrelated = pki.root({ subject: '/O=Unrelated/CN=Unrelated Root' });
    pathLen0 = pki.root({ subject: '/O=Outside/CN=PathLen0 Root', pathLen: 0 });
    // The fixture works: a good request succeeds (so the failures below fail for their own reason).
    const ok = await issue(root30, { csr: goodCsr, validity: { days: 1 } });
    expect(ok.status, ok.text).toBe(201);
  });
  afterAll(() => svc?.close());

  describe('CSRs', () => {
    it('fail/a CSR that is not PEM at all → 400 invalid_csr', async () => {
      await unchanged(async () => expectProblem(await issue(root30, { csr: 'this is not a CSR', validity: { days: 1 } }), 400, 'invalid_csr'));
    });

    it('fail/a PEM wrapper around text that is not base64 → 400 invalid_csr', async () => {
      const csr = '-----BEGIN CERTIFICATE REQUEST-----\nnot*base64!\n-----END CERTIFICATE REQUEST-----\n';
      await unchanged(async () => expectProblem(await issue(root30, { csr, validity: { days: 1 } }), 400, 'invalid_csr'));
    });

    it('fail/base64 DER garbage in a PEM wrapper → 400 invalid_csr', async () => {
      await unchanged(async () => {
        for (const der of [randomBytes(300), Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), randomBytes(256)]), Buffer.from([0x30, 0x00])]) {
          expectProblem(await issue(root30, { csr: toPem(der, 'CERTIFICATE REQUEST'), validity: { days: 1 } }), 400, 'invalid_csr');
        }
      });
    });

    it('fail/a certificate where a CSR belongs → 400 invalid_csr', async () => {
      await unchanged(async () => expectProblem(await issue(root30, { csr: outside.cert, validity: { days: 1 } }), 400, 'invalid_csr'));
    });

    it.each(['ec:P-256', 'rsa:2048'])('fail/a %s CSR with a byte of its signature flipped → 400 invalid_csr', async (spec) => {
      const { csr } = pki.csr({ key: pki.key(spec), subject: '/CN=tampered.example.internal' });
      const der = derOf(csr);
      der[der.length - 1] ^= 0x01; // the last octet of the DER is the last octet of the signature
      const bad = toPem(der, 'CERTIFICATE REQUEST');
      // OpenSSL 3.0 exits 0 here, but says so on stderr.
      const check = spawnSync('openssl', ['req', '-noout', '-verify'], { input: bad, encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`).toMatch(/verify failure/);
      await unchanged(async () => expectProblem(await issue(root30, { csr: bad, validity: { days: 1 } }), 400, 'invalid_csr'));
    });

    it('fail/a CSR whose signed content was changed (subject edited) → 400 invalid_csr', async () => {
      const { csr } = pki.csr({ subject: '/CN=aaaa.example.internal' });
      const der = derOf(csr);
      const at = der.indexOf(Buffer.from('aaaa.example.internal'));
      expect(at).toBeGreaterThan(0);
      der[at] = 'b'.charCodeAt(0);
      await unchanged(async () => expectProblem(await issue(root30, { csr: toPem(der, 'CERTIFICATE REQUEST'), validity: { days: 1 } }), 400, 'invalid_csr'));
    });

    it.each(['rsa:1024', 'ec:prime192v1', 'ec:secp256k1'])('fail/a CSR with a %s key → 400 unsupported_key', async (spec) => {
      const { csr } = pki.csr({ key: pki.key(spec), subject: '/CN=weak.example.internal' });
      await unchanged(async () => expectProblem(await issue(root30, { csr, validity: { days: 1 } }), 400, 'unsupported_key'));
    });

    it('fail/a CSR with neither commonName nor subjectAltName (-subj "/O=Only Org") → 400 empty_subject', async () => {
      const { csr } = pki.csr({ subject: '/O=Only Org' });
      await unchanged(async () => expectProblem(await issue(root30, { csr, validity: { days: 1 } }), 400, 'empty_subject'));
    });

    it('fail/a CSR asking for a SAN type that is not issued (registeredID) → 400 unsupported_san', async () => {
      const { csr } = pki.csr({ subject: '/CN=rid.example.internal', san: 'RID:1.2.3.4' });
      await unchanged(async () => expectProblem(await issue(root30, { csr, validity: { days: 1 } }), 400, 'unsupported_san'));
    });
  });

  describe('issuance parameters', () => {
    it('fail/validity.days past the CA notAfter (30-day root, 40 days asked) → 400 validity_exceeds_ca', async () => {
      await unchanged(async () => expectProblem(await issue(root30, { csr: goodCsr, validity: { days: 40 } }), 400, 'validity_exceeds_ca'));
    });

    it('fail/validity.notAfter past the CA notAfter → 400 validity_exceeds_ca', async () => {
      const notAfter = new Date(Date.now() + 31 * 86_400_000).toISOString();
      await unchanged(async () => expectProblem(await issue(root30, { csr: goodCsr, validity: { notAfter } }), 400, 'validity_exceeds_ca'));
    });

    it('fail/validity.notAfter in the past → 400', async () => {
      const notAfter = new Date(Date.now() - 86_400_000).toISOString();
      await unchanged(async () => {
        const r = await issue(root30, { csr: goodCsr, validity: { notAfter } });
        expect(r.status, r.text).toBe(400);
        expectProblem(r, 400, r.body.code);
      });
    });

    it('fail/an unknown template → 400 unknown_template', async () => {
      await unchanged(async () =>
        expectProblem(await issue(root30, { csr: goodCsr, template: 'NoSuchTemplate/V1', validity: { days: 1 } }), 400, 'unknown_template'),
      );
    });

    it('fail/an RSA signing algorithm for an EC CA → 400 signing_algorithm_mismatch', async () => {
      await unchanged(async () =>
        expectProblem(await issue(root30, { csr: goodCsr, signingAlgorithm: 'SHA256WITHRSA', validity: { days: 1 } }), 400, 'signing_algorithm_mismatch'),
      );
    });

    it('fail/the same idempotency token with another CSR → 409 idempotency_conflict', async () => {
      const token = 'bad-input-' + randomBytes(4).toString('hex');
      const first = await issue(root30, { csr: goodCsr, validity: { days: 1 }, idempotencyToken: token });
      expect(first.status, first.text).toBe(201);
      const other = pki.csr({ subject: '/CN=other.example.internal' }).csr;
      await unchanged(async () =>
        expectProblem(await issue(root30, { csr: other, validity: { days: 1 }, idempotencyToken: token }), 409, 'idempotency_conflict'),
      );
    });
  });

  describe('CA ids and states', () => {
    it('fail/an unknown CA (random UUID) → 404 ca_not_found, on every route that names one', async () => {
      const id = randomUUID();
      await unchanged(async () => {
        expectProblem(await issue(id, { csr: goodCsr, validity: { days: 1 } }), 404, 'ca_not_found');
        expectProblem(await svc.api('GET', `/v1/cas/${id}`), 404, 'ca_not_found');
        expectProblem(await svc.api('PATCH', `/v1/cas/${id}`, { status: 'DISABLED' }), 404, 'ca_not_found');
        expectProblem(await svc.api('DELETE', `/v1/cas/${id}`), 404, 'ca_not_found');
        expectProblem(await svc.api('POST', `/v1/cas/${id}/restore`), 404, 'ca_not_found');
        expectProblem(await svc.api('GET', `/v1/cas/${id}/csr`), 404, 'ca_not_found');
        expectProblem(await svc.api('GET', `/v1/cas/${id}/certificate`), 404, 'ca_not_found');
        expectProblem(await svc.api('GET', `/v1/cas/${id}/certificates`), 404, 'ca_not_found');
        expectProblem(await svc.api('GET', `/v1/cas/${id}/certificates/0a0b`), 404, 'ca_not_found');
        const signed = pki.sign(pendingCsr, outside, { ca: true });
        expectProblem(await svc.api('POST', `/v1/cas/${id}/certificate`, { certificate: signed.cert, chain: outside.cert }), 404, 'ca_not_found');
      });
    });

    it.each(['not-a-uuid', '12345', 'DROP TABLE cas', '00000000-0000-0000-0000-00000000000g'])(
      'fail/a CA id that is not a UUID (%s) → 400 invalid_id',
      async (raw) => {
        const id = encodeURIComponent(raw);
        await unchanged(async () => {
          expectProblem(await svc.api('GET', `/v1/cas/${id}`), 400, 'invalid_id');
          expectProblem(await issue(id, { csr: goodCsr, validity: { days: 1 } }), 400, 'invalid_id');
          expectProblem(await svc.api('PATCH', `/v1/cas/${id}`, { status: 'DISABLED' }), 400, 'invalid_id');
          expectProblem(await svc.api('DELETE', `/v1/cas/${id}`), 400, 'invalid_id');
          expectProblem(await svc.api('GET', `/v1/cas/${id}/certificates`), 400, 'invalid_id');
        });
      },
    );

    it('ok/an upper-case UUID names the same CA (UUIDs compare case-insensitively); a UUID with a stray character is 400 invalid_id', async () => {
      const got = await svc.api('GET', `/v1/cas/${root30.toUpperCase()}`);
      expect([got.status, got.body.id]).toEqual([200, root30]);
      await unchanged(async () => expectProblem(await svc.api('GET', `/v1/cas/${root30.toUpperCase()}x`), 400, 'invalid_id'));
    });

    it('fail/issuing from a PENDING_CERTIFICATE CA → 409 ca_not_active', async () => {
      await unchanged(async () => expectProblem(await issue(pending, { csr: goodCsr, validity: { days: 1 } }), 409, 'ca_not_active'));
    });

    it('fail/issuing from a DISABLED CA → 409 ca_not_active', async () => {
      await unchanged(async () => expectProblem(await issue(disabled, { csr: goodCsr, validity: { days: 1 } }), 409, 'ca_not_active'));
    });

    it('fail/issuing from a DELETED CA → 409 ca_not_active', async () => {
      await unchanged(async () => expectProblem(await issue(deleted, { csr: goodCsr, validity: { days: 1 } }), 409, 'ca_not_active'));
    });

    it('fail/changing the status of a PENDING_CERTIFICATE or DELETED CA → 409 invalid_state', async () => {
      await unchanged(async () => {
        expectProblem(await svc.api('PATCH', `/v1/cas/${pending}`, { status: 'ACTIVE' }), 409, 'invalid_state');
        expectProblem(await svc.api('PATCH', `/v1/cas/${pending}`, { status: 'DISABLED' }), 409, 'invalid_state');
        expectProblem(await svc.api('PATCH', `/v1/cas/${deleted}`, { status: 'ACTIVE' }), 409, 'invalid_state');
      });
    });

    it('fail/restoring a CA that is not DELETED → 409 invalid_state (and a body-less POST needs no Content-Type)', async () => {
      await unchanged(async () => expectProblem(await svc.api('POST', `/v1/cas/${root30}/restore`), 409, 'invalid_state'));
    });

    it('fail/permanentDeletionDays outside 7..30 → 400', async () => {
      await unchanged(async () => {
        for (const v of ['6', '31', '0', 'abc', '-7', '7.5']) {
          const r = await svc.api('DELETE', `/v1/cas/${root30}?permanentDeletionDays=${v}`);
          expect(r.status, `permanentDeletionDays=${v}: ${r.text}`).toBe(400);
          expectProblem(r, 400, r.body.code);
        }
      });
    });
  });

  describe('certificate lookups and lists', () => {
    it('fail/a malformed serial → 400 invalid_serial; an unknown one → 404 certificate_not_found', async () => {
      await unchanged(async () => {
        for (const s of ['xyz', 'abc', '0g', '1:2:3', '00'.repeat(21)]) {
          expectProblem(await svc.api('GET', `/v1/cas/${root30}/certificates/${s}`), 400, 'invalid_serial');
          expectProblem(await svc.api('POST', `/v1/cas/${root30}/certificates/${s}/revoke`, {}), 400, 'invalid_serial');
        }
        expectProblem(await svc.api('GET', `/v1/cas/${root30}/certificates/${'ab'.repeat(16)}`), 404, 'certificate_not_found');
        expectProblem(await svc.api('POST', `/v1/cas/${root30}/certificates/${'ab'.repeat(16)}/revoke`, {}), 404, 'certificate_not_found');
      });
    });

    it('fail/revoking a revoked certificate → 409 already_revoked', async () => {
      const issued = await issue(root30, { csr: goodCsr, validity: { days: 1 } });
      expect(issued.status).toBe(201);
      const first = await svc.api('POST', `/v1/cas/${root30}/certificates/${issued.body.serial}/revoke`, { reason: 'SUPERSEDED' });
      expect(first.status, first.text).toBe(200);
      await unchanged(async () =>
        expectProblem(await svc.api('POST', `/v1/cas/${root30}/certificates/${issued.body.serial}/revoke`, { reason: 'KEY_COMPROMISE' }), 409, 'already_revoked'),
      );
    });

    it('fail/?limit= outside 1..1000 and ?cursor= not from nextCursor → 400', async () => {
      await unchanged(async () => {
        for (const p of ['/v1/cas', `/v1/cas/${root30}/certificates`]) {
          for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'limit=1.5', 'cursor=nope', `cursor=${Buffer.from('{}').toString('base64url')}`]) {
            const r = await svc.api('GET', `${p}?${q}`);
            expect(r.status, `${p}?${q}: ${r.text}`).toBe(400);
            expectProblem(r, 400, r.body.code);
          }
        }
        expectProblem(await svc.api('GET', `/v1/cas/${root30}/certificates?status=VALID`), 400, 'invalid_status');
      });
    });
  });

  describe('request bodies', () => {
    it('fail/a JSON body over 1 MiB (Content-Length) → 413 payload_too_large', async () => {
      const body = Buffer.from(JSON.stringify({ csr: 'A'.repeat(MiB + 10), validity: { days: 1 } }));
      await unchanged(async () => {
        const r = await rawRequest(svc.url, {
          method: 'POST',
          path: `/v1/cas/${root30}/certificates`,
          headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json', 'content-length': String(body.length) },
          body,
        });
        expectProblem(r, 413, 'payload_too_large');
      });
    });

    it('fail/a non-JSON body over 1 MiB (Content-Length) → 413 payload_too_large, whatever its type', async () => {
      const body = randomBytes(MiB + 1);
      await unchanged(async () => {
        for (const type of ['text/plain', 'application/octet-stream']) {
          const r = await rawRequest(svc.url, {
            method: 'POST',
            path: '/v1/cas',
            headers: { authorization: `Bearer ${svc.token}`, 'content-type': type, 'content-length': String(body.length) },
            body,
          });
          expectProblem(r, 413, 'payload_too_large');
        }
      });
    });

    it('fail/a chunked JSON body over 1 MiB, without Content-Length → 413 payload_too_large', async () => {
      const chunks = [Buffer.from('{"csr":"'), ...Array.from({ length: 18 }, () => Buffer.alloc(64 * 1024, 'A')), Buffer.from('","validity":{"days":1}}')];
      await unchanged(async () => {
        const r = await rawRequest(svc.url, {
          method: 'POST',
          path: `/v1/cas/${root30}/certificates`,
          headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
          chunks,
        });
        expectProblem(r, 413, 'payload_too_large');
      });
    });

    it('fail/a chunked non-JSON body over 1 MiB, without Content-Length → 413 payload_too_large', async () => {
      const chunks = Array.from({ length: 18 }, () => randomBytes(64 * 1024));
      await unchanged(async () => {
        const r = await rawRequest(svc.url, {
          method: 'POST',
          path: '/v1/cas',
          headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
          chunks,
        });
        expectProblem(r, 413, 'payload_too_large');
      });
    });

    it('fail/a small chunked text/plain body → 415 unsupported_media_type', async () => {
      await unchanged(async () => {
        const r = await rawRequest(svc.url, {
          method: 'POST',
          path: '/v1/cas',
          headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
          chunks: [Buffer.from('hello '), Buffer.from('world')],
        });
        expectProblem(r, 415, 'unsupported_media_type');
      });
    });

    it('fail/a body that is not application/json → 415 unsupported_media_type', async () => {
      const json = JSON.stringify({ type: 'ROOT', subject: { commonName: 'Text Root' }, keyAlgorithm: 'EC_prime256v1' });
      await unchanged(async () => {
        for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'application/xml']) {
          expectProblem(await svc.api('POST', '/v1/cas', json, { 'content-type': type }), 415, 'unsupported_media_type');
        }
        expectProblem(await svc.api('POST', `/v1/cas/${root30}/certificates`, goodCsr, { 'content-type': 'application/pkcs10' }), 415, 'unsupported_media_type');
        // A body without any Content-Type is not JSON either.
        const r = await rawRequest(svc.url, {
          method: 'POST',
          path: '/v1/cas',
          headers: { authorization: `Bearer ${svc.token}`, 'content-length': String(Buffer.byteLength(json)) },
          body: Buffer.from(json),
        });
        expectProblem(r, 415, 'unsupported_media_type');
        // Whatever the method: a GET or DELETE that carries a text body is refused the same way.
        for (const method of ['GET', 'DELETE']) {
          const g = await rawRequest(svc.url, {
            method,
            path: `/v1/cas/${root30}`,
            headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'text/plain', 'content-length': '5' },
            body: Buffer.from('hello'),
          });
          expectProblem(g, 415, 'unsupported_media_type');
        }
      });
    });

    it('ok/a Content-Type without a body (Content-Length: 0) is not a body: no 415', async () => {
      await unchanged(async () => {
        const r = await rawRequest(svc.url, {
          method: 'POST',
          path: `/v1/cas/${root30}/restore`,
          headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'text/plain', 'content-length': '0' },
        });
        expectProblem(r, 409, 'invalid_state');
      });
    });

    it('fail/invalid JSON → 400 invalid_json', async () => {
      await unchanged(async () => {
        for (const text of ['{', '{"type": "ROOT",}', "{'type': 'ROOT'}", 'not json', '{"a":1}}']) {
          expectProblem(await svc.api('POST', '/v1/cas', text, { 'content-type': 'application/json' }), 400, 'invalid_json');
        }
        expectProblem(await svc.api('POST', `/v1/cas/${root30}/certificates`, '{"csr":', { 'content-type': 'application/json' }), 400, 'invalid_json');
      });
    });

    const validRoot = { type: 'ROOT', subject: { commonName: 'Never Created' }, keyAlgorithm: 'EC_prime256v1' };
    it.each<[string, unknown]>([
      ['an unknown top-level field', { ...validRoot, colour: 'blue' }],
      ['an unknown subject field', { ...validRoot, subject: { commonName: 'x', nickname: 'y' } }],
      ['a misspelt field', { type: 'ROOT', subject: { commonName: 'x' }, keyAlgoritm: 'EC_prime256v1' }],
      ['type INTERMEDIATE', { ...validRoot, type: 'INTERMEDIATE' }],
      ['keyAlgorithm EC_secp256k1', { ...validRoot, keyAlgorithm: 'EC_secp256k1' }],
      ['commonName a number', { ...validRoot, subject: { commonName: 5 } }],
      ['commonName empty', { ...validRoot, subject: { commonName: '' } }],
      ['no subject', { type: 'ROOT', keyAlgorithm: 'EC_prime256v1' }],
      ['validityDays a string', { ...validRoot, validityDays: '30' }],
      ['validityDays 0', { ...validRoot, validityDays: 0 }],
      ['validityDays 1.5', { ...validRoot, validityDays: 1.5 }],
      ['country lower case', { ...validRoot, subject: { commonName: 'x', country: 'us' } }],
      ['tags not strings', { ...validRoot, tags: { a: 1 } }],
      ['a crl baseUrl with a query', { ...validRoot, revocation: { crl: { enabled: true, baseUrl: 'http://crl.example/?x=1' } } }],
      ['a bad cron schedule', { ...validRoot, revocation: { crl: { enabled: true, schedule: 'every minute' } } }],
      ['validityDays on a SUBORDINATE', { ...validRoot, type: 'SUBORDINATE', validityDays: 30 }],
      ['a JSON array', [validRoot]],
      ['an empty object', {}],
    ])('fail/POST /v1/cas with %s → 400 invalid_request', async (_what, body) => {
      await unchanged(async () => expectProblem(await svc.api('POST', '/v1/cas', body), 400, 'invalid_request'));
    });

    it.each<[string, (csr: string) => unknown]>([
      ['an unknown field', (csr) => ({ csr, validity: { days: 1 }, extra: true })],
      ['csr a number', () => ({ csr: 123, validity: { days: 1 } })],
      ['csr empty', () => ({ csr: '', validity: { days: 1 } })],
      ['no validity', (csr) => ({ csr })],
      ['validity.days a string', (csr) => ({ csr, validity: { days: '3' } })],
      ['validity.days 0', (csr) => ({ csr, validity: { days: 0 } })],
      ['validity.days 1.5', (csr) => ({ csr, validity: { days: 1.5 } })],
      ['validity with days and notAfter', (csr) => ({ csr, validity: { days: 1, notAfter: new Date(Date.now() + 86_400_000).toISOString() } })],
      ['validity.notAfter not a time', (csr) => ({ csr, validity: { notAfter: 'tomorrow' } })],
      ['template null', (csr) => ({ csr, template: null, validity: { days: 1 } })],
      ['signingAlgorithm unknown', (csr) => ({ csr, signingAlgorithm: 'MD5WITHRSA', validity: { days: 1 } })],
      ['idempotencyToken a number', (csr) => ({ csr, validity: { days: 1 }, idempotencyToken: 7 })],
    ])('fail/POST certificates with %s → 400 invalid_request', async (_what, make) => {
      await unchanged(async () => expectProblem(await issue(root30, make(goodCsr)), 400, 'invalid_request'));
    });

    it('fail/PATCH with a status that cannot be set, or an unknown field → 400 invalid_request', async () => {
      await unchanged(async () => {
        for (const body of [{ status: 'EXPIRED' }, { status: 'DELETED' }, { status: 'active' }, { name: 'x' }, { tags: 'x' }]) {
          expectProblem(await svc.api('PATCH', `/v1/cas/${root30}`, body), 400, 'invalid_request');
        }
      });
    });

    it('fail/revoking with an unknown reason → 400 invalid_request', async () => {
      const issued = await issue(root30, { csr: goodCsr, validity: { days: 1 } });
      expect(issued.status).toBe(201);
      await unchanged(async () =>
        expectProblem(await svc.api('POST', `/v1/cas/${root30}/certificates/${issued.body.serial}/revoke`, { reason: 'BORED' }), 400, 'invalid_request'),
      );
      const got = await svc.api('GET', `/v1/cas/${root30}/certificates/${issued.body.serial}`);
      expect(got.body.status).toBe('ISSUED');
    });
  });

  describe('CA creation', () => {
    it.each(['pkcs11', 'aws-kms'])('fail/keyStore %s, not configured on this service → 400 key_store_unavailable', async (type) => {
      await unchanged(async () =>
        expectProblem(
          await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'HSM Root' }, keyAlgorithm: 'EC_prime256v1', keyStore: { type } }),
          400,
          'key_store_unavailable',
        ),
      );
    });

    it('fail/a signingAlgorithm that does not fit the key → 400 signing_algorithm_mismatch', async () => {
      await unchanged(async () =>
        expectProblem(
          await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'x' }, keyAlgorithm: 'RSA_2048', signingAlgorithm: 'SHA256WITHECDSA' }),
          400,
          'signing_algorithm_mismatch',
        ),
      );
    });

    it('fail/a keyUri that is not a key URI, or of another store → 400', async () => {
      await unchanged(async () => {
        for (const keyUri of ['software:not-a-uuid', 'nope:123', 'pkcs11:token=t;object=o']) {
          const r = await svc.api('POST', '/v1/cas', {
            type: 'ROOT',
            subject: { commonName: 'x' },
            keyAlgorithm: 'EC_prime256v1',
            keyStore: { type: 'software', keyUri },
          });
          expect(r.status, `${keyUri}: ${r.text}`).toBe(400);
          expectProblem(r, 400, r.body.code);
        }
      });
    });

    it('fail/a keyUri of an existing key of another algorithm → 400 key_algorithm_mismatch', async () => {
      const { rows } = await svc.db.query<{ key_uri: string }>('SELECT key_uri FROM cas WHERE id = $1', [root30]);
      await unchanged(async () =>
        expectProblem(
          await svc.api('POST', '/v1/cas', {
            type: 'ROOT',
            subject: { commonName: 'x' },
            keyAlgorithm: 'RSA_2048',
            keyStore: { type: 'software', keyUri: rows[0]!.key_uri },
          }),
          400,
          'key_algorithm_mismatch',
        ),
      );
    });

    it('fail/a keyUri naming no key is a client mistake → 4xx problem+json', async () => {
      await unchanged(async () => {
        const r = await svc.api('POST', '/v1/cas', {
          type: 'ROOT',
          subject: { commonName: 'x' },
          keyAlgorithm: 'EC_prime256v1',
          keyStore: { type: 'software', keyUri: `software:${randomUUID()}` },
        });
        expect(r.status, `docs/api.md: client mistakes are 4xx; got ${r.text}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `docs/api.md: client mistakes are 4xx; got ${r.text}`).toBeLessThan(500);
        expectProblem(r, r.status, r.body.code);
      });
    });
  });

  describe('subordinate CA certificate import', () => {
    const importTo = (id: string, certificate: string, chain: string) => svc.api('POST', `/v1/cas/${id}/certificate`, { certificate, chain });

    it('fail/a CA certificate for another key → 400 certificate_key_mismatch', async () => {
      const other = pki.csr({ subject: '/O=Acme/CN=Pending Sub' });
      const signed = pki.sign(other.csr, outside, { ca: true });
      await unchanged(async () => expectProblem(await importTo(pending, signed.cert, outside.cert), 400, 'certificate_key_mismatch'));
    });

    it('fail/a chain that does not verify (an unrelated root) → 400 chain_invalid', async () => {
      const signed = pki.sign(pendingCsr, outside, { ca: true });
      await unchanged(async () => expectProblem(await importTo(pending, signed.cert, unrelated.cert), 400, 'chain_invalid'));
    });

    it('fail/an empty chain → 400 chain_invalid', async () => {
      const signed = pki.sign(pendingCsr, outside, { ca: true });
      await unchanged(async () => expectProblem(await importTo(pending, signed.cert, ''), 400, 'chain_invalid'));
    });

    it('fail/a chain with a tampered root (signature does not verify) → 400 chain_invalid', async () => {
      const signed = pki.sign(pendingCsr, outside, { ca: true });
      const der = derOf(outside.cert);
      der[der.length - 1] ^= 0x01;
      await unchanged(async () => expectProblem(await importTo(pending, signed.cert, toPem(der, 'CERTIFICATE')), 400, 'chain_invalid'));
    });

    it('fail/a certificate with a tampered signature → 400 chain_invalid', async () => {
      const signed = pki.sign(pendingCsr, outside, { ca: true });
      const der = derOf(signed.cert);
      der[der.length - 1] ^= 0x01;
      await unchanged(async () => expectProblem(await importTo(pending, toPem(der, 'CERTIFICATE'), outside.cert), 400, 'chain_invalid'));
    });

    it('fail/a non-CA certificate for the CA key (signed with CA:false) → 400 not_a_ca_certificate', async () => {
      const signed = pki.sign(pendingCsr, outside, { ca: false });
      await unchanged(async () => expectProblem(await importTo(pending, signed.cert, outside.cert), 400, 'not_a_ca_certificate'));
    });

    it('fail/an outside root with pathlen:0 signing our subordinate CA → 400 chain_invalid', async () => {
      const signed = pki.sign(pendingCsr, pathLen0, { ca: true });
      await unchanged(async () => expectProblem(await importTo(pending, signed.cert, pathLen0.cert), 400, 'chain_invalid'));
    });

    it('fail/an expired CA certificate (openssl ca -startdate/-enddate) → 400 certificate_not_valid_now', async () => {
      const cert = signWithDates(pki, pendingCsr, outside, new Date(Date.now() - 20 * 86_400_000), new Date(Date.now() - 10 * 86_400_000));
      expect(pki.text(cert)).toMatch(/CA:TRUE/);
      await unchanged(async () => expectProblem(await importTo(pending, cert, outside.cert), 400, 'certificate_not_valid_now'));
    });

    it('fail/a CA certificate that is not yet valid → 400 certificate_not_valid_now', async () => {
      const cert = signWithDates(pki, pendingCsr, outside, new Date(Date.now() + 2 * 86_400_000), new Date(Date.now() + 10 * 86_400_000));
      await unchanged(async () => expectProblem(await importTo(pending, cert, outside.cert), 400, 'certificate_not_valid_now'));
    });

    it('fail/a certificate or chain that is not PEM certificates → 400 invalid_certificate / invalid_chain', async () => {
      const signed = pki.sign(pendingCsr, outside, { ca: true });
      await unchanged(async () => {
        expectProblem(await importTo(pending, 'garbage', outside.cert), 400, 'invalid_certificate');
        expectProblem(await importTo(pending, pendingCsr, outside.cert), 400, 'invalid_certificate');
        expectProblem(await importTo(pending, signed.cert + outside.cert, outside.cert), 400, 'invalid_certificate');
        expectProblem(await importTo(pending, toPem(randomBytes(200), 'CERTIFICATE'), outside.cert), 400, 'invalid_certificate');
        expectProblem(await importTo(pending, signed.cert, 'garbage'), 400, 'invalid_chain');
      });
    });

    it('fail/importing into a ROOT CA → 409 invalid_state', async () => {
      const signed = pki.sign(pendingCsr, outside, { ca: true });
      await unchanged(async () => expectProblem(await importTo(root30, signed.cert, outside.cert), 409, 'invalid_state'));
    });

    it('ok/after all that, the pending CA is still PENDING_CERTIFICATE and the right import works', async () => {
      const got = await svc.api('GET', `/v1/cas/${pending}`);
      expect(got.body.status).toBe('PENDING_CERTIFICATE');
      const signed = pki.sign(pendingCsr, outside, { ca: true, pathLen: 0 });
      const r = await importTo(pending, signed.cert, outside.cert);
      expect(r.status, r.text).toBe(200);
      expect(r.body.status).toBe('ACTIVE');
    });
  });

  describe('authentication', () => {
    const badHeaders: [string, Record<string, string>][] = [
      ['no Authorization header', {}],
      ['a wrong bearer token', { authorization: 'Bearer pca_wrong_token' }],
      ['an empty bearer token', { authorization: 'Bearer ' }],
      ['a Basic credential', { authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` }],
    ];

    it.each(badHeaders)('fail/%s → 401 unauthenticated on GET, POST, PATCH and DELETE /v1 routes', async (_what, headers) => {
      const json = { ...headers, 'content-type': 'application/json' };
      await unchanged(async () => {
        expectProblem(await noAuth('GET', '/v1/cas', { headers }), 401, 'unauthenticated');
        expectProblem(await noAuth('GET', `/v1/cas/${root30}`, { headers }), 401, 'unauthenticated');
        expectProblem(await noAuth('GET', `/v1/cas/${root30}/certificate`, { headers }), 401, 'unauthenticated');
        expectProblem(await noAuth('GET', `/v1/cas/${root30}/certificates`, { headers }), 401, 'unauthenticated');
        expectProblem(await noAuth('GET', `/v1/cas/${randomUUID()}`, { headers }), 401, 'unauthenticated');
        expectProblem(await noAuth('GET', '/v1/no-such-route', { headers }), 401, 'unauthenticated');
        expectProblem(
          await noAuth('POST', '/v1/cas', {
            headers: json,
            body: JSON.stringify({ type: 'ROOT', subject: { commonName: 'Sneaky Root' }, keyAlgorithm: 'EC_prime256v1' }),
          }),
          401,
          'unauthenticated',
        );
        expectProblem(
          await noAuth('POST', `/v1/cas/${root30}/certificates`, { headers: json, body: JSON.stringify({ csr: goodCsr, validity: { days: 1 } }) }),
          401,
          'unauthenticated',
        );
        expectProblem(await noAuth('PATCH', `/v1/cas/${root30}`, { headers: json, body: JSON.stringify({ status: 'DISABLED' }) }), 401, 'unauthenticated');
        expectProblem(await noAuth('DELETE', `/v1/cas/${root30}`, { headers }), 401, 'unauthenticated');
      });
    });

    it('fail/the admin token with a character added or removed → 401 unauthenticated', async () => {
      await unchanged(async () => {
        for (const t of [svc.token + 'x', svc.token.slice(0, -1), svc.token.toUpperCase()]) {
          expectProblem(await noAuth('GET', '/v1/cas', { headers: { authorization: `Bearer ${t}` } }), 401, 'unauthenticated');
        }
      });
    });

    it('ok/the root CA was left ACTIVE by the unauthenticated PATCH and DELETE', async () => {
      const got = await svc.api('GET', `/v1/cas/${root30}`);
      expect(got.status).toBe(200);
      expect(got.body.status).toBe('ACTIVE');
    });

    it('ok//healthz and /openapi.json need no token', async () => {
      const h = await fetch(`${svc.url}/healthz`);
      expect(h.status).toBe(200);
      const o = await fetch(`${svc.url}/openapi.json`);
      expect(o.status).toBe(200);
      expect(o.headers.get('content-type')).toMatch(/^application\/json/);
      expect((await o.json()).openapi).toMatch(/^3\.1\./);
    });
  });

  describe('unknown routes', () => {
    it('fail/an unknown route answers 404 problem+json', async () => {
      await unchanged(async () => {
        for (const [method, p] of [
          ['GET', '/v1/nothing-here'],
          ['POST', `/v1/cas/${root30}/no-such-thing`],
          ['GET', `/v1/cas/${root30}/certificates/${'ab'.repeat(16)}/nope`],
        ] as const) {
          const r = await svc.api(method, p);
          expect(r.status, `${method} ${p}`).toBe(404);
          expectProblem(r, 404, r.body.code);
        }
        const outsideV1 = await noAuth('GET', '/no-such-page');
        expect(outsideV1.status).toBe(404);
        expectProblem(outsideV1, 404, JSON.parse(outsideV1.text).code);
      });
    });
  });

  describe('5xx', () => {
    it('fail/an internal error answers 500 problem+json with only a request id, no internals', async () => {
      const before = await snapshot();
      // Make the next issuance fail inside the database, then put things back.
      await svc.db.query('ALTER TABLE certificates RENAME TO certificates_hidden');
      let r: ApiResponse;
      try {
        r = await issue(root30, { csr: goodCsr, validity: { days: 1 } });
      } finally {
        await svc.db.query('ALTER TABLE certificates_hidden RENAME TO certificates');
      }
      const body = expectProblem(r, 500, r.body?.code);
      expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'requestId', 'status', 'title', 'type']);
      expect(body.requestId).toBeTruthy();
      expect(r.headers.get('x-request-id')).toBe(body.requestId);
      expect(body.detail).toContain(body.requestId);
      expect(r.text).not.toMatch(/relation|certificates_hidden|does not exist|INSERT|SELECT|stack|\.ts:|node_modules|postgres|pglite/i);
      expect(await snapshot()).toEqual(before);
      const after = await issue(root30, { csr: goodCsr, validity: { days: 1 } });
      expect(after.status).toBe(201);
    });
  });
});
