import * as asn1js from 'asn1js';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { startService, type TestService } from '../support/service.ts';

/*
 * OCSP with two service nodes on one PostgreSQL: a revocation shows in the OCSP answers of the node
 * that took it on the very first request after the revoke's 200, and in the other node's within
 * 1 second, even when that node has answered (and may have cached) "good" for the certificate just
 * before. Each direction is repeated for several certificates, so that a pass is not luck.
 */

const ROUNDS = 5;
const PROPAGATION_MS = 1000;
const POLL_MS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type CertStatus = 'good' | 'revoked' | 'unknown';
interface OcspAnswer {
  httpStatus: number;
  contentType: string | null;
  der: Buffer;
  /** OCSPResponseStatus: 0 successful, 1 malformedRequest, 2 internalError, 3 tryLater, 5 sigRequired, 6 unauthorized. */
  responseStatus: number;
  single?: { serial: string; status: CertStatus; revocationTime?: Date; reason?: number; thisUpdate: Date; nextUpdate?: Date };
}

/** Lower-case hex of the integer's magnitude (as the API writes serials). */
const hexSerial = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').replace(/^(00)+(?=[0-9a-f])/, '');

/** Decodes an OCSPResponse with pkijs: its status and, when successful, its first SingleResponse. */
function decodeOcsp(der: Buffer): Omit<OcspAnswer, 'httpStatus' | 'contentType' | 'der'> {
  const response = pkijs.OCSPResponse.fromBER(der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer);
  const responseStatus = response.responseStatus.valueBlock.valueDec;
  if (responseStatus !== 0) return { responseStatus };
  const basic = pkijs.BasicOCSPResponse.fromBER(response.responseBytes!.response.valueBlock.valueHexView.slice());
  const single = basic.tbsResponseData.responses[0]!;
  const cs = single.certStatus as asn1js.BaseBlock;
  const status: CertStatus = (['good', 'revoked', 'unknown'] as const)[cs.idBlock.tagNumber]!;
  let revocationTime: Date | undefined;
  let reason: number | undefined;
  if (status === 'revoked') {
    const inner = (cs as asn1js.Constructed).valueBlock.value;
    revocationTime = (inner[0] as asn1js.GeneralizedTime).toDate();
    const r = inner[1] as asn1js.Constructed | undefined;
    if (r) reason = (r.valueBlock.value[0] as asn1js.Enumerated).valueBlock.valueDec;
  }
  return {
    responseStatus,
    single: { serial: hexSerial(single.certID.serialNumber.valueBlock.valueHexView), status, revocationTime, reason, thisUpdate: single.thisUpdate, nextUpdate: single.nextUpdate },
  };
}

describe('OCSP answers with two nodes on one PostgreSQL', () => {
  let a: TestService;
  let b: TestService;
  const pki = new OpensslPki();
  let caId: string;
  let caFile: string;

  beforeAll(async () => {
    a = await startService('pg');
    b = await startService('pg', {}, { join: a });
    const ca = await a.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: 'OCSP Two Nodes Root' },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { ocsp: { enabled: true } },
    });
    expect(ca.status, ca.text).toBe(201);
    caId = ca.body.id;
    const cert = await a.api('GET', `/v1/cas/${caId}/certificate`);
    expect(cert.status, cert.text).toBe(200);
    caFile = pki.file(`nodes-root-${caId}.pem`, cert.body.certificate);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  /** POST /ocsp/{caId} to a node, decoded. */
  const ask = async (node: TestService, req: Buffer): Promise<OcspAnswer> => {
    const res = await fetch(`${node.url}/ocsp/${caId}`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: Uint8Array.from(req) });
    const der = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`POST /ocsp/${caId} on ${node.url}: HTTP ${res.status} ${der.toString('utf8').slice(0, 300)}`);
    return { httpStatus: res.status, contentType: res.headers.get('content-type'), der, ...decodeOcsp(der) };
  };

  /** A certificate issued through `node`, with its OCSP request (SHA-1 CertID, no nonce) made by openssl. */
  const issueWithRequest = async (node: TestService, cn: string) => {
    const r = await node.api('POST', `/v1/cas/${caId}/certificates`, { csr: pki.csr({ subject: `/CN=${cn}` }).csr, validity: { days: 2 } });
    expect(r.status, r.text).toBe(201);
    const leafFile = pki.file(`nodes-leaf-${r.body.serial}.pem`, r.body.certificate);
    const reqFile = `nodes-req-${r.body.serial}.der`;
    pki.ok(['ocsp', '-issuer', caFile, '-cert', leafFile, '-no_nonce', '-reqout', reqFile]);
    return { serial: r.body.serial as string, leafFile, reqFile, req: readFileSync(pki.file(reqFile)) };
  };

  const expectGood = (ans: OcspAnswer, serial: string) => {
    expect(ans.contentType).toMatch(/^application\/ocsp-response(;|$)/);
    expect(ans.responseStatus).toBe(0);
    expect(ans.single!.serial).toBe(serial);
    expect(ans.single!.status).toBe('good');
  };
  const expectRevoked = (ans: OcspAnswer, serial: string, revokedBetween: [number, number]) => {
    expect(ans.responseStatus).toBe(0);
    expect(ans.single!.serial).toBe(serial);
    expect(ans.single!.status).toBe('revoked');
    expect(ans.single!.reason, 'revocationReason keyCompromise (1)').toBe(1);
    // GeneralizedTime has whole seconds: the revocation time is that of the revoke call.
    const t = ans.single!.revocationTime!.getTime();
    expect(t).toBeGreaterThanOrEqual(revokedBetween[0] - 1000);
    expect(t).toBeLessThanOrEqual(revokedBetween[1] + 1000);
  };

  /**
   * Issues on `issuer`, warms both nodes' answers (each asked twice: good), revokes on `taker`, and
   * then at the same moment asks `taker` once and polls `other` every 50 ms. Returns the delay until
   * `other` answered revoked, measured from the revoke's 200.
   */
  const round = async (issuer: TestService, taker: TestService, other: TestService, label: string): Promise<number> => {
    const leaf = await issueWithRequest(issuer, label);
    for (const node of [taker, other, taker, other]) expectGood(await ask(node, leaf.req), leaf.serial);

    const sent = Date.now();
    const rv = await taker.api('POST', `/v1/cas/${caId}/certificates/${leaf.serial}/revoke`, { reason: 'KEY_COMPROMISE' });
    const acknowledged = Date.now();
    expect(rv.status, rv.text).toBe(200);

    const [first, delay] = await Promise.all([
      ask(taker, leaf.req),
      (async () => {
        for (;;) {
          const ans = await ask(other, leaf.req);
          const now = Date.now();
          expect(ans.responseStatus).toBe(0);
          expect(ans.single!.serial).toBe(leaf.serial);
          if (ans.single!.status === 'revoked') {
            expectRevoked(ans, leaf.serial, [sent, acknowledged]);
            return now - acknowledged;
          }
          expect(ans.single!.status, 'before the revocation reaches it, the other node still says good').toBe('good');
          // Keep polling past the limit for a while, to report how late it was.
          if (now - acknowledged > 3 * PROPAGATION_MS) return now - acknowledged;
          await sleep(POLL_MS);
        }
      })(),
    ]);
    // The node that took the revocation answers revoked on the very first request after the 200.
    expectRevoked(first, leaf.serial, [sent, acknowledged]);
    return delay;
  };

  it(`ok/revoked on node A: A answers revoked at once, B within ${PROPAGATION_MS} ms (${ROUNDS} certificates)`, async () => {
    const delays: number[] = [];
    for (let i = 0; i < ROUNDS; i++) delays.push(await round(a, a, b, `a-to-b-${i}.example.internal`));
    console.log(`OCSP revocation A → B: ${delays.join(', ')} ms`);
    for (const d of delays) expect(d, `delays A → B: ${delays.join(', ')} ms`).toBeLessThan(PROPAGATION_MS);
  });

  it(`ok/revoked on node B (issued on B): B answers revoked at once, A within ${PROPAGATION_MS} ms (${ROUNDS} certificates)`, async () => {
    const delays: number[] = [];
    for (let i = 0; i < ROUNDS; i++) delays.push(await round(b, b, a, `b-to-a-${i}.example.internal`));
    console.log(`OCSP revocation B → A: ${delays.join(', ')} ms`);
    for (const d of delays) expect(d, `delays B → A: ${delays.join(', ')} ms`).toBeLessThan(PROPAGATION_MS);
  });

  it('ok/issued on A, revoked on B: both nodes agree; B\'s revoked answer verifies with openssl (delegated responder: OCSP Signing, OCSP No Check)', async () => {
    const delay = await round(a, b, a, 'cross.example.internal');
    expect(delay).toBeLessThan(PROPAGATION_MS);
    const leaf = await issueWithRequest(a, 'verified.example.internal');
    expect((await b.api('POST', `/v1/cas/${caId}/certificates/${leaf.serial}/revoke`, { reason: 'KEY_COMPROMISE' })).status).toBe(200);
    const ans = await ask(b, leaf.req);
    const respFile = pki.file(`nodes-resp-${leaf.serial}.der`);
    writeFileSync(respFile, ans.der);
    // -cert makes openssl look the leaf's CertID up in the response (a request of its own, without a nonce).
    const v = pki.run(['ocsp', '-respin', respFile, '-issuer', caFile, '-CAfile', caFile, '-cert', leaf.leafFile, '-no_nonce', '-resp_text']);
    expect(v.out).toContain('Response verify OK');
    expect(v.out).toMatch(new RegExp(`${leaf.leafFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: revoked`));
    expect(v.out).toContain('keyCompromise');
    // The delegated responder certificate travels in the response.
    expect(v.out).toContain('OCSP Signing');
    expect(v.out).toContain('OCSP No Check');
  });

  it('fail/a serial this CA never issued is unknown on both nodes; another CA\'s certificate is unauthorized on both', async () => {
    const serial = '7f' + randomBytes(15).toString('hex');
    const reqFile = `nodes-req-unknown-${serial}.der`;
    pki.ok(['ocsp', '-issuer', caFile, '-serial', `0x${serial}`, '-no_nonce', '-reqout', reqFile]);
    const unknown = readFileSync(pki.file(reqFile));
    for (const node of [a, b]) {
      const ans = await ask(node, unknown);
      expect(ans.responseStatus).toBe(0);
      expect(ans.single!.serial).toBe(serial);
      expect(ans.single!.status).toBe('unknown');
    }

    const other = await a.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'OCSP Two Nodes Other Root' }, keyAlgorithm: 'EC_prime256v1', revocation: { ocsp: { enabled: true } } });
    expect(other.status, other.text).toBe(201);
    const otherFile = pki.file(`nodes-other-${other.body.id}.pem`, (await a.api('GET', `/v1/cas/${other.body.id}/certificate`)).body.certificate);
    const leaf = await a.api('POST', `/v1/cas/${other.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=other.example.internal' }).csr, validity: { days: 2 } });
    expect(leaf.status, leaf.text).toBe(201);
    const otherReqFile = `nodes-req-other-${leaf.body.serial}.der`;
    pki.ok(['ocsp', '-issuer', otherFile, '-cert', pki.file(`nodes-other-leaf-${leaf.body.serial}.pem`, leaf.body.certificate), '-no_nonce', '-reqout', otherReqFile]);
    const otherReq = readFileSync(pki.file(otherReqFile));
    for (const node of [a, b]) {
      const ans = await ask(node, otherReq);
      expect(ans.contentType).toMatch(/^application\/ocsp-response(;|$)/);
      expect(ans.responseStatus, 'unauthorized (6)').toBe(6);
      expect(ans.der.toString('hex')).toBe('30030a0106');
    }
  });

  it('ok/a certificate nobody revoked stays good on both nodes while others are revoked around it', async () => {
    const keep = await issueWithRequest(a, 'kept.example.internal');
    const gone = await issueWithRequest(b, 'gone.example.internal');
    expect((await a.api('POST', `/v1/cas/${caId}/certificates/${gone.serial}/revoke`, { reason: 'KEY_COMPROMISE' })).status).toBe(200);
    for (const node of [a, b]) expectGood(await ask(node, keep.req), keep.serial);
    expect((await ask(a, gone.req)).single!.status).toBe('revoked');
  });
});
