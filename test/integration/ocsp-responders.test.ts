import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/ports/clock.ts';
import { OpensslPki } from '../pki/openssl.ts';
import { createSoftHsm, type SoftHsm } from '../support/softhsm.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * The delegated responder certificates over time (a clock the test moves): made on the first answer
 * as a certificate of the CA with its row and audit event, renewed once two thirds of its 30 days
 * have passed, made once when nodes race, and kept signing while the CA's key store is down.
 */

const DAY = 86_400_000;
const pki = new OpensslPki();
const run = promisify(execFile);

/** A clock that the test moves forward. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => (offset += ms) };
}

interface Answer {
  status: number;
  certStatus?: number;
  responderSerial?: string;
  thisUpdate?: number;
}

async function ask(svc: TestService, caId: string, request: Uint8Array): Promise<Answer> {
  const res = await fetch(`${svc.url}/ocsp/${caId}`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: Buffer.from(request) });
  expect(res.status).toBe(200);
  const resp = pkijs.OCSPResponse.fromBER(new Uint8Array(await res.arrayBuffer()));
  const status = resp.responseStatus.valueBlock.valueDec;
  if (!resp.responseBytes) return { status };
  const basic = pkijs.BasicOCSPResponse.fromBER(new Uint8Array(resp.responseBytes.response.valueBlock.valueHexView));
  const single = basic.tbsResponseData.responses[0]!;
  return {
    status,
    certStatus: single.certStatus.idBlock.tagNumber,
    responderSerial: Buffer.from(basic.certs![0]!.serialNumber.valueBlock.valueHexView).toString('hex').replace(/^00/, ''),
    thisUpdate: single.thisUpdate.getTime(),
  };
}

/** Answers until `pred` holds (the renewal runs in the background of the answer that found it due). */
async function askUntil(svc: TestService, caId: string, request: Uint8Array, pred: (a: Answer) => boolean, ms = 10_000): Promise<Answer> {
  const deadline = Date.now() + ms;
  for (;;) {
    const a = await ask(svc, caId, request);
    if (pred(a)) return a;
    if (Date.now() > deadline) throw new Error(`no answer satisfied the condition within ${ms} ms; last ${JSON.stringify(a)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function makeCa(svc: TestService, name: string, keyStore?: string) {
  const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: name }, keyAlgorithm: 'EC_prime256v1', revocation: { ocsp: { enabled: true } }, ...(keyStore ? { keyStore: { type: keyStore } } : {}) });
  expect(ca.status, ca.text).toBe(201);
  const id: string = ca.body.id;
  const caFile = pki.file(`${id}.pem`, (await svc.api('GET', `/v1/cas/${id}/certificate`)).body.certificate);
  const leaf = await svc.api('POST', `/v1/cas/${id}/certificates`, { csr: pki.csr({ subject: `/CN=${id}.example.internal` }).csr, validity: { days: 120 } });
  expect(leaf.status, leaf.text).toBe(201);
  const leafFile = pki.file(`${id}-leaf.pem`, leaf.body.certificate);
  pki.ok(['ocsp', '-issuer', caFile, '-cert', leafFile, '-no_nonce', '-reqout', `${id}.req`]);
  return { id, caFile, request: new Uint8Array(readFileSync(pki.file(`${id}.req`))) };
}

const responderRows = async (svc: TestService, caId: string) =>
  (await svc.db.query<{ serial: string; not_before: Date; not_after: Date }>('SELECT serial, not_before, not_after FROM ocsp_responders WHERE ca_id = $1 ORDER BY not_after', [caId])).rows;

describe.each(DRIVERS)('OCSP responder certificates (%s)', (driver) => {
  const clock = movableClock();
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService(driver, {}, { clock });
  });
  afterAll(() => svc?.close());

  it('ok/made on the first answer as a certificate of the CA (row, audit event), renewed after 20 of its 30 days', async () => {
    const ca = await makeCa(svc, `Responder Renewal ${driver}`);
    expect(await responderRows(svc, ca.id)).toHaveLength(0);
    const first = await ask(svc, ca.id, ca.request);
    expect([first.status, first.certStatus]).toEqual([0, 0]);
    const rows = await responderRows(svc, ca.id);
    expect(rows.map((r) => r.serial)).toEqual([first.responderSerial]);
    expect(new Date(rows[0]!.not_after).getTime() - new Date(rows[0]!.not_before).getTime()).toBeGreaterThanOrEqual(30 * DAY - 120_000);

    // It is a certificate the CA issued like any other: a row, an audit event by the service itself.
    const cert = await svc.api('GET', `/v1/cas/${ca.id}/certificates/${first.responderSerial}`);
    expect(cert.status, cert.text).toBe(200);
    expect(cert.body.template).toBe('OCSPSigningCertificate/V1');
    const events = await svc.db.query<{ principal_name: string | null; template: string }>(
      "SELECT principal_name, details->>'template' AS template FROM audit_events WHERE action = 'privateca:IssueCertificate' AND details->>'serial' = $1",
      [first.responderSerial],
    );
    // The service's own jobs are recorded without a principal.
    expect(events.rows).toEqual([{ principal_name: null, template: 'OCSPSigningCertificate/V1' }]);
    const rFile = pki.file(`${ca.id}-responder.pem`, cert.body.certificate);
    const { stdout } = await run('openssl', ['verify', '-CAfile', ca.caFile, '-purpose', 'ocsphelper', rFile]);
    expect(stdout).toContain(': OK');

    clock.advance(19 * DAY);
    expect((await ask(svc, ca.id, ca.request)).responderSerial).toBe(first.responderSerial);
    clock.advance(2 * DAY);
    const renewed = await askUntil(svc, ca.id, ca.request, (a) => a.responderSerial !== first.responderSerial);
    expect(renewed.certStatus).toBe(0);
    const after = await responderRows(svc, ca.id);
    expect(after.map((r) => r.serial)).toEqual([first.responderSerial, renewed.responderSerial]);
    // Answers from the new responder are fresh: the cached ones of the old were dropped with it.
    expect(renewed.thisUpdate).toBeGreaterThanOrEqual(Math.floor(clock.now().getTime() / 1000) * 1000 - 5_000);
  });
});

describe('OCSP responder certificates across two nodes (pg)', () => {
  const clock = movableClock();
  let a: TestService;
  let b: TestService;
  beforeAll(async () => {
    a = await startService('pg', {}, { clock });
    b = await startService('pg', {}, { join: a, clock });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('ok/nodes asking at once make one responder, and renew it once', async () => {
    const ca = await makeCa(a, 'Responder Race');
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => ask(i % 2 ? b : a, ca.id, ca.request)));
    expect(answers.every((x) => x.certStatus === 0)).toBe(true);
    expect(await responderRows(a, ca.id)).toHaveLength(1);
    expect(new Set(answers.map((x) => x.responderSerial)).size).toBe(1);

    clock.advance(21 * DAY);
    const old = answers[0]!.responderSerial;
    await Promise.all(Array.from({ length: 12 }, (_, i) => ask(i % 2 ? b : a, ca.id, ca.request)));
    const onA = await askUntil(a, ca.id, ca.request, (x) => x.responderSerial !== old);
    const onB = await askUntil(b, ca.id, ca.request, (x) => x.responderSerial !== old);
    expect(onB.responderSerial).toBe(onA.responderSerial);
    expect(await responderRows(a, ca.id)).toHaveLength(2);
  });
});

describe('OCSP while the CA key store is down (SoftHSM2)', () => {
  const clock = movableClock();
  let hsm: SoftHsm;
  let svc: TestService;
  beforeAll(async () => {
    hsm = await createSoftHsm('ocsp-token');
    svc = await startService('pglite', { ...hsm.env }, { clock });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
    await hsm?.cleanup();
  });

  it('fail/the token gone: answers keep coming from the current responder until it expires, then tryLater; the token back: a new responder', async () => {
    const ca = await makeCa(svc, 'Responder HSM Root', 'pkcs11');
    const first = await ask(svc, ca.id, ca.request);
    expect(first.certStatus).toBe(0);
    const bringBack = await hsm.removeToken();
    let back = false;
    try {
      // Renewal is due and fails (the CA cannot sign): the current responder still answers.
      clock.advance(25 * DAY);
      for (let i = 0; i < 5; i++) {
        const x = await ask(svc, ca.id, ca.request);
        expect([x.status, x.certStatus, x.responderSerial]).toEqual([0, 0, first.responderSerial]);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await responderRows(svc, ca.id)).toHaveLength(1);
      // Past its notAfter nothing can sign: tryLater, never an answer from an expired responder.
      clock.advance(6 * DAY);
      expect((await ask(svc, ca.id, ca.request)).status).toBe(3);
      await bringBack();
      back = true;
      const renewed = await askUntil(svc, ca.id, ca.request, (x) => x.status === 0 && x.responderSerial !== first.responderSerial, 15_000);
      expect(renewed.certStatus).toBe(0);
      expect(await responderRows(svc, ca.id)).toHaveLength(2);
    } finally {
      if (!back) await bringBack();
    }
  }, 60_000);
});
