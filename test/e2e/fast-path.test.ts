import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { startService, type TestService } from '../support/service.ts';

/*
 * Issuance runs outside Express (api/issue-fast-path.ts). The same requests sent to the service's
 * listener and to the Express app alone must get the same answers.
 */
describe('issuance fast path answers as the Express route does', () => {
  let svc: TestService;
  let expressOnly: Server;
  let expressUrl: string;
  let caId: string;
  const pki = new OpensslPki();

  beforeAll(async () => {
    svc = await startService('pg');
    expressOnly = createServer(svc.node.app).listen(0, '127.0.0.1');
    await new Promise((r) => expressOnly.once('listening', r));
    expressUrl = `http://127.0.0.1:${(expressOnly.address() as AddressInfo).port}`;
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Fast Path Root' }, keyAlgorithm: 'EC_prime256v1' });
    caId = ca.body.id;
    pki.file('root.pem', (await svc.api('GET', `/v1/cas/${caId}/certificate`)).body.certificate);
  });
  afterAll(async () => {
    expressOnly?.close();
    await svc?.close();
  });

  const send = async (base: string, path: string, init: { body?: string; headers?: Record<string, string> }) => {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json', ...init.headers },
      body: init.body,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  };

  const both = async (path: string, init: { body?: string; headers?: Record<string, string> }) => {
    const [fast, slow] = [await send(svc.url, path, init), await send(expressUrl, path, init)];
    for (const h of ['content-type', 'cache-control', 'x-content-type-options', 'www-authenticate']) {
      expect(fast.headers.get(h), h).toBe(slow.headers.get(h));
    }
    expect(fast.headers.get('x-request-id')).toBeTruthy();
    expect(fast.status).toBe(slow.status);
    return { fast, slow };
  };

  it('ok/issues, and both certificates verify with openssl', async () => {
    const csr = pki.csr({ subject: '/CN=fast.example.internal', san: 'DNS:fast.example.internal' }).csr;
    const { fast, slow } = await both(`/v1/cas/${caId}/certificates`, { body: JSON.stringify({ csr, validity: { days: 3 } }) });
    expect(fast.status).toBe(201);
    expect(Object.keys(fast.json).sort()).toEqual(Object.keys(slow.json).sort());
    for (const r of [fast, slow]) {
      const v = pki.verify({ rootFile: 'root.pem', chainPem: r.json.chain, leafPem: r.json.certificate });
      expect(v.out).toMatch(/: OK\s*$/);
    }
    expect(fast.json.serial).not.toBe(slow.json.serial);
  });

  it('ok/idempotent replay is 200 on both', async () => {
    const csr = pki.csr({ subject: '/CN=idem.example.internal' }).csr;
    const body = JSON.stringify({ csr, validity: { days: 3 }, idempotencyToken: 'fast-path-1' });
    const first = await send(svc.url, `/v1/cas/${caId}/certificates`, { body });
    expect(first.status).toBe(201);
    const { fast, slow } = await both(`/v1/cas/${caId}/certificates`, { body });
    expect(fast.status).toBe(200);
    expect(fast.json.serial).toBe(first.json.serial);
    expect(slow.json.serial).toBe(first.json.serial);
  });

  const goodCsr = () => pki.csr({ subject: '/CN=x.example.internal' }).csr;
  const cases: [string, () => { path: string; body?: string; headers?: Record<string, string> }, number, string][] = [
    ['no token', () => ({ path: `/v1/cas/${caId}/certificates`, body: '{}', headers: { authorization: '' } }), 401, 'unauthenticated'],
    ['a wrong token', () => ({ path: `/v1/cas/${caId}/certificates`, body: '{}', headers: { authorization: 'Bearer nope' } }), 401, 'unauthenticated'],
    ['a non-UUID id', () => ({ path: '/v1/cas/not-a-uuid/certificates', body: JSON.stringify({ csr: goodCsr(), validity: { days: 1 } }) }), 400, 'invalid_id'],
    ['an unknown CA', () => ({ path: '/v1/cas/00000000-0000-4000-8000-000000000000/certificates', body: JSON.stringify({ csr: goodCsr(), validity: { days: 1 } }) }), 404, 'ca_not_found'],
    ['text/plain', () => ({ path: `/v1/cas/${caId}/certificates`, body: 'hello', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type'],
    ['invalid JSON', () => ({ path: `/v1/cas/${caId}/certificates`, body: '{"csr":' }), 400, 'invalid_json'],
    ['a body over 1 MiB', () => ({ path: `/v1/cas/${caId}/certificates`, body: JSON.stringify({ csr: 'x'.repeat(1024 * 1024 + 10) }) }), 413, 'payload_too_large'],
    ['an unknown field', () => ({ path: `/v1/cas/${caId}/certificates`, body: JSON.stringify({ csr: goodCsr(), validity: { days: 1 }, extra: 1 }) }), 400, 'invalid_request'],
    ['garbage CSR', () => ({ path: `/v1/cas/${caId}/certificates`, body: JSON.stringify({ csr: 'garbage', validity: { days: 1 } }) }), 400, 'invalid_csr'],
    ['an unknown template', () => ({ path: `/v1/cas/${caId}/certificates`, body: JSON.stringify({ csr: goodCsr(), template: 'Nope/V1', validity: { days: 1 } }) }), 400, 'unknown_template'],
    ['a trailing slash and a query', () => ({ path: `/v1/cas/${caId}/certificates/?x=1`, body: JSON.stringify({ csr: 'garbage', validity: { days: 1 } }) }), 400, 'invalid_csr'],
  ];
  it.each(cases)('fail/%s gives the same problem on both', async (_name, make, status, code) => {
    const c = make();
    const { fast, slow } = await both(c.path, c);
    expect(fast.status).toBe(status);
    expect(fast.json.code).toBe(code);
    expect(slow.json.code).toBe(code);
    expect(Object.keys(fast.json).sort()).toEqual(Object.keys(slow.json).sort());
  });
});
