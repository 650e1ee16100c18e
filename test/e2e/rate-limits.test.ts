import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/service.ts';

/*
 * Rate limits per principal (docs/api.md "Principals, tokens and policies"): a token bucket shared by
 * every node, set on the principal as rateLimit { requestsPerSecond, burst, perCa }.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function principalWithToken(svc: TestService, name: string, rateLimit?: object, policies = ['ReadOnlyAccess']): Promise<{ id: string; token: string }> {
  const p = await svc.api('POST', '/v1/principals', { name, policies, ...(rateLimit ? { rateLimit } : {}) });
  expect(p.status, p.text).toBe(201);
  const t = await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {});
  expect(t.status, t.text).toBe(201);
  return { id: p.body.id, token: t.body.token };
}

/** `concurrency` loops per URL calling GET `path` with `token` until `ms` have passed: statuses counted, 429s kept. */
async function hammer(urls: string[], token: string, path: string, ms: number, concurrency: number) {
  const counts: Record<number, number> = {};
  const refusals: { code: string; retryAfter: string | null }[] = [];
  const start = Date.now();
  await Promise.all(
    urls.flatMap((url) =>
      Array.from({ length: concurrency }, async () => {
        while (Date.now() - start < ms) {
          const r = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
          const body = (await r.json()) as { code?: string };
          counts[r.status] = (counts[r.status] ?? 0) + 1;
          if (r.status === 429) refusals.push({ code: body.code!, retryAfter: r.headers.get('retry-after') });
        }
      }),
    ),
  );
  return { counts, refusals, seconds: (Date.now() - start) / 1000 };
}

describe('rate limits on PostgreSQL, two nodes', () => {
  let a: TestService;
  let b: TestService;
  beforeAll(async () => {
    a = await startService('pg');
    b = await startService('pg', {}, { join: a });
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('ok/the limit is set, shown, changed and removed through the API; bad limits are 400 and change nothing', async () => {
    const p = await a.api('POST', '/v1/principals', { name: 'limited-api', rateLimit: { requestsPerSecond: 2.5 } });
    expect(p.status, p.text).toBe(201);
    expect(p.body.rateLimit).toEqual({ requestsPerSecond: 2.5, burst: 3 });
    const changed = await a.api('PATCH', `/v1/principals/${p.body.id}`, { rateLimit: { requestsPerSecond: 10, burst: 40, perCa: true } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.rateLimit).toEqual({ requestsPerSecond: 10, burst: 40, perCa: true });
    expect((await b.api('GET', `/v1/principals/${p.body.id}`)).body.rateLimit).toEqual({ requestsPerSecond: 10, burst: 40, perCa: true });
    for (const bad of [{ requestsPerSecond: 0 }, { requestsPerSecond: -1 }, { requestsPerSecond: 5, burst: 0 }, { requestsPerSecond: 5, burst: 1.5 }, { burst: 5 }, { requestsPerSecond: 5, other: 1 }, 'fast']) {
      const r = await a.api('PATCH', `/v1/principals/${p.body.id}`, { rateLimit: bad });
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.code).toBe('invalid_request');
    }
    expect((await a.api('GET', `/v1/principals/${p.body.id}`)).body.rateLimit).toEqual({ requestsPerSecond: 10, burst: 40, perCa: true });
    const removed = await a.api('PATCH', `/v1/principals/${p.body.id}`, { rateLimit: null });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body.rateLimit).toBeUndefined();
  });

  it('ok/a limit of 40/s (burst 40) holds for both nodes together within ±20 %; the rest is 429 rate_limited with Retry-After; another principal is not slowed', async () => {
    const limited = await principalWithToken(a, 'limited-load', { requestsPerSecond: 40, burst: 40 });
    const free = await principalWithToken(a, 'unlimited-load');
    const [run, other] = await Promise.all([hammer([a.url, b.url], limited.token, '/v1/me', 4_000, 8), hammer([a.url, b.url], free.token, '/v1/me', 4_000, 2)]);
    const expected = 40 + 40 * run.seconds;
    const label = JSON.stringify({ run, expected, other: other.counts });
    expect(Object.keys(run.counts).sort(), label).toEqual(['200', '429']);
    expect(Math.abs(run.counts[200]! - expected) / expected, label).toBeLessThanOrEqual(0.2);
    expect(run.refusals.every((x) => x.code === 'rate_limited' && Number(x.retryAfter) >= 1), label).toBe(true);
    expect(Object.keys(other.counts), label).toEqual(['200']);
    expect(other.counts[200]!, label).toBeGreaterThan(expected);
  });

  it('ok/perCa: each CA has its own bucket; requests outside /v1/cas/{caId} share another', async () => {
    const ca1 = await a.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Rate CA 1' }, keyAlgorithm: 'EC_prime256v1' });
    const ca2 = await a.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Rate CA 2' }, keyAlgorithm: 'EC_prime256v1' });
    const p = await principalWithToken(a, 'limited-per-ca', { requestsPerSecond: 0.1, burst: 3, perCa: true });
    const get = (svc: TestService, path: string) => fetch(svc.url + path, { headers: { authorization: `Bearer ${p.token}` } }).then((r) => r.status);
    const statuses = async (path: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(await get(i % 2 ? b : a, path));
      return out;
    };
    expect(await statuses(`/v1/cas/${ca1.body.id}`, 5)).toEqual([200, 200, 200, 429, 429]);
    expect(await statuses(`/v1/cas/${ca2.body.id}`, 4)).toEqual([200, 200, 200, 429]);
    expect(await statuses('/v1/me', 4)).toEqual([200, 200, 200, 429]);
  });

  it('ok/removing the limit lifts it on every node within the authentication cache time (5 s)', async () => {
    const p = await principalWithToken(a, 'limited-then-free', { requestsPerSecond: 0.1, burst: 1 });
    const get = (svc: TestService) => fetch(svc.url + '/v1/me', { headers: { authorization: `Bearer ${p.token}` } }).then((r) => r.status);
    expect(await get(a)).toBe(200);
    expect(await get(b)).toBe(429);
    expect((await a.api('PATCH', `/v1/principals/${p.id}`, { rateLimit: null })).status).toBe(200);
    let status = 0;
    for (const deadline = Date.now() + 8_000; status !== 200 && Date.now() < deadline; await sleep(250)) status = await get(b);
    expect(status).toBe(200);
    expect(await get(a)).toBe(200);
  });
});

describe('rate limits on the embedded database', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('pglite');
  }, 120_000);
  afterAll(() => svc?.close());

  it('ok/issuance is limited like any request: over the burst, 429 rate_limited with Retry-After, and nothing issued', async () => {
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Rate Issuer' }, keyAlgorithm: 'EC_prime256v1' });
    const p = await principalWithToken(svc, 'limited-issuer', { requestsPerSecond: 0.1, burst: 2 }, ['AdministratorAccess']);
    const { OpensslPki } = await import('../pki/openssl.ts');
    const csr = new OpensslPki().csr({ subject: '/CN=rate.example.internal' }).csr;
    const issue = () => svc.api('POST', `/v1/cas/${ca.body.id}/certificates`, { csr, validity: { days: 1 } }, { authorization: `Bearer ${p.token}` });
    expect((await issue()).status).toBe(201);
    expect((await issue()).status).toBe(201);
    const refused = await issue();
    expect(refused.status, refused.text).toBe(429);
    expect(refused.body.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const list = await svc.api('GET', `/v1/cas/${ca.body.id}/certificates`);
    expect(list.body.items).toHaveLength(2);
  });
});
