import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseUnavailable } from '../../src/domain/ca-error.ts';
import { OpensslPki } from '../pki/openssl.ts';
import { FIXTURE_CA_ID as CA_ID, fixtureResponder, responderFixture, type ResponderFixture, type ResponderOptions } from '../support/ocsp-responder-fixture.ts';

/*
 * The responder's decisions with its collaborators replaced: what is answered from the pre-signed
 * cache and what is signed afresh, invalidation, the byte budget, the statuses of failures.
 */

const pki = new OpensslPki();
let fixture: ResponderFixture;
let caFile: string;

beforeAll(() => {
  fixture = responderFixture(pki);
  caFile = fixture.caFile;
});

function request(args: string[]): Uint8Array {
  const out = `q-${randomBytes(4).toString('hex')}.der`;
  pki.ok(['ocsp', '-issuer', caFile, ...args, '-reqout', out]);
  return new Uint8Array(readFileSync(pki.file(out)));
}

const setup = (options: ResponderOptions = {}) => fixtureResponder(fixture, options);

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

  it('ok/a request asked again as the same text is found without decoding it; a revocation or a CA change drops it', async () => {
    const { r, statuses, reads } = setup();
    statuses.set('0ad0', { status: 'ISSUED' });
    const q = request(['-serial', '0x0ad0', '-no_nonce']);
    const text = Buffer.from(q).toString('base64');
    expect(r.cachedAnswer(CA_ID, text)).toBeUndefined();
    const a = await r.answer(CA_ID, q, text);
    const hit = r.cachedAnswer(CA_ID, text)!;
    expect([hit.kind, hit.cached]).toEqual(['good', true]);
    expect(Buffer.from(hit.der).equals(Buffer.from(a.der))).toBe(true);
    expect(hit.http!.etag).toBe(a.http!.etag);
    // The text is bound to the CA it was asked of, and to nothing else.
    expect(r.cachedAnswer('00000000-0000-4000-8000-000000000000', text)).toBeUndefined();
    expect(r.cachedAnswer(CA_ID, text + 'A')).toBeUndefined();

    statuses.set('0ad0', { status: 'REVOKED', revokedAt: new Date(Date.UTC(2026, 0, 3)), revocationReason: 'KEY_COMPROMISE' });
    r.revoked(CA_ID, '0ad0');
    expect(r.cachedAnswer(CA_ID, text)).toBeUndefined();
    const revoked = await r.answer(CA_ID, q, text);
    expect([revoked.kind, revoked.cached]).toEqual(['revoked', false]);
    expect(read(r.cachedAnswer(CA_ID, text)!.der).certStatus).toBe(1);
    expect(reads()).toBe(2);

    r.reset(CA_ID);
    expect(r.cachedAnswer(CA_ID, text)).toBeUndefined();
    expect(r.cache.bytes).toBe(0);
  });

  it('ok/the same CertID in another encoding is found by key and keeps the first text; both cost bytes only while kept', async () => {
    const { r, statuses } = setup();
    statuses.set('0ad1', { status: 'ISSUED' });
    const q = request(['-serial', '0x0ad1', '-no_nonce']);
    const first = Buffer.from(q).toString('base64');
    const urlSafe = Buffer.from(q).toString('base64url');
    await r.answer(CA_ID, q);
    const withoutText = r.cache.bytes;
    expect((await r.answer(CA_ID, q, first)).cached).toBe(true);
    expect(r.cache.bytes).toBeGreaterThan(withoutText + first.length * 2);
    const withText = r.cache.bytes;
    expect((await r.answer(CA_ID, q, urlSafe)).cached).toBe(true);
    expect(r.cache.bytes).toBe(withText);
    expect(r.cachedAnswer(CA_ID, first)?.kind).toBe('good');
    expect(r.cachedAnswer(CA_ID, urlSafe)).toBeUndefined();
    r.revoked(CA_ID, '0ad1');
    expect([r.cache.size, r.cache.bytes]).toEqual([0, 0]);
  });

  it('fail/no text finds an answer that was not kept: nonce, several certificates, unknown, feed down, past its refresh time', async () => {
    let up = true;
    let t = Date.now();
    const { r, statuses } = setup({ feedUp: () => up, now: () => new Date(t) });
    statuses.set('0ad2', { status: 'ISSUED' });
    statuses.set('0ad3', { status: 'ISSUED' });
    const cases = [
      request(['-serial', '0x0ad2', '-nonce']),
      request(['-serial', '0x0ad2', '-serial', '0x0ad3', '-no_nonce']),
      request(['-serial', '0x0bad', '-no_nonce']),
    ];
    for (const q of cases) {
      const text = Buffer.from(q).toString('base64');
      await r.answer(CA_ID, q, text);
      expect(r.cachedAnswer(CA_ID, text)).toBeUndefined();
    }
    const q = request(['-serial', '0x0ad2', '-no_nonce']);
    const text = Buffer.from(q).toString('base64');
    await r.answer(CA_ID, q, text);
    expect(r.cachedAnswer(CA_ID, text)).toBeDefined();
    up = false;
    expect(r.cachedAnswer(CA_ID, text)).toBeUndefined();
    up = true;
    t += 6.1 * 3_600_000;
    expect(r.cachedAnswer(CA_ID, text)).toBeUndefined();
    expect(r.cache.size).toBe(0);
  });

  it('ok/request texts count against the byte budget', async () => {
    const { r, statuses } = setup({ cacheBytes: 20_000 });
    for (let i = 0; i < 40; i++) {
      const serial = (0x2000 + i).toString(16);
      statuses.set(serial, { status: 'ISSUED' });
      const q = request(['-serial', `0x${serial}`, '-no_nonce']);
      // A long text (a percent-encoded GET of the largest size) costs its length twice over.
      await r.answer(CA_ID, q, encodeURIComponent(Buffer.from(q).toString('base64')).padEnd(3000, '%'));
      expect(r.cache.bytes).toBeLessThanOrEqual(20_000);
    }
    expect(r.cache.size).toBeGreaterThan(0);
    expect(r.cache.size).toBeLessThan(20_000 / 6000 + 1);
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
