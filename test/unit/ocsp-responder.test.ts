import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseUnavailable, notFound } from '../../src/domain/ca-error.ts';
import { DEFAULT_CRL, DEFAULT_OCSP, type Ca } from '../../src/domain/ca.ts';
import type { CertificateStatusRecord } from '../../src/ports/repositories.ts';
import type { CaContext } from '../../src/services/ca-contexts.ts';
import { CertificateIssuer } from '../../src/x509/certificate-issuer.ts';
import { prepareResponder } from '../../src/x509/ocsp-response.ts';
import { decodePem } from '../../src/x509/pem.ts';
import { OcspResponder } from '../../ocsp/ocsp-responder.ts';
import type { Responder } from '../../ocsp/responder-certificates.ts';
import { OpensslPki } from '../pki/openssl.ts';

/*
 * The responder's decisions with its collaborators replaced: what is answered from the pre-signed
 * cache and what is signed afresh, invalidation, the byte budget, the statuses of failures.
 */

const CA_ID = '3f2d1c4b-5a69-4788-9a0b-1c2d3e4f5a6b';
const pki = new OpensslPki();
let caFile: string;
let ctx: CaContext;
let responder: Responder;

const der = (pem: string) => decodePem(pem)[0]!.der;

beforeAll(() => {
  const root = pki.root({ subject: '/CN=Responder Unit Root' });
  caFile = root.certFile;
  const caDer = der(root.cert);
  const { csr, key } = pki.csr({ subject: '/CN=Responder Unit OCSP' });
  const ext = pki.file('r.cnf', '[v3]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  pki.file('r.csr', csr);
  pki.ok(['x509', '-req', '-in', 'r.csr', '-CA', caFile, '-CAkey', root.key, '-CAcreateserial', '-days', '5', '-extfile', ext, '-extensions', 'v3', '-out', 'r.pem']);
  const privateKey = createPrivateKey(readFileSync(pki.file(key)));
  const now = Date.now();
  responder = {
    caId: CA_ID,
    serial: '01',
    signer: {
      keyUri: 'software:test',
      keyAlgorithm: 'EC_prime256v1',
      publicKeySpki: new Uint8Array(0),
      sign: async (_a, data) => sign('sha256', data as Uint8Array, privateKey),
      signSync: (_a, data) => sign('sha256', data, privateKey),
    },
    prepared: prepareResponder({ certificateDer: der(pki.read('r.pem')), signingAlgorithm: 'SHA256WITHECDSA' }),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 4 * 86_400_000),
    renewAt: new Date(now + 3 * 86_400_000),
  };
  const ca = {
    id: CA_ID,
    type: 'ROOT',
    status: 'ACTIVE',
    revocation: { crl: DEFAULT_CRL, ocsp: { ...DEFAULT_OCSP, enabled: true, validityHours: 8 } },
  } as unknown as Ca;
  ctx = { ca, signing: { signer: responder.signer, issuer: new CertificateIssuer(caDer), chainPem: '' } };
});

function request(args: string[]): Uint8Array {
  const out = `q-${randomBytes(4).toString('hex')}.der`;
  pki.ok(['ocsp', '-issuer', caFile, ...args, '-reqout', out]);
  return new Uint8Array(readFileSync(pki.file(out)));
}

function setup(options: { cacheBytes?: number; feedUp?: () => boolean; statuses?: Map<string, CertificateStatusRecord>; now?: () => Date; lookup?: (serial: string) => Promise<CertificateStatusRecord | undefined> } = {}) {
  const statuses = options.statuses ?? new Map<string, CertificateStatusRecord>();
  let reads = 0;
  const r = new OcspResponder({
    contexts: { get: async (id: string) => (id === CA_ID ? ctx : Promise.reject(notFound('ca_not_found', 'no such CA'))) },
    certificates: {
      status: async (_ca, serial) => {
        reads++;
        return options.lookup ? options.lookup(serial) : statuses.get(serial);
      },
    },
    responders: { current: async () => responder },
    clock: { now: options.now ?? (() => new Date()) },
    cacheBytes: options.cacheBytes ?? 1 << 20,
    ...(options.feedUp ? { feedUp: options.feedUp } : {}),
  });
  return { r, statuses, reads: () => reads };
}

/** The first SingleResponse's status and the response's producedAt, as pkijs reads them. */
function read(derBytes: Uint8Array): { status: number; producedAt: number; certStatus: number; nonce: boolean } {
  const resp = pkijs.OCSPResponse.fromBER(new Uint8Array(derBytes));
  const status = resp.responseStatus.valueBlock.valueDec;
  if (!resp.responseBytes) return { status, producedAt: 0, certStatus: -1, nonce: false };
  const basic = pkijs.BasicOCSPResponse.fromBER(new Uint8Array(resp.responseBytes.response.valueBlock.valueHexView));
  return {
    status,
    producedAt: basic.tbsResponseData.producedAt.getTime(),
    certStatus: basic.tbsResponseData.responses[0]!.certStatus.idBlock.tagNumber,
    nonce: !!basic.tbsResponseData.responseExtensions?.length,
  };
}

describe('OcspResponder', () => {
  it('ok/a good answer is signed once and reused byte for byte; a revocation drops it at once', async () => {
    const { r, statuses, reads } = setup();
    statuses.set('0abc', { status: 'ISSUED' });
    const q = request(['-serial', '0x0abc', '-no_nonce']);
    const a = await r.answer(CA_ID, q);
    const b = await r.answer(CA_ID, q);
    expect([a.kind, a.cached, b.cached]).toEqual(['good', false, true]);
    expect(Buffer.from(b.der).equals(Buffer.from(a.der))).toBe(true);
    expect(reads()).toBe(1);
    expect(a.http!.maxAge).toBeGreaterThan(8 * 3600 - 5);
    expect(a.http!.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);

    statuses.set('0abc', { status: 'REVOKED', revokedAt: new Date(Date.UTC(2026, 0, 2)), revocationReason: 'SUPERSEDED' });
    r.revoked(CA_ID, '0abc');
    const c = await r.answer(CA_ID, q);
    expect([c.kind, c.cached]).toEqual(['revoked', false]);
    expect(read(c.der).certStatus).toBe(1);
    expect((await r.answer(CA_ID, q)).cached).toBe(true);
  });

  it('ok/SHA-1 and SHA-256 CertIDs of one serial are kept apart and both dropped by a revocation', async () => {
    const { r, statuses } = setup();
    statuses.set('0abd', { status: 'ISSUED' });
    const sha1 = request(['-serial', '0x0abd', '-no_nonce']);
    const sha256 = request(['-sha256', '-serial', '0x0abd', '-no_nonce']);
    await r.answer(CA_ID, sha1);
    await r.answer(CA_ID, sha256);
    expect(r.cache.size).toBe(2);
    r.revoked(CA_ID, '0abd');
    expect(r.cache.size).toBe(0);
  });

  it('ok/nonce requests, several certificates and unknown serials are signed afresh every time', async () => {
    const { r, statuses } = setup();
    statuses.set('0abe', { status: 'ISSUED' });
    for (const q of [request(['-serial', '0x0abe']), request(['-serial', '0x0abe', '-serial', '0x0abf', '-no_nonce']), request(['-serial', '0x0ac0', '-no_nonce'])]) {
      const a = await r.answer(CA_ID, q);
      const b = await r.answer(CA_ID, q);
      expect(a.cached || b.cached).toBe(false);
    }
    const withNonce = await r.answer(CA_ID, request(['-serial', '0x0abe']));
    expect(read(withNonce.der).nonce).toBe(true);
    expect(withNonce.http).toBeUndefined();
    expect(r.cache.size).toBe(0);
  });

  it('fail/a revocation heard while the status was being read keeps the older answer out of the cache', async () => {
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const { r } = setup({
      lookup: async () => {
        await gate;
        return { status: 'ISSUED' };
      },
    });
    const q = request(['-serial', '0x0ac1', '-no_nonce']);
    const pending = r.answer(CA_ID, q);
    await new Promise((res) => setTimeout(res, 10));
    r.revoked(CA_ID, '0ac1');
    release();
    expect((await pending).kind).toBe('good');
    expect(r.cache.size).toBe(0);
  });

  it('fail/while the revocation feed is down nothing comes from the cache', async () => {
    let up = true;
    const { r, statuses, reads } = setup({ feedUp: () => up });
    statuses.set('0ac2', { status: 'ISSUED' });
    const q = request(['-serial', '0x0ac2', '-no_nonce']);
    await r.answer(CA_ID, q);
    up = false;
    expect((await r.answer(CA_ID, q)).cached).toBe(false);
    expect(reads()).toBe(2);
    up = true;
    expect((await r.answer(CA_ID, q)).cached).toBe(true);
  });

  it('ok/an answer is signed afresh once three quarters of its validity have passed', async () => {
    let t = Date.now();
    const { r, statuses } = setup({ now: () => new Date(t) });
    statuses.set('0ac3', { status: 'ISSUED' });
    const q = request(['-serial', '0x0ac3', '-no_nonce']);
    const first = await r.answer(CA_ID, q);
    t += 5.9 * 3_600_000;
    expect((await r.answer(CA_ID, q)).cached).toBe(true);
    t += 0.2 * 3_600_000;
    const fresh = await r.answer(CA_ID, q);
    expect(fresh.cached).toBe(false);
    expect(read(fresh.der).producedAt).toBeGreaterThan(read(first.der).producedAt);
  });

  it('ok/the cache stays within its byte budget, least recently used out first', async () => {
    const { r, statuses } = setup({ cacheBytes: 20_000 });
    const qs: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const serial = (0x1000 + i).toString(16);
      statuses.set(serial, { status: 'ISSUED' });
      qs.push(request(['-serial', `0x${serial}`, '-no_nonce']));
    }
    for (const q of qs) {
      await r.answer(CA_ID, q);
      // The first one is asked again and again: it stays.
      await r.answer(CA_ID, qs[0]!);
      expect(r.cache.bytes).toBeLessThanOrEqual(20_000);
    }
    expect(r.cache.size).toBeGreaterThan(5);
    expect(r.cache.size).toBeLessThan(40);
    expect((await r.answer(CA_ID, qs[0]!)).cached).toBe(true);
    expect((await r.answer(CA_ID, qs[1]!)).cached).toBe(false);
  });

  it('fail/malformed, another issuer, an unknown CA, a database outage: error statuses, nothing cached', async () => {
    const { r } = setup({ lookup: async () => Promise.reject(databaseUnavailable(new Error('ECONNREFUSED'))) });
    expect((await r.answer(CA_ID, Uint8Array.of(0x30, 0x00))).kind).toBe('malformedRequest');
    const other = pki.root({ subject: '/CN=Responder Unit Other' });
    const out = 'other.der';
    pki.ok(['ocsp', '-issuer', other.certFile, '-serial', '0x01', '-no_nonce', '-reqout', out]);
    expect((await r.answer(CA_ID, new Uint8Array(readFileSync(pki.file(out))))).kind).toBe('unauthorized');
    expect((await r.answer('00000000-0000-4000-8000-000000000000', request(['-serial', '0x01']))).kind).toBe('unauthorized');
    expect((await r.answer('not-a-ca', request(['-serial', '0x01']))).kind).toBe('unauthorized');
    const outage = await r.answer(CA_ID, request(['-serial', '0x01', '-no_nonce']));
    expect(outage.kind).toBe('tryLater');
    expect(read(outage.der).status).toBe(3);
    expect(r.cache.size).toBe(0);
  });
});
