import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * Audit reports end to end: every certificate a CA issued, as CSV (read by a real CSV parser) and as
 * JSON, checked row by row against the certificates table, the names against `openssl x509 -ext`,
 * the signature with `openssl dgst -sha256 -verify` and the audit key the service serves; one report
 * in the making per CA; a report whose node died shows FAILED; the copy in the S3 bucket.
 */

const require = createRequire(import.meta.url);

async function waitDone(svc: TestService, caId: string, id: string) {
  for (let i = 0; i < 200; i++) {
    const r = await svc.api('GET', `/v1/cas/${caId}/audit-reports/${id}`);
    expect(r.status, r.text).toBe(200);
    if (r.body.status !== 'CREATING') return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`audit report ${id} still CREATING`);
}

/** The certificates of a CA as the database holds them, by serial. */
async function dbRows(svc: TestService, caId: string) {
  const r = await svc.db.query<any>(
    'SELECT serial, subject, der, template, not_before, not_after, issued_at, issued_by, revoked_at, revocation_reason FROM certificates WHERE ca_id = $1 ORDER BY serial',
    [caId],
  );
  return r.rows;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : '');

describe.each(DRIVERS)('audit reports (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  let caId: string;
  let issuerToken: string;

  const issue = async (token: string, subject: string, san?: string) => {
    const { csr } = pki.csr({ subject, san });
    const r = await svc.api('POST', `/v1/cas/${caId}/certificates`, { csr, template: 'EndEntityCertificate/V1', validity: { days: 30 } }, { authorization: `Bearer ${token}` });
    expect(r.status, r.text).toBe(201);
    return r.body.serial as string;
  };

  beforeAll(async () => {
    svc = await startService(driver);
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Report Root' }, keyAlgorithm: 'EC_prime256v1' });
    expect(ca.status, ca.text).toBe(201);
    caId = ca.body.id;
    // A second principal issues some, so that issuedBy tells them apart.
    const p = await svc.api('POST', '/v1/principals', { name: 'payments-svc', policies: ['AdministratorAccess'] });
    issuerToken = (await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {})).body.token;
    const serials: string[] = [];
    // Subjects that CSV must quote (commas, quotes), and every SAN kind.
    serials.push(await issue(svc.token, '/O=Acme, Inc./CN=a.example', 'DNS:a.example,DNS:www.a.example,IP:10.0.0.1,IP:2001:db8::1'));
    serials.push(await issue(svc.token, '/CN=say "hi"', 'email:ops@a.example,URI:https://a.example/x?y=1'));
    serials.push(await issue(issuerToken, '/CN=b.example'));
    for (let i = 0; i < 20; i++) serials.push(await issue(i % 2 ? issuerToken : svc.token, `/CN=host${i}.a.example`, `DNS:host${i}.a.example`));
    for (const [serial, reason] of [[serials[0], 'KEY_COMPROMISE'], [serials[4], 'SUPERSEDED']] as const) {
      expect((await svc.api('POST', `/v1/cas/${caId}/certificates/${serial}/revoke`, { reason })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('ok/a CSV report: 202 CREATING, then SUCCESS; a real CSV parser reads every certificate of the CA as the database has it', async () => {
    const created = await svc.api('POST', `/v1/cas/${caId}/audit-reports`, { format: 'CSV' });
    expect(created.status, created.text).toBe(202);
    expect(created.body).toMatchObject({ caId, format: 'CSV', status: 'CREATING', requestedBy: 'admin' });
    expect(Object.keys(created.body).sort()).toEqual(['caId', 'createdAt', 'format', 'id', 'requestedBy', 'status']);
    const done = await waitDone(svc, caId, created.body.id);
    expect(done.status, JSON.stringify(done)).toBe('SUCCESS');
    const content = await fetch(`${svc.url}/v1/cas/${caId}/audit-reports/${done.id}/content`, { headers: { authorization: `Bearer ${svc.token}` } });
    expect(content.status).toBe(200);
    expect(content.headers.get('content-type')).toMatch(/^text\/csv/);
    const bytes = Buffer.from(await content.arrayBuffer());
    expect(Number(content.headers.get('content-length'))).toBe(bytes.length);
    expect(done.size).toBe(bytes.length);
    expect(done.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(content.headers.get('etag')).toBe(`"${done.sha256}"`);

    const text = bytes.toString('utf8');
    expect(text.split('\r\n')[0]).toBe('serial,subject,subjectAlternativeNames,notBefore,notAfter,issuedAt,issuedBy,template,revokedAt,revocationReason');
    const records: Record<string, string>[] = parse(text, { columns: true, record_delimiter: '\r\n', strict: true } as any);
    const rows = await dbRows(svc, caId);
    expect(done.rows).toBe(rows.length);
    expect(records.length).toBe(rows.length);
    expect(records.map((r) => r.serial)).toEqual(rows.map((r) => r.serial));
    records.forEach((rec, i) => {
      const db = rows[i];
      expect(rec).toMatchObject({
        serial: db.serial,
        subject: db.subject,
        notBefore: iso(db.not_before),
        notAfter: iso(db.not_after),
        issuedAt: iso(db.issued_at),
        issuedBy: db.issued_by,
        template: db.template,
        revokedAt: iso(db.revoked_at),
        revocationReason: db.revocation_reason ?? '',
      });
    });
    expect(new Set(records.map((r) => r.issuedBy))).toEqual(new Set(['admin', 'payments-svc']));
    expect(records.filter((r) => r.revocationReason).map((r) => r.revocationReason).sort()).toEqual(['KEY_COMPROMISE', 'SUPERSEDED']);
    expect(records.some((r) => r.subject === 'CN=say \\"hi\\"')).toBe(true);
    // The names as `openssl x509 -ext subjectAltName` prints them, but IPv6 in RFC 5952's form (as
    // the rest of the API writes it) where OpenSSL writes every group in upper case.
    const rfc5952 = (san: string) => san.replace(/^IP Address:(.*:.*)$/, (_m, ip: string) => `IP Address:${new URL(`http://[${ip}]`).hostname.slice(1, -1)}`);
    for (const [i, db] of rows.entries()) {
      const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(db.der).toString('base64')}\n-----END CERTIFICATE-----\n`;
      const out = pki.ok(['x509', '-noout', '-ext', 'subjectAltName'], pem).split('\n').slice(1).join(' ').trim();
      expect(records[i]!.subjectAlternativeNames).toBe(out.split(', ').map(rfc5952).join(', '));
    }
    expect(records.find((r) => r.subjectAlternativeNames.includes('2001:db8'))?.subjectAlternativeNames).toBe(
      'DNS:a.example, DNS:www.a.example, IP Address:10.0.0.1, IP Address:2001:db8::1',
    );

    // The signature, with openssl and the key the service serves (no token needed for it).
    const pub = await fetch(`${svc.url}/v1/audit/public-key`);
    expect(pub.status).toBe(200);
    const sigRes = await fetch(`${svc.url}/v1/cas/${caId}/audit-reports/${done.id}/signature`, { headers: { authorization: `Bearer ${svc.token}` } });
    expect(sigRes.status).toBe(200);
    expect(sigRes.headers.get('content-type')).toBe('application/octet-stream');
    pki.file('audit.pub', await pub.text());
    writeFileSync(pki.file('report.sig'), Buffer.from(await sigRes.arrayBuffer()));
    writeFileSync(pki.file('report.csv'), bytes);
    const ok = pki.run(['dgst', '-sha256', '-verify', 'audit.pub', '-signature', 'report.sig', 'report.csv']);
    expect(ok.out.trim()).toBe('Verified OK');
    expect(ok.status).toBe(0);
    // One byte changed, and openssl says so.
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 3] ^= 1;
    writeFileSync(pki.file('tampered.csv'), tampered);
    const bad = pki.run(['dgst', '-sha256', '-verify', 'audit.pub', '-signature', 'report.sig', 'tampered.csv']);
    expect(bad.status).not.toBe(0);
    expect(bad.out).toMatch(/Verification failure/i);

    // Its creation is an audit event of the caller.
    const events = await svc.api('GET', `/v1/audit/events?action=CreateAuditReport&resource=ca/${caId}`);
    expect(events.body.items.filter((e: any) => e.details.reportId === done.id)).toEqual([
      expect.objectContaining({ outcome: 'SUCCESS', principal: expect.objectContaining({ name: 'admin' }), details: { reportId: done.id, format: 'CSV' } }),
    ]);
  });

  it('ok/a JSON report holds the same rows as the CSV, SANs by kind, absent values null', async () => {
    const created = await svc.api('POST', `/v1/cas/${caId}/audit-reports`, { format: 'JSON' });
    expect(created.status, created.text).toBe(202);
    const done = await waitDone(svc, caId, created.body.id);
    expect(done.status).toBe('SUCCESS');
    const content = await svc.api('GET', `/v1/cas/${caId}/audit-reports/${done.id}/content`);
    expect(content.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Array.isArray(content.body)).toBe(true);
    const rows = await dbRows(svc, caId);
    expect(content.body.map((r: any) => r.serial)).toEqual(rows.map((r) => r.serial));
    for (const r of content.body) {
      expect(Object.keys(r)).toEqual(['serial', 'subject', 'subjectAlternativeNames', 'notBefore', 'notAfter', 'issuedAt', 'issuedBy', 'template', 'revokedAt', 'revocationReason']);
    }
    const first = content.body.find((r: any) => r.subject.includes('Acme'));
    expect(first.subjectAlternativeNames).toEqual({ dnsNames: ['a.example', 'www.a.example'], ipAddresses: ['10.0.0.1', '2001:db8::1'] });
    expect(first.revocationReason).toBe('KEY_COMPROMISE');
    const plain = content.body.find((r: any) => r.subject === 'CN=b.example');
    expect(plain).toMatchObject({ issuedBy: 'payments-svc', revokedAt: null, revocationReason: null, subjectAlternativeNames: { dnsNames: ['b.example'] } });
    const sig = await fetch(`${svc.url}/v1/cas/${caId}/audit-reports/${done.id}/signature`, { headers: { authorization: `Bearer ${svc.token}` } });
    writeFileSync(pki.file('report.json.sig'), Buffer.from(await sig.arrayBuffer()));
    pki.file('report.json', content.text);
    pki.file('audit2.pub', await (await fetch(`${svc.url}/v1/audit/public-key`)).text());
    expect(pki.run(['dgst', '-sha256', '-verify', 'audit2.pub', '-signature', 'report.json.sig', 'report.json']).out.trim()).toBe('Verified OK');
  });

  it('error/one report in the making per CA (409 request_in_progress); content before it is done is 409; a report whose node stopped shows FAILED', async () => {
    const id = randomUUID();
    const now = new Date();
    await svc.db.query(`INSERT INTO audit_reports (id, ca_id, format, status, created_at, heartbeat_at) VALUES ($1, $2, 'CSV', 'CREATING', $3, $3)`, [id, caId, now]);
    const busy = await svc.api('POST', `/v1/cas/${caId}/audit-reports`, { format: 'CSV' });
    expect([busy.status, busy.body.code]).toEqual([409, 'request_in_progress']);
    for (const part of ['content', 'signature']) {
      const r = await svc.api('GET', `/v1/cas/${caId}/audit-reports/${id}/${part}`);
      expect([r.status, r.body.code]).toEqual([409, 'audit_report_not_ready']);
    }
    expect((await svc.api('GET', `/v1/cas/${caId}/audit-reports/${id}`)).body.status).toBe('CREATING');
    // Its node stopped: no heartbeat for over a minute.
    await svc.db.query(`UPDATE audit_reports SET heartbeat_at = $2 WHERE id = $1`, [id, new Date(now.getTime() - 120_000)]);
    const failed = await svc.api('GET', `/v1/cas/${caId}/audit-reports/${id}`);
    expect(failed.body).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/stopped/) });
    const again = await svc.api('POST', `/v1/cas/${caId}/audit-reports`, { format: 'CSV' });
    expect(again.status, again.text).toBe(202);
    expect((await waitDone(svc, caId, again.body.id)).status).toBe('SUCCESS');
  });

  it('error/bad input is 400 and changes nothing; unknown ids are 404', async () => {
    const before = (await svc.db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_reports')).rows[0]!.n;
    for (const body of [{}, { format: 'XML' }, { format: 'CSV', extra: 1 }, 'nope']) {
      const r = await svc.api('POST', `/v1/cas/${caId}/audit-reports`, body);
      expect(r.status, r.text).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect((await svc.db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_reports')).rows[0]!.n).toBe(before);
    expect((await svc.api('GET', `/v1/cas/${caId}/audit-reports/not-a-uuid`)).body.code).toBe('invalid_id');
    const missing = await svc.api('GET', `/v1/cas/${caId}/audit-reports/${randomUUID()}`);
    expect([missing.status, missing.body.code]).toEqual([404, 'audit_report_not_found']);
    const noCa = await svc.api('POST', `/v1/cas/${randomUUID()}/audit-reports`, { format: 'CSV' });
    expect([noCa.status, noCa.body.code]).toEqual([404, 'ca_not_found']);
  });
});

describe('audit reports copied to the S3 bucket (s3rver)', () => {
  const bucket = 'privateca-reports';
  let server: { run(): Promise<AddressInfo>; close(): Promise<void> };
  let client: S3Client;
  let svc: TestService;

  beforeAll(async () => {
    const S3rver = require('s3rver') as new (o: Record<string, unknown>) => typeof server;
    server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: await mkdtemp(path.join(os.tmpdir(), 's3rver-')) });
    const { port } = await server.run();
    const endpoint = `http://127.0.0.1:${port}`;
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    svc = await startService('pglite', {
      PRIVATECA_CRL_S3_BUCKET: bucket,
      PRIVATECA_CRL_S3_PREFIX: 'crl/',
      PRIVATECA_CRL_S3_REGION: 'us-east-1',
      PRIVATECA_CRL_S3_ENDPOINT: endpoint,
      PRIVATECA_CRL_S3_FORCE_PATH_STYLE: 'true',
    });
  });
  afterAll(async () => {
    await svc?.close();
    client?.destroy();
    await server?.close();
  });

  it('ok/the content and its signature are put at audit-report/{caId}/{id}.csv(.sig), byte for byte the download', async () => {
    const pki = new OpensslPki();
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'S3 Report Root' }, keyAlgorithm: 'EC_prime256v1' });
    for (let i = 0; i < 3; i++) {
      const r = await svc.api('POST', `/v1/cas/${ca.body.id}/certificates`, { csr: pki.csr({ subject: `/CN=s3-${i}.example` }).csr, validity: { days: 3 } });
      expect(r.status, r.text).toBe(201);
    }
    const created = await svc.api('POST', `/v1/cas/${ca.body.id}/audit-reports`, { format: 'CSV' });
    let done: any;
    for (let i = 0; i < 200 && (!done || done.status === 'CREATING' || (!done.s3Key && !done.s3Error)); i++) {
      await new Promise((res) => setTimeout(res, 50));
      done = (await svc.api('GET', `/v1/cas/${ca.body.id}/audit-reports/${created.body.id}`)).body;
    }
    expect(done).toMatchObject({ status: 'SUCCESS', s3Key: `audit-report/${ca.body.id}/${created.body.id}.csv` });
    const download = await svc.api('GET', `/v1/cas/${ca.body.id}/audit-reports/${created.body.id}/content`);
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: done.s3Key }));
    expect(object.ContentType).toMatch(/^text\/csv/);
    expect(Buffer.from(await object.Body!.transformToByteArray()).toString('utf8')).toBe(download.text);
    const sig = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${done.s3Key}.sig` }));
    const served = await fetch(`${svc.url}/v1/cas/${ca.body.id}/audit-reports/${created.body.id}/signature`, { headers: { authorization: `Bearer ${svc.token}` } });
    expect(Buffer.from(await sig.Body!.transformToByteArray()).equals(Buffer.from(await served.arrayBuffer()))).toBe(true);
  });
});
