import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/**
 * openssl without blocking the event loop: `openssl ocsp -url` talks to the service, which runs in
 * this very process (OpensslPki.run is spawnSync and would deadlock).
 */
function opensslAsync(pki: OpensslPki, args: string[]): Promise<{ status: number; out: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { cwd: pki.dir });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? 1, out: `${stdout}${stderr}`, stdout }));
    child.stdin.end();
  });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Dec  2 07:47:48 2026 GMT" (as openssl prints times) → ms since the epoch. */
function opensslTime(s: string): number {
  const m = /^(\w{3})\s+(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}) GMT$/.exec(s.trim());
  if (!m) throw new Error(`not an openssl time: ${JSON.stringify(s)}`);
  return Date.UTC(Number(m[6]), MONTHS.indexOf(m[1]!), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

/** The first "Label: value" of openssl's output, as a time. */
function timeField(out: string, label: string): number {
  const m = new RegExp(`${label}: (.+)`).exec(out);
  if (!m) throw new Error(`no "${label}" in:\n${out}`);
  return opensslTime(m[1]!);
}

/** The status openssl ocsp prints for one -cert / -serial ("leaf.pem: good"), and the indented lines after it. */
function statusOf(out: string, name: string): { status: string; details: string } {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`${name}: `));
  if (i < 0) throw new Error(`openssl printed no status for ${name}:\n${out}`);
  const details: string[] = [];
  for (let j = i + 1; j < lines.length && lines[j]!.startsWith('\t'); j++) details.push(lines[j]!.trim());
  return { status: lines[i]!.slice(name.length + 2).trim(), details: details.join('\n') };
}

/** The hex value of the "OCSP Nonce" that follows `section` ("Request Extensions" / "Response Extensions"). */
function nonceIn(out: string, section: string): string | undefined {
  const m = new RegExp(`${section}:\\s*\\n\\s*OCSP Nonce:\\s*\\n\\s*([0-9A-F]+)`).exec(out);
  return m?.[1];
}

const pemToDer = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
const firstPem = (text: string) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(text)?.[0];

// An OCSPResponse with no responseBytes is one DER encoding only (RFC 6960 4.2.1).
const MALFORMED_REQUEST = Buffer.from('30030a0101', 'hex');

interface CaRef {
  id: string;
  /** The commonName, when this test chose it. */
  name?: string;
  pem: string;
  /** The CA certificate's file, relative to the PKI directory (openssl runs there). */
  file: string;
}
interface Leaf {
  serial: string;
  pem: string;
  file: string;
}

describe.each(DRIVERS)('OCSP responder, checked with openssl ocsp (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  let n = 0;
  beforeAll(async () => {
    svc = await startService(driver);
  });
  afterAll(() => svc?.close());

  const unique = (name: string) => `${name} ${driver} ${++n}`;
  const responderUrl = (id: string) => `${svc.url}/ocsp/${id}`;

  async function caCert(id: string): Promise<CaRef> {
    const got = await svc.api('GET', `/v1/cas/${id}/certificate`);
    expect(got.status, got.text).toBe(200);
    const file = `ca-${id}.pem`;
    pki.file(file, got.body.certificate);
    return { id, pem: got.body.certificate, file };
  }

  async function newCa(name: string, options: { keyAlgorithm?: string; revocation?: unknown } = {}): Promise<CaRef> {
    const commonName = unique(name);
    const created = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName },
      keyAlgorithm: options.keyAlgorithm ?? 'EC_prime256v1',
      revocation: options.revocation ?? { ocsp: { enabled: true } },
    });
    expect(created.status, created.text).toBe(201);
    return { ...(await caCert(created.body.id)), name: commonName };
  }

  async function issue(ca: CaRef, cn = 'a.example.internal'): Promise<Leaf> {
    const r = await svc.api('POST', `/v1/cas/${ca.id}/certificates`, { csr: pki.csr({ subject: `/CN=${cn}` }).csr, validity: { days: 2 } });
    expect(r.status, r.text).toBe(201);
    const file = `leaf-${r.body.serial}.pem`;
    pki.file(file, r.body.certificate);
    return { serial: r.body.serial, pem: r.body.certificate, file };
  }

  async function revoke(ca: CaRef, leaf: Leaf, reason = 'KEY_COMPROMISE') {
    const r = await svc.api('POST', `/v1/cas/${ca.id}/certificates/${leaf.serial}/revoke`, { reason });
    expect(r.status, r.text).toBe(200);
    return r.body;
  }

  /** `openssl ocsp -url {service}/ocsp/{id} …` */
  const ask = (id: string, args: string[]) => opensslAsync(pki, ['ocsp', '-url', responderUrl(id), '-timeout', '10', ...args]);

  /** The DER OCSP request openssl makes for these arguments (-reqout, no network). */
  function request(args: string[]): Buffer {
    const file = `req${++n}.der`;
    pki.ok(['ocsp', ...args, '-reqout', file]);
    return readFileSync(path.join(pki.dir, file));
  }

  function saveDer(der: Buffer, name: string): string {
    writeFileSync(path.join(pki.dir, name), der);
    return name;
  }

  async function get(id: string, encoded: string) {
    const res = await fetch(`${responderUrl(id)}/${encoded}`);
    return { res, der: Buffer.from(await res.arrayBuffer()) };
  }

  async function post(id: string, body: Buffer) {
    const res = await fetch(responderUrl(id), { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(body) });
    return { res, der: Buffer.from(await res.arrayBuffer()) };
  }

  it.each(['EC_prime256v1', 'RSA_2048'])('ok/ROOT %s: good, verified with -CAfile alone; revoked at once with keyCompromise at the revoke time', async (keyAlgorithm) => {
    const ca = await newCa(`OCSP Root ${keyAlgorithm}`, { keyAlgorithm });
    const leaf = await issue(ca);

    const before = await ask(ca.id, ['-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-resp_text']);
    expect(before.out).toContain('Response verify OK');
    expect(before.out).toContain('OCSP Response Status: successful (0x0)');
    expect(statusOf(before.out, leaf.file).status).toBe('good');
    expect(before.status).toBe(0);

    const revoked = await revoke(ca, leaf);
    const after = await ask(ca.id, ['-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-resp_text']);
    expect(after.out).toContain('Response verify OK');
    const s = statusOf(after.out, leaf.file);
    expect(s.status).toBe('revoked');
    expect(s.details).toContain('Reason: keyCompromise');
    const revocationTime = /Revocation Time: (.+)/.exec(s.details);
    expect(revocationTime, after.out).toBeTruthy();
    expect(opensslTime(revocationTime![1]!)).toBe(Math.floor(Date.parse(revoked.revokedAt) / 1000) * 1000);
    expect(after.out).toContain('Revocation Reason: keyCompromise (0x1)');
  });

  it('ok/unknown: a serial the CA never issued, asked with -serial and with an openssl-forged leaf naming the CA, is unknown in a verified answer', async () => {
    const ca = await newCa('OCSP Unknown Root');
    const issued = await issue(ca);

    const bySerial = await ask(ca.id, ['-issuer', ca.file, '-serial', '0x5eed0123456789abcdef', '-CAfile', ca.file]);
    expect(bySerial.out).toContain('Response verify OK');
    expect(statusOf(bySerial.out, '0x5eed0123456789abcdef').status).toBe('unknown');

    // A throwaway CA with the same subject name signs a leaf the service never saw.
    const impostor = pki.root({ subject: `/CN=${ca.name}` });
    expect(pki.ok(['x509', '-noout', '-subject', '-in', path.basename(impostor.certFile)])).toBe(pki.ok(['x509', '-noout', '-subject', '-in', ca.file]));
    const forged = pki.sign(pki.csr({ subject: '/CN=a.example.internal' }).csr, impostor, { ca: false });
    const forgedFile = path.basename(forged.certFile);
    const byCert = await ask(ca.id, ['-issuer', ca.file, '-cert', forgedFile, '-cert', issued.file, '-CAfile', ca.file]);
    expect(byCert.out).toContain('Response verify OK');
    expect(statusOf(byCert.out, forgedFile).status).toBe('unknown');
    expect(statusOf(byCert.out, issued.file).status).toBe('good');
  });

  it('ok/nonce: the request nonce (openssl default, and -nonce) is echoed with no warning; -no_nonce gives an answer without one', async () => {
    const ca = await newCa('OCSP Nonce Root');
    const leaf = await issue(ca);

    for (const flag of [[], ['-nonce']]) {
      const r = await ask(ca.id, [...flag, '-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-req_text', '-resp_text']);
      expect(r.out).toContain('Response verify OK');
      expect(r.out).not.toContain('WARNING: no nonce');
      expect(r.out).not.toContain('nonce verify error');
      const sent = nonceIn(r.out, 'Request Extensions');
      expect(sent, r.out).toMatch(/^0410[0-9A-F]{32}$/);
      expect(nonceIn(r.out, 'Response Extensions')).toBe(sent);
      expect(statusOf(r.out, leaf.file).status).toBe('good');
    }

    const without = await ask(ca.id, ['-no_nonce', '-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-resp_text']);
    expect(without.out).toContain('Response verify OK');
    expect(nonceIn(without.out, 'Response Extensions')).toBeUndefined();
    expect(without.out).not.toMatch(/^\s*OCSP Nonce:/m);
    expect(without.out).not.toContain('WARNING');
    expect(statusOf(without.out, leaf.file).status).toBe('good');
  });

  it('ok/SHA-256 CertID: good, answered with the sha256 CertID it was asked', async () => {
    const ca = await newCa('OCSP SHA256 Root');
    const leaf = await issue(ca);
    const r = await ask(ca.id, ['-sha256', '-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-resp_text']);
    expect(r.out).toContain('Response verify OK');
    expect(statusOf(r.out, leaf.file).status).toBe('good');
    expect(r.out).toMatch(/Responses:[\s\S]*Hash Algorithm: sha256/);
    expect(r.out).not.toMatch(/Hash Algorithm: sha1\b/);
  });

  it('ok/several certificates in one request: each answered right (revoked, good, unknown, SHA-1 and SHA-256 mixed)', async () => {
    const ca = await newCa('OCSP Multi Root');
    const a = await issue(ca, 'a.example.internal');
    const b = await issue(ca, 'b.example.internal');
    await revoke(ca, a, 'SUPERSEDED');
    const r = await ask(ca.id, ['-issuer', ca.file, '-cert', a.file, '-cert', b.file, '-serial', '0x0badc0de', '-sha256', '-cert', `./${b.file}`, '-CAfile', ca.file, '-resp_text']);
    expect(r.out).toContain('Response verify OK');
    const sa = statusOf(r.out, a.file);
    expect(sa.status).toBe('revoked');
    expect(sa.details).toContain('Reason: superseded');
    expect(statusOf(r.out, b.file).status).toBe('good');
    expect(statusOf(r.out, '0x0badc0de').status).toBe('unknown');
    expect(statusOf(r.out, `./${b.file}`).status).toBe('good');
    expect(r.out.match(/Cert Status:/g)).toHaveLength(4);
  });

  it('fail/a CertID naming another issuer (another service CA, an openssl CA) is "unauthorized", HTTP 200', async () => {
    const ca = await newCa('OCSP Authorized Root');
    const other = await newCa('OCSP Other Root');
    const otherLeaf = await issue(other);
    const sanity = await ask(other.id, ['-issuer', other.file, '-cert', otherLeaf.file, '-CAfile', other.file]);
    expect(statusOf(sanity.out, otherLeaf.file).status).toBe('good');

    const wrong = await ask(ca.id, ['-issuer', other.file, '-cert', otherLeaf.file, '-CAfile', other.file]);
    expect(wrong.out).toContain('Responder Error: unauthorized (6)');
    expect(wrong.out).not.toContain(`${otherLeaf.file}: good`);

    const outside = pki.root({ subject: '/CN=Outside OCSP Root' });
    const outsideLeaf = pki.sign(pki.csr({ subject: '/CN=x.example.internal' }).csr, outside, { ca: false });
    const r = await ask(ca.id, ['-issuer', path.basename(outside.certFile), '-cert', path.basename(outsideLeaf.certFile), '-CAfile', ca.file]);
    expect(r.out).toContain('Responder Error: unauthorized (6)');

    const raw = await post(ca.id, request(['-issuer', other.file, '-cert', otherLeaf.file, '-no_nonce']));
    expect(raw.res.status).toBe(200);
    expect(raw.res.headers.get('content-type')).toBe('application/ocsp-response');
    expect(raw.der.equals(Buffer.from('30030a0106', 'hex'))).toBe(true);
  });

  it('fail/a request that does not parse is "malformedRequest", HTTP 200 (POST and GET)', async () => {
    const ca = await newCa('OCSP Malformed Root');
    const bodies = [Buffer.from('this is not an OCSP request'), pemToDer(ca.pem), Buffer.alloc(0)];
    for (const body of bodies) {
      const r = await post(ca.id, body);
      expect(r.res.status).toBe(200);
      expect(r.res.headers.get('content-type')).toBe('application/ocsp-response');
      expect(r.der.equals(MALFORMED_REQUEST), r.der.toString('hex')).toBe(true);
    }
    const file = saveDer((await post(ca.id, bodies[0]!)).der, 'malformed.der');
    expect(pki.run(['ocsp', '-respin', file, '-resp_text', '-noverify']).out).toContain('Responder Error: malformedrequest (1)');

    for (const encoded of ['AAAA', encodeURIComponent(pemToDer(ca.pem).toString('base64')), 'not%20base64!']) {
      const r = await get(ca.id, encoded);
      expect(r.res.status, encoded).toBe(200);
      expect(r.res.headers.get('content-type')).toBe('application/ocsp-response');
      expect(r.der.equals(MALFORMED_REQUEST), `${encoded}: ${r.der.toString('hex')}`).toBe(true);
    }
  });

  it('ok/the responder certificate in the answer: issued by the CA, OCSP Signing, OCSP No Check, chains to the CA; not the CA itself', async () => {
    const ca = await newCa('OCSP Responder Root');
    const leaf = await issue(ca);
    const r = await ask(ca.id, ['-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-resp_text']);
    expect(r.out).toContain('Response verify OK');
    const certText = r.out.slice(r.out.indexOf('\nCertificate:'));
    expect(certText).toContain('X509v3 Extended Key Usage:');
    expect(certText).toMatch(/X509v3 Extended Key Usage: ?\n\s*OCSP Signing/);
    expect(certText).toContain('OCSP No Check');
    const responderPem = firstPem(certText);
    expect(responderPem, r.out).toBeTruthy();
    expect(pemToDer(responderPem!).equals(pemToDer(ca.pem))).toBe(false);
    const caSubject = pki.ok(['x509', '-noout', '-subject'], ca.pem).trim().replace(/^subject=/, '');
    expect(pki.ok(['x509', '-noout', '-issuer'], responderPem!).trim()).toBe(`issuer=${caSubject}`);
    const v = pki.verify({ rootFile: path.join(pki.dir, ca.file), leafPem: responderPem!, extra: ['-purpose', 'ocsphelper'] });
    expect(v.out).toMatch(/: OK\s*$/);
    // The Responder Id names the responder, not the CA.
    const responderId = /Responder Id: (.+)/.exec(r.out)?.[1];
    expect(responderId).toBeTruthy();
    expect(responderId).not.toBe(caSubject.replace(/^\s+/, ''));
  });

  it('ok/SUBORDINATE CA under an openssl root: -CAfile root alone verifies the answers; good, then revoked', async () => {
    const root = pki.root({ subject: `/CN=Outside Root for OCSP ${driver}` });
    const rootFile = path.basename(root.certFile);
    const created = await svc.api('POST', '/v1/cas', {
      type: 'SUBORDINATE',
      subject: { commonName: unique('OCSP Issuing CA') },
      keyAlgorithm: 'EC_secp384r1',
      revocation: { ocsp: { enabled: true } },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id;
    const csr = (await svc.api('GET', `/v1/cas/${id}/csr`)).body.csr;
    const signed = pki.sign(csr, root, { ca: true, pathLen: 0 });
    const imported = await svc.api('POST', `/v1/cas/${id}/certificate`, { certificate: signed.cert, chain: root.cert });
    expect(imported.status, imported.text).toBe(200);
    const sub = await caCert(id);
    const leaf = await issue(sub, 'sub-leaf.example.internal');

    const good = await ask(id, ['-issuer', sub.file, '-cert', leaf.file, '-CAfile', rootFile, '-resp_text']);
    expect(good.out).toContain('Response verify OK');
    expect(statusOf(good.out, leaf.file).status).toBe('good');
    expect(good.out).toContain('OCSP Signing');
    // Trusting the subordinate CA alone would not do: the root is what verifies.
    expect((await ask(id, ['-issuer', sub.file, '-cert', leaf.file, '-CAfile', `ca-${(await newCa('OCSP Unrelated Root')).id}.pem`])).out).toContain('Response Verify Failure');

    await revoke(sub, leaf, 'CESSATION_OF_OPERATION');
    const revoked = await ask(id, ['-issuer', sub.file, '-cert', leaf.file, '-CAfile', rootFile]);
    expect(revoked.out).toContain('Response verify OK');
    const s = statusOf(revoked.out, leaf.file);
    expect(s.status).toBe('revoked');
    expect(s.details).toContain('Reason: cessationOfOperation');
  });

  it('ok/AIA: OCSP and CA Issuers URIs under the service URL (and an explicit baseUrl); the caIssuers URL serves the CA certificate in DER', async () => {
    const ca = await newCa('OCSP AIA Root');
    const leaf = await issue(ca);
    const text = pki.text(leaf.pem);
    expect(text).toMatch(/Authority Information Access: ?\n/);
    expect(text).toContain(`OCSP - URI:${svc.url}/ocsp/${ca.id}\n`);
    expect(text).toContain(`CA Issuers - URI:${svc.url}/ca/${ca.id}.crt\n`);
    // openssl finds the responder from the certificate itself.
    const uri = pki.ok(['x509', '-noout', '-ocsp_uri'], leaf.pem).trim();
    expect(uri).toBe(responderUrl(ca.id));

    const res = await fetch(`${svc.url}/ca/${ca.id}.crt`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pkix-cert');
    const der = Buffer.from(await res.arrayBuffer());
    const derFile = saveDer(der, `ca-${ca.id}.crt`);
    expect(pki.ok(['x509', '-inform', 'DER', '-in', derFile, '-noout', '-subject'])).toContain('OCSP AIA Root');
    expect(der.equals(pemToDer(ca.pem))).toBe(true);

    const based = await newCa('OCSP AIA Based Root', { revocation: { ocsp: { enabled: true, baseUrl: 'http://ocsp.example.internal/' } } });
    const basedText = pki.text((await issue(based)).pem);
    expect(basedText).toContain(`OCSP - URI:http://ocsp.example.internal/ocsp/${based.id}\n`);
    expect(basedText).toContain(`CA Issuers - URI:http://ocsp.example.internal/ca/${based.id}.crt\n`);
  });

  it('ok/no AIA without OCSP and without a CRL baseUrl; after PATCH enabling OCSP the earlier certificate is answered good and new ones carry AIA', async () => {
    const crlOnly = await newCa('OCSP Off CRL Root', { revocation: { crl: { enabled: true } } });
    expect(pki.text((await issue(crlOnly)).pem)).not.toContain('Authority Information Access');

    const ca = await newCa('OCSP Later Root', { revocation: {} });
    const early = await issue(ca, 'early.example.internal');
    expect(pki.text(early.pem)).not.toContain('Authority Information Access');

    const patched = await svc.api('PATCH', `/v1/cas/${ca.id}`, { revocation: { ocsp: { enabled: true } } });
    expect(patched.status, patched.text).toBe(200);
    const late = await issue(ca, 'late.example.internal');
    const lateText = pki.text(late.pem);
    expect(lateText).toContain(`OCSP - URI:${svc.url}/ocsp/${ca.id}\n`);
    expect(lateText).toContain(`CA Issuers - URI:${svc.url}/ca/${ca.id}.crt\n`);

    const r = await ask(ca.id, ['-issuer', ca.file, '-cert', early.file, '-cert', late.file, '-CAfile', ca.file]);
    expect(r.out).toContain('Response verify OK');
    expect(statusOf(r.out, early.file).status).toBe('good');
    expect(statusOf(r.out, late.file).status).toBe('good');
    await revoke(ca, early);
    expect(statusOf((await ask(ca.id, ['-issuer', ca.file, '-cert', early.file, '-CAfile', ca.file])).out, early.file).status).toBe('revoked');
  });

  it('ok/GET form: percent-encoded and URL-safe base64 answered alike, cache headers, byte-identical repeats, revoked at once', async () => {
    const ca = await newCa('OCSP GET Root');
    const leaf = await issue(ca);
    const req = request(['-issuer', ca.file, '-cert', leaf.file, '-no_nonce']);
    const b64 = req.toString('base64');
    const urlSafe = b64.replace(/\+/g, '-').replace(/\//g, '_');

    const first = await get(ca.id, encodeURIComponent(b64));
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get('content-type')).toBe('application/ocsp-response');
    const file = saveDer(first.der, `get-${ca.id}.der`);
    const checked = pki.run(['ocsp', '-respin', file, '-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-no_nonce', '-resp_text']);
    expect(checked.out).toContain('Response verify OK');
    expect(statusOf(checked.out, leaf.file).status).toBe('good');
    const nextUpdate = timeField(checked.out, 'Next Update');

    const cc = first.res.headers.get('cache-control') ?? '';
    expect(cc).toMatch(/\bpublic\b/);
    const maxAge = Number(/max-age=(\d+)/.exec(cc)?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(Math.ceil((nextUpdate - Date.now()) / 1000) + 1);
    const etag = first.res.headers.get('etag');
    expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
    const lastModified = first.res.headers.get('last-modified');
    expect(lastModified).toBeTruthy();
    expect(Number.isNaN(Date.parse(lastModified!))).toBe(false);
    expect(Date.parse(lastModified!)).toBeLessThanOrEqual(Date.now() + 1000);

    // The first GET of a CA's first answer, repeated: the pre-signed answer, not a new signature.
    const again = await get(ca.id, encodeURIComponent(b64));
    expect(again.der.equals(first.der), 'a repeated GET was signed afresh').toBe(true);
    expect(again.res.headers.get('etag')).toBe(etag);
    const safe = await get(ca.id, urlSafe);
    expect(safe.res.status).toBe(200);
    expect(safe.der.equals(first.der)).toBe(true);
    if (!/[+/]/.test(b64)) {
      // Standard base64 that needs no escaping is a path segment as it is.
      expect((await get(ca.id, b64)).der.equals(first.der)).toBe(true);
    }
    const posted = await post(ca.id, req);
    expect(posted.res.status).toBe(200);
    expect(posted.res.headers.get('content-type')).toBe('application/ocsp-response');
    const postedFile = saveDer(posted.der, `post-${ca.id}.der`);
    expect(statusOf(pki.run(['ocsp', '-respin', postedFile, '-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-no_nonce']).out, leaf.file).status).toBe('good');

    await revoke(ca, leaf);
    const after = await get(ca.id, encodeURIComponent(b64));
    expect(after.res.status).toBe(200);
    expect(after.der.equals(first.der)).toBe(false);
    expect(after.res.headers.get('etag')).not.toBe(etag);
    const afterFile = saveDer(after.der, `get-revoked-${ca.id}.der`);
    const r = pki.run(['ocsp', '-respin', afterFile, '-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-no_nonce']);
    expect(r.out).toContain('Response verify OK');
    expect(statusOf(r.out, leaf.file).status).toBe('revoked');
    expect(statusOf((await ask(ca.id, ['-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file])).out, leaf.file).status).toBe('revoked');
  });

  it('ok/GET with a nonce: the nonce is echoed and the answer has no Cache-Control max-age', async () => {
    const ca = await newCa('OCSP GET Nonce Root');
    const leaf = await issue(ca);
    const req = request(['-issuer', ca.file, '-cert', leaf.file, '-nonce']);
    const sent = nonceIn(pki.ok(['ocsp', '-reqin', saveDer(req, `nonce-req-${ca.id}.der`), '-req_text']), 'Request Extensions');
    expect(sent).toMatch(/^0410[0-9A-F]{32}$/);
    const r = await get(ca.id, encodeURIComponent(req.toString('base64')));
    expect(r.res.status).toBe(200);
    expect(r.res.headers.get('content-type')).toBe('application/ocsp-response');
    expect(r.res.headers.get('cache-control') ?? '').not.toMatch(/max-age/);
    const text = pki.run(['ocsp', '-respin', saveDer(r.der, `nonce-resp-${ca.id}.der`), '-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-no_nonce', '-resp_text']).out;
    expect(text).toContain('Response verify OK');
    expect(nonceIn(text, 'Response Extensions')).toBe(sent);
    expect(statusOf(text, leaf.file).status).toBe('good');
  });

  it('ok/thisUpdate is fresh at the first answer; nextUpdate = thisUpdate + validityHours (6, and 24 by default)', async () => {
    for (const [validityHours, ocsp] of [
      [6, { enabled: true, validityHours: 6 }],
      [24, { enabled: true }],
    ] as const) {
      const ca = await newCa(`OCSP Validity ${validityHours} Root`, { revocation: { ocsp } });
      const leaf = await issue(ca);
      const asked = Date.now();
      const r = await ask(ca.id, ['-issuer', ca.file, '-cert', leaf.file, '-CAfile', ca.file, '-resp_text']);
      expect(r.out).toContain('Response verify OK');
      const s = statusOf(r.out, leaf.file);
      expect(s.status).toBe('good');
      const thisUpdate = timeField(s.details, 'This Update');
      const nextUpdate = timeField(s.details, 'Next Update');
      expect(thisUpdate).toBeLessThanOrEqual(Date.now() + 1000);
      expect(asked - thisUpdate).toBeLessThanOrEqual(5000);
      expect(nextUpdate - thisUpdate).toBe(validityHours * 3600_000);
      const producedAt = timeField(r.out, 'Produced At');
      expect(Math.abs(producedAt - asked)).toBeLessThanOrEqual(5000);
    }
  });
});
