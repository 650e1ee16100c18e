import * as asn1js from 'asn1js';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * The OCSP responder is public and unauthenticated: anything on the network may send it anything.
 * Every input below is broken in some way. Each gets either HTTP 200 with a proper OCSP error
 * response (OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED }, no responseBytes:
 * malformedRequest, or unauthorized where it names another issuer or a CA that does not exist) or a
 * 4xx problem+json with a code; never a 5xx and never a hang. Afterwards a valid request still
 * answers good, the process still serves, and the bad inputs left nothing in the responder's cache.
 */

const OCSP_REQUEST = 'application/ocsp-request';
/** OCSPResponseStatus (RFC 6960 4.2.1). */
const SUCCESSFUL = 0;
const MALFORMED = 1;
const UNAUTHORIZED = 6;
/** No single request may take longer than this: a hang is a failure, not a test timeout. */
const ANSWER_WITHIN_MS = 10_000;
const NO_CA = '00000000-0000-0000-0000-000000000000';

interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
}

type CertStatus = 'good' | 'revoked' | 'unknown';
interface Decoded {
  responseStatus: number;
  single?: { serial: string; issuerNameHash: string; issuerKeyHash: string; hashAlgorithm: string; status: CertStatus };
}

const hex = (b: Uint8Array | ArrayBuffer) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');
/** Lower-case hex of the integer's magnitude (as the API writes serials). */
const hexSerial = (bytes: Uint8Array) => hex(bytes).replace(/^(00)+(?=[0-9a-f])/, '');

/** Decodes an OCSPResponse (pkijs): its status and, when successful, its first SingleResponse. Throws if it is not one. */
function decodeOcsp(der: Buffer): Decoded {
  const response = pkijs.OCSPResponse.fromBER(der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer);
  const responseStatus = response.responseStatus.valueBlock.valueDec;
  if (responseStatus !== SUCCESSFUL) return { responseStatus };
  const basic = pkijs.BasicOCSPResponse.fromBER(response.responseBytes!.response.valueBlock.valueHexView.slice());
  const s = basic.tbsResponseData.responses[0]!;
  const cs = s.certStatus as asn1js.BaseBlock;
  return {
    responseStatus,
    single: {
      serial: hexSerial(s.certID.serialNumber.valueBlock.valueHexView),
      issuerNameHash: hex(s.certID.issuerNameHash.valueBlock.valueHexView),
      issuerKeyHash: hex(s.certID.issuerKeyHash.valueBlock.valueHexView),
      hashAlgorithm: s.certID.hashAlgorithm.algorithmId,
      status: (['good', 'revoked', 'unknown'] as const)[cs.idBlock.tagNumber]!,
    },
  };
}

/** The CertID fields of a request (pkijs), to compare with what a response answers. */
function requestCertId(der: Buffer) {
  const req = pkijs.OCSPRequest.fromBER(der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer);
  const id = req.tbsRequest.requestList[0]!.reqCert;
  return {
    serial: hexSerial(id.serialNumber.valueBlock.valueHexView),
    serialBytes: Buffer.from(id.serialNumber.valueBlock.valueHexView),
    issuerNameHash: Buffer.from(id.issuerNameHash.valueBlock.valueHexView),
    issuerKeyHash: Buffer.from(id.issuerKeyHash.valueBlock.valueHexView),
  };
}

/**
 * A request through node:http (no fetch niceties): any method, a body whose Content-Length we choose
 * or a chunked one, and an answer that may come before the whole body is sent. Rejects after
 * ANSWER_WITHIN_MS: a hang fails the test that sent it.
 */
function raw(base: string, options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer; chunks?: Buffer[] }): Promise<Answer> {
  const u = new URL(base);
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${options.method} ${options.path.slice(0, 120)}: no answer within ${ANSWER_WITHIN_MS} ms`));
    }, ANSWER_WITHIN_MS);
    const req = http.request({ host: u.hostname, port: u.port, method: options.method, path: options.path, headers: options.headers ?? {}, agent: false }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(parts) });
        req.destroy();
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    // The server may close the connection while a body it refused is still being written.
    req.on('error', (e) => {
      if (!answered) {
        clearTimeout(timer);
        reject(e);
      }
    });
    if (options.chunks) {
      const chunks = options.chunks;
      (async () => {
        for (const c of chunks) {
          if (req.destroyed || answered) return;
          if (!req.write(c)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })().catch(() => undefined);
    } else {
      req.end(options.body);
    }
  });
}

const describeInput = (what: string, a: Answer) => `${what}: HTTP ${a.status} ${a.contentType} ${a.contentType.includes('json') || a.contentType.includes('text') ? a.body.toString('utf8').slice(0, 300) : a.body.toString('hex').slice(0, 120)}`;

/** A 4xx problem+json with a snake_case code (RFC 9457 as docs/api.md has it). */
function expectProblem(what: string, a: Answer, statuses?: number[]): any {
  const info = describeInput(what, a);
  expect(a.status, info).toBeGreaterThanOrEqual(400);
  expect(a.status, info).toBeLessThan(500);
  if (statuses) expect(statuses, info).toContain(a.status);
  expect(a.contentType, info).toMatch(/^application\/problem\+json(;|$)/);
  const body = JSON.parse(a.body.toString('utf8'));
  expect(body.code, info).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
  expect(body.status, info).toBe(a.status);
  return body;
}

/** HTTP 200 with exactly OCSPResponse { responseStatus } and no responseBytes, the status one of `allowed`. */
function expectOcspError(what: string, a: Answer, allowed: number[]): number {
  const info = describeInput(what, a);
  expect(a.status, info).toBe(200);
  expect(a.contentType, info).toMatch(/^application\/ocsp-response(;|$)/);
  // SEQUENCE (3) { ENUMERATED (1) n }: 30 03 0a 01 0n, nothing else.
  expect(a.body.length, info).toBe(5);
  expect(a.body.subarray(0, 4).toString('hex'), info).toBe('30030a01');
  const status = a.body[4]!;
  expect(allowed, info).toContain(status);
  expect(decodeOcsp(a.body).responseStatus, info).toBe(status);
  return status;
}

/** Either of the two refusals the contract allows; never a 5xx. */
function expectRefused(what: string, a: Answer, allowed: number[] = [MALFORMED]): void {
  expect(a.status, describeInput(what, a)).toBeLessThan(500);
  if (a.status === 200) expectOcspError(what, a, allowed);
  else expectProblem(what, a);
}

/** Sends `items` through `send`, a few at a time. */
async function inTurn<T>(items: T[], send: (item: T) => Promise<void>, parallel = 4): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) await send(items[next++]!);
    }),
  );
}

/**
 * The privateca_ocsp_* gauges that count what the responder caches (names with "cache" in them,
 * not counters of hits, misses or evictions, not histogram parts), each summed over its labels.
 */
function ocspCacheGauges(metricsText: string): Map<string, number> {
  const sums = new Map<string, number>();
  const names = new Set(metricsText.split('\n').map((l) => /^([a-zA-Z0-9_]+)/.exec(l)?.[1]).filter((n): n is string => !!n));
  for (const line of metricsText.split('\n')) {
    const m = /^(privateca_ocsp_[a-zA-Z0-9_]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    if (!name.includes('cache') || /hit|miss|evict|_total$|_created$|_bucket$|_sum$/.test(name)) continue;
    if (name.endsWith('_count') && names.has(name.replace(/_count$/, '_sum'))) continue;
    sums.set(name, (sums.get(name) ?? 0) + Number(m[3]));
  }
  return sums;
}

describe.each(DRIVERS)('OCSP responder: bad input (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  let caId: string;
  let caFile: string;
  let otherCaId: string;
  let serial: string;
  let leafFile: string;
  /** A real request by `openssl ocsp -reqout` with a nonce, and one without. */
  let req: Buffer;
  let reqNoNonce: Buffer;
  /** A real request for a certificate of the other CA. */
  let otherReq: Buffer;
  let cacheBaseline: Map<string, number>;
  let cacheSnapshot: Map<string, number>;

  const metrics = async () => {
    const res = await fetch(`${svc.url}/metrics`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    expect(res.status).toBe(200);
    return res.text();
  };
  const post = (body: Buffer | undefined, options: { path?: string; contentType?: string | null } = {}) =>
    raw(svc.url, {
      method: 'POST',
      path: options.path ?? `/ocsp/${caId}`,
      headers: {
        ...(options.contentType === null ? {} : { 'content-type': options.contentType ?? OCSP_REQUEST }),
        'content-length': String(body?.length ?? 0),
      },
      body,
    });
  const get = (p: string) => raw(svc.url, { method: 'GET', path: p });

  /** A valid request answers good for the leaf, with the CertID it asked about. */
  const expectGood = (what: string, a: Answer) => {
    const info = describeInput(what, a);
    expect(a.status, info).toBe(200);
    expect(a.contentType, info).toMatch(/^application\/ocsp-response(;|$)/);
    const d = decodeOcsp(a.body);
    expect(d.responseStatus, info).toBe(SUCCESSFUL);
    expect(d.single!.serial, info).toBe(serial);
    expect(d.single!.status, info).toBe('good');
  };

  const issue = async (id: string, cn: string, issuerFile: string) => {
    const r = await svc.api('POST', `/v1/cas/${id}/certificates`, { csr: pki.csr({ subject: `/CN=${cn}` }).csr, validity: { days: 2 } });
    expect(r.status, r.text).toBe(201);
    const file = pki.file(`bad-leaf-${r.body.serial}.pem`, r.body.certificate);
    const request = (nonce: boolean) => {
      const out = `bad-req-${r.body.serial}-${nonce ? 'nonce' : 'plain'}.der`;
      pki.ok(['ocsp', '-issuer', issuerFile, '-cert', file, ...(nonce ? [] : ['-no_nonce']), '-reqout', out]);
      return readFileSync(pki.file(out));
    };
    return { serial: r.body.serial as string, file, request };
  };

  const createCa = async (commonName: string) => {
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName }, keyAlgorithm: 'EC_prime256v1', revocation: { ocsp: { enabled: true } } });
    expect(ca.status, ca.text).toBe(201);
    const cert = await svc.api('GET', `/v1/cas/${ca.body.id}/certificate`);
    expect(cert.status, cert.text).toBe(200);
    return { id: ca.body.id as string, file: pki.file(`bad-ca-${ca.body.id}.pem`, cert.body.certificate) };
  };

  beforeAll(async () => {
    svc = await startService(driver);
    const ca = await createCa(`OCSP Bad Input Root ${driver}`);
    caId = ca.id;
    caFile = ca.file;
    const other = await createCa(`OCSP Other Root ${driver}`);
    otherCaId = other.id;
    const leaf = await issue(caId, 'bad-input.example.internal', caFile);
    serial = leaf.serial;
    leafFile = leaf.file;
    req = leaf.request(true);
    reqNoNonce = leaf.request(false);
    otherReq = (await issue(otherCaId, 'other.example.internal', other.file)).request(false);
    // The valid requests work before anything else is sent, and whatever they cache is the baseline.
    expectGood('valid request (nonce)', await post(req));
    expectGood('valid request (no nonce)', await post(reqNoNonce));
    cacheBaseline = ocspCacheGauges(await metrics());
  });
  afterAll(() => svc?.close());

  it('ok/the valid requests answer good, and the answer verifies with openssl', async () => {
    const a = await post(req);
    expectGood('valid request', a);
    const respFile = pki.file(`bad-resp-${driver}.der`);
    writeFileSync(respFile, a.body);
    // -cert makes openssl look the leaf's CertID up in the response (a request of its own, without a nonce).
    const v = pki.run(['ocsp', '-respin', respFile, '-issuer', caFile, '-CAfile', caFile, '-cert', leafFile, '-no_nonce', '-resp_text']);
    expect(v.out).toContain('Response verify OK');
    expect(v.out).toContain(`${leafFile}: good`);
    // The request's nonce is echoed (RFC 8954).
    const nonce = req.subarray(req.length - 18).toString('hex').toUpperCase();
    expect(nonce.startsWith('0410')).toBe(true);
    expect(v.out).toMatch(new RegExp(`OCSP Nonce: \\s*\\n\\s*${nonce}`));
  });

  it('fail/an empty POST body is malformedRequest or a 4xx problem', async () => {
    expectRefused('empty body', await post(Buffer.alloc(0)));
    expectRefused('empty body, no Content-Length', await raw(svc.url, { method: 'POST', path: `/ocsp/${caId}`, headers: { 'content-type': OCSP_REQUEST } }));
  });

  it('fail/random bytes (and random bytes that start like a DER SEQUENCE) are malformedRequest or a 4xx problem', async () => {
    const inputs: Buffer[] = [Buffer.from([0x00]), Buffer.from([0x30]), Buffer.from([0x30, 0x00]), Buffer.from([0x30, 0x80]), Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x05, 0x00])];
    for (const n of [1, 2, 3, 16, 64, 100, 1000, 10_000]) inputs.push(randomBytes(n));
    for (const n of [10, 100, 1000]) {
      const body = randomBytes(n);
      inputs.push(Buffer.concat([Buffer.from([0x30, 0x82, n >> 8, n & 0xff]), body]));
    }
    // Deep nesting: SEQUENCE { SEQUENCE { … } } two thousand levels down.
    let nested = Buffer.alloc(0);
    for (let i = 0; i < 2000; i++) {
      const header = Buffer.from([0x30, 0x84, 0, 0, 0, 0]);
      header.writeUInt32BE(nested.length, 2);
      nested = Buffer.concat([header, nested]);
    }
    inputs.push(nested);
    // Indefinite lengths (BER, not DER) nested deep.
    inputs.push(Buffer.concat([Buffer.alloc(4000, 0x30).map((_, i) => (i % 2 ? 0x80 : 0x30)), Buffer.alloc(4000, 0)]));
    await inTurn(inputs, async (b) => expectRefused(`random ${b.subarray(0, 8).toString('hex')}… (${b.length} bytes)`, await post(b)));
  });

  it('fail/every truncated prefix of a real request is malformedRequest or a 4xx problem', async () => {
    for (const r of [req, reqNoNonce]) {
      const prefixes = Array.from({ length: r.length }, (_, n) => n);
      await inTurn(prefixes, async (n) => expectRefused(`prefix of ${n}/${r.length} bytes`, await post(r.subarray(0, n))));
    }
  });

  it('fail/a real request followed by trailing garbage is malformedRequest or a 4xx problem', async () => {
    const tails = [Buffer.from([0x00]), Buffer.from([0x00, 0x00]), Buffer.from([0x30, 0x00]), randomBytes(1), randomBytes(16), req];
    await inTurn(tails, async (t) => expectRefused(`request + ${t.toString('hex').slice(0, 40)}`, await post(Buffer.concat([req, t]))));
  });

  it('fail/a wrong Content-Type (text/plain, application/json, …) on a valid request is 415 problem+json', async () => {
    for (const type of ['text/plain', 'application/json', 'application/x-www-form-urlencoded', 'application/ocsp-response', 'multipart/form-data; boundary=x']) {
      expectProblem(`Content-Type ${type}`, await post(req, { contentType: type }), [415]);
    }
  });

  it('fail/no Content-Type: a 4xx problem, or an answer that is correct for the request; never 5xx', async () => {
    for (const body of [req, randomBytes(40)]) {
      const a = await post(body, { contentType: null });
      expect(a.status, describeInput('no Content-Type', a)).toBeLessThan(500);
      if (a.status !== 200) expectProblem('no Content-Type', a);
      else if (body === req) expectGood('no Content-Type, valid body', a);
      else expectOcspError('no Content-Type, random body', a, [MALFORMED]);
    }
  });

  it('fail/an oversized body (1 MB declared, 2 MiB chunked) is 413 problem+json, and the service serves on', async () => {
    const MB = 1_000_000;
    // A DER SEQUENCE header that announces the whole body, then zeros.
    const big = Buffer.alloc(MB);
    big.set([0x30, 0x83, (MB - 5) >> 16, ((MB - 5) >> 8) & 0xff, (MB - 5) & 0xff]);
    expectProblem('1 MB body', await post(big), [413]);
    expectProblem('1 MB of random bytes', await post(randomBytes(MB)), [413]);
    const chunked = await raw(svc.url, {
      method: 'POST',
      path: `/ocsp/${caId}`,
      headers: { 'content-type': OCSP_REQUEST, 'transfer-encoding': 'chunked' },
      chunks: Array.from({ length: 32 }, () => Buffer.alloc(64 * 1024, 0x30)),
    });
    expectProblem('2 MiB chunked', chunked, [413]);
    expectGood('valid request after the oversized ones', await post(req));
  });

  it('fail/GET with garbage in place of the base64 request is malformedRequest or a 4xx problem', async () => {
    const b64 = (b: Buffer) => b.toString('base64');
    const parts = [
      '!!!',
      '%zz',
      '%',
      '%25',
      '====',
      '=',
      'A',
      'AA',
      'AAA',
      '%00',
      '%C3%A9',
      '..',
      encodeURIComponent(b64(randomBytes(64))),
      randomBytes(64).toString('base64url'),
      encodeURIComponent(b64(req.subarray(0, req.length - 1))),
      encodeURIComponent(b64(Buffer.concat([req, Buffer.from([0x00])]))),
      encodeURIComponent(b64(req).slice(0, -3) + '!!!'),
      encodeURIComponent(b64(req)) + '%20',
      encodeURIComponent(b64(req)) + '%2F',
      encodeURIComponent(b64(req)) + '/x',
    ];
    await inTurn(parts, async (p) => expectRefused(`GET …/${p.slice(0, 200)}`, await get(`/ocsp/${caId}/${p}`)));
    // A query string is not part of the request: a valid request before it answers good, or is refused.
    const q = await get(`/ocsp/${caId}/${encodeURIComponent(b64(reqNoNonce))}?x=1&y=%zz`);
    if (q.status === 200 && decodeOcsp(q.body).responseStatus === SUCCESSFUL) expectGood('GET with a query string', q);
    else expectRefused('GET with a query string', q);
    // An empty request part: the route may not match at all (a 404 problem) or answer malformedRequest.
    expectRefused('GET /ocsp/{id}/', await get(`/ocsp/${caId}/`));
    expectRefused('GET /ocsp/{id}', await get(`/ocsp/${caId}`));
  });

  it('fail/GET of a very long path (8 KB) is malformedRequest or a 4xx problem, not a hang', async () => {
    const long = [
      'A'.repeat(8 * 1024),
      randomBytes(6 * 1024).toString('base64').slice(0, 8 * 1024),
      encodeURIComponent(randomBytes(6 * 1024).toString('base64')).slice(0, 8 * 1024),
      '%41'.repeat(2731),
    ];
    for (const p of long) expectRefused(`GET of ${p.length} characters`, await get(`/ocsp/${caId}/${p}`));
  });

  it('fail/a CA id that does not exist, or is not a UUID, is unauthorized or a 4xx problem; never 5xx', async () => {
    const b64 = encodeURIComponent(req.toString('base64'));
    for (const id of [NO_CA, NO_CA.toUpperCase(), randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-')]) {
      const p = await post(req, { path: `/ocsp/${id}` });
      if (p.status === 200) expectOcspError(`POST /ocsp/${id}`, p, [UNAUTHORIZED]);
      else expectProblem(`POST /ocsp/${id}`, p, [404]);
      const g = await get(`/ocsp/${id}/${b64}`);
      if (g.status === 200) expectOcspError(`GET /ocsp/${id}/…`, g, [UNAUTHORIZED]);
      else expectProblem(`GET /ocsp/${id}/…`, g, [404]);
    }
    for (const id of ['not-a-uuid', '..', '%zz', 'x'.repeat(300), `${caId}x`]) {
      for (const a of [await post(req, { path: `/ocsp/${id}` }), await get(`/ocsp/${id}/${b64}`)]) {
        if (a.status === 200) expectOcspError(`/ocsp/${id.slice(0, 40)}`, a, [UNAUTHORIZED]);
        else expectProblem(`/ocsp/${id.slice(0, 40)}`, a, [400, 404]);
      }
    }
  });

  it('fail/HEAD, PUT, DELETE and PATCH on /ocsp/{id} are 4xx', async () => {
    for (const method of ['HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const body = method === 'HEAD' || method === 'OPTIONS' ? undefined : req;
      const a = await raw(svc.url, { method, path: `/ocsp/${caId}`, headers: body ? { 'content-type': OCSP_REQUEST, 'content-length': String(body.length) } : {}, body });
      const info = describeInput(method, a);
      if (method === 'OPTIONS') {
        // CORS preflight machinery may answer 204; it is not an OCSP answer either way.
        expect(a.status, info).toBeLessThan(500);
        expect(a.contentType, info).not.toMatch(/ocsp-response/);
        continue;
      }
      expect(a.status, info).toBeGreaterThanOrEqual(400);
      expect(a.status, info).toBeLessThan(500);
      if (method !== 'HEAD') expectProblem(method, a);
    }
  });

  it('ok/nothing the unparsable and misdirected input above sent is in the responder\'s cache', async () => {
    const now = ocspCacheGauges(await metrics());
    console.log(`${driver}: OCSP cache gauges at the baseline ${JSON.stringify([...cacheBaseline])}, now ${JSON.stringify([...now])}`);
    for (const [name, before] of cacheBaseline) expect(now.get(name), `${name} (${before} at the baseline)`).toBe(before);
    // With or without such a gauge, the valid request's answer is still right.
    expectGood('valid request', await post(req));
    cacheSnapshot = now;
  });

  it('fail/a real request with one byte flipped: never 5xx; never good for a CertID it did not ask about', async () => {
    const id = requestCertId(req);
    // Where the CertID's hashes and serial lie in the request: a flip there names another certificate.
    const ranges = [id.issuerNameHash, id.issuerKeyHash, id.serialBytes].map((v) => {
      const at = req.indexOf(v);
      expect(at).toBeGreaterThan(0);
      return [at, at + v.length] as const;
    });
    const sha1Oid = Buffer.from('06052b0e03021a', 'hex');
    const oidAt = req.indexOf(sha1Oid);
    expect(oidAt).toBeGreaterThan(0);
    ranges.push([oidAt + 2, oidAt + sha1Oid.length]);
    const inCertId = (p: number) => ranges.some(([s, e]) => p >= s && p < e);

    const outcomes = { malformed: 0, unauthorized: 0, good: 0, unknown: 0, revoked: 0, problem: 0 };
    const flips: { pos: number; mask: number }[] = [];
    for (let pos = 0; pos < req.length; pos++) for (const mask of [0xff, 0x01, 0x80]) flips.push({ pos, mask });
    await inTurn(flips, async ({ pos, mask }) => {
      const flipped = Buffer.from(req);
      flipped[pos] = flipped[pos]! ^ mask;
      const what = `byte ${pos} ^ 0x${mask.toString(16)}`;
      const a = await post(flipped);
      expect(a.status, describeInput(what, a)).toBeLessThan(500);
      if (a.status !== 200) {
        expectProblem(what, a);
        outcomes.problem++;
        return;
      }
      expect(a.contentType, describeInput(what, a)).toMatch(/^application\/ocsp-response(;|$)/);
      const d = decodeOcsp(a.body);
      if (d.responseStatus !== SUCCESSFUL) {
        expectOcspError(what, a, [MALFORMED, UNAUTHORIZED]);
        outcomes[d.responseStatus === MALFORMED ? 'malformed' : 'unauthorized']++;
        return;
      }
      outcomes[d.single!.status]++;
      // A successful answer is about the CertID the (flipped) request names.
      let asked: ReturnType<typeof requestCertId> | undefined;
      try {
        asked = requestCertId(flipped);
      } catch {
        asked = undefined;
      }
      expect(asked, `${what}: the service answered successful to a request pkijs cannot parse`).toBeDefined();
      expect(d.single!.serial, what).toBe(asked!.serial);
      if (inCertId(pos)) {
        // Another issuer's hashes, an unknown hash algorithm or a serial never issued: not "good".
        expect(d.single!.status, `${what} (inside the CertID) answered ${d.single!.status}`).not.toBe('good');
      } else {
        // The same CertID (a flip in the nonce, say): never revoked, the leaf is not.
        expect(d.single!.status, `${what}: same CertID as the valid request`).not.toBe('revoked');
      }
    });
    console.log(`${driver}: ${flips.length} one-byte flips →`, outcomes);
    expect(outcomes.good, 'the flips outside the CertID (in the nonce, say) still ask about our leaf').toBeGreaterThan(0);
    // Requests about serials never issued or issuers not served: no entry each, or anyone could fill the cache.
    const now = ocspCacheGauges(await metrics());
    console.log(`${driver}: OCSP cache gauges before the flips ${JSON.stringify([...cacheSnapshot])}, after ${JSON.stringify([...now])}`);
    for (const [name, before] of cacheSnapshot) expect(now.get(name), `${name} grew from ${before} with the flipped requests`).toBeLessThanOrEqual(before);
    cacheSnapshot = now;
  });

  it('fail/another issuer\'s CertID is unauthorized (POST and GET)', async () => {
    expectOcspError('POST another CA\'s request', await post(otherReq), [UNAUTHORIZED]);
    expectOcspError('GET another CA\'s request', await get(`/ocsp/${caId}/${encodeURIComponent(otherReq.toString('base64'))}`), [UNAUTHORIZED]);
    // Sent to its own CA's responder it is good there, so the refusal above is about the issuer.
    const own = await post(otherReq, { path: `/ocsp/${otherCaId}` });
    expect(own.status).toBe(200);
    expect(decodeOcsp(own.body).single?.status).toBe('good');
  });

  it('ok/GET forms of the valid request: standard base64 raw or percent-encoded, URL-safe, padded or not', async () => {
    // A request whose base64 has '+' and '/' in it: the nonce is ours to choose (its last 16 bytes).
    let withBoth: Buffer | undefined;
    for (let i = 0; i < 1000 && !withBoth; i++) {
      const r = Buffer.from(req);
      randomBytes(16).copy(r, r.length - 16);
      const s = r.toString('base64');
      if (s.includes('+') && s.includes('/')) withBoth = r;
    }
    expect(withBoth).toBeDefined();
    expectGood('POST with the chosen nonce', await post(withBoth!));
    for (const r of [withBoth!, reqNoNonce]) {
      const std = r.toString('base64');
      const url = r.toString('base64url');
      const forms = new Set([std, encodeURIComponent(std), url, url + '='.repeat((4 - (url.length % 4)) % 4), std.replace(/=/g, '%3D')]);
      for (const f of forms) expectGood(`GET …/${f}`, await get(`/ocsp/${caId}/${f}`));
    }
  });

  it('ok/after all the bad input: a valid request still answers good on POST and GET, the process serves, and nothing bad was cached', async () => {
    expectGood('POST after the bad inputs', await post(req));
    expectGood('GET after the bad inputs', await get(`/ocsp/${caId}/${encodeURIComponent(reqNoNonce.toString('base64'))}`));
    expect((await fetch(`${svc.url}/healthz`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) })).status).toBe(200);
    const cas = await svc.api('GET', '/v1/cas');
    expect(cas.status).toBe(200);
    const after = ocspCacheGauges(await metrics());
    console.log(`${driver}: OCSP cache gauges after the flips ${JSON.stringify([...cacheSnapshot])}, after ${JSON.stringify([...after])}`);
    for (const [name, before] of cacheSnapshot) {
      // The only new valid CertID asked about since the flips: the other CA's leaf, at its own CA.
      // That one answer is one entry more (and about a kilobyte more of the bytes gauge).
      if (name.endsWith('_entries')) expect(after.get(name), `${name} grew from ${before}`).toBeLessThanOrEqual(before + 1);
      else expect(after.get(name), `${name} grew from ${before}`).toBeLessThanOrEqual(before + 4096);
    }
  });
});
