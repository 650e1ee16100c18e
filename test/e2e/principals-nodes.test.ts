import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/service.ts';

/*
 * Two service nodes on one PostgreSQL, as in a cluster: what one node changes about a credential
 * or a policy takes effect on the other within 5 seconds (docs/api.md).
 */
describe('credential and policy changes reach every node within 5 s', () => {
  let a: TestService;
  let b: TestService;

  beforeAll(async () => {
    a = await startService('pg');
    b = await startService('pg', {}, { join: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const on = (node: TestService, token: string) => (method: string, path: string, body?: unknown) => node.api(method, path, body, { authorization: `Bearer ${token}` });
  /** How long until `check` holds on a node, polling every 100 ms; fails after 7 s. */
  const within = async (check: () => Promise<boolean>): Promise<number> => {
    const t0 = Date.now();
    for (;;) {
      if (await check()) return Date.now() - t0;
      if (Date.now() - t0 > 7000) throw new Error('not within 7 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const principalWithToken = async (name: string, policies: string[]) => {
    const p = await a.api('POST', '/v1/principals', { name, policies });
    const t = await a.api('POST', `/v1/principals/${p.body.id}/tokens`, {});
    return { id: p.body.id as string, token: t.body.token as string, tokenId: t.body.id as string };
  };

  it('fail/a token deleted on one node is refused by the other within 5 s', async () => {
    const p = await principalWithToken('deleted-token', ['ReadOnlyAccess']);
    expect((await on(b, p.token)('GET', '/v1/cas')).status).toBe(200);
    expect((await a.api('DELETE', `/v1/principals/${p.id}/tokens/${p.tokenId}`)).status).toBe(204);
    expect((await on(a, p.token)('GET', '/v1/cas')).status).toBe(401);
    const ms = await within(async () => (await on(b, p.token)('GET', '/v1/cas')).status === 401);
    expect(ms).toBeLessThanOrEqual(5000);
  });

  it('fail/a principal disabled on one node is refused by the other within 5 s, and works again once enabled', async () => {
    const p = await principalWithToken('disabled-one', ['ReadOnlyAccess']);
    expect((await on(b, p.token)('GET', '/v1/cas')).status).toBe(200);
    expect((await a.api('PATCH', `/v1/principals/${p.id}`, { status: 'DISABLED' })).status).toBe(200);
    expect(await within(async () => (await on(b, p.token)('GET', '/v1/cas')).status === 401)).toBeLessThanOrEqual(5000);
    expect((await a.api('PATCH', `/v1/principals/${p.id}`, { status: 'ACTIVE' })).status).toBe(200);
    expect(await within(async () => (await on(b, p.token)('GET', '/v1/cas')).status === 200)).toBeLessThanOrEqual(5000);
  });

  it('fail/a token that expires is refused by every node at once', async () => {
    const p = await principalWithToken('expiring', ['ReadOnlyAccess']);
    const t = await a.api('POST', `/v1/principals/${p.id}/tokens`, { expiresAt: new Date(Date.now() + 1200).toISOString() });
    for (const node of [a, b]) expect((await on(node, t.body.token)('GET', '/v1/cas')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1400));
    for (const node of [a, b]) expect((await on(node, t.body.token)('GET', '/v1/cas')).status).toBe(401);
  });

  it('ok/a policy changed on one node, and a CA tag its condition reads, take effect on the other within 5 s', async () => {
    const ca = await a.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Tagged' }, keyAlgorithm: 'EC_prime256v1', tags: { env: 'prod' } });
    const policy = await a.api('POST', '/v1/policies', {
      name: 'describe-prod',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:DescribeCertificateAuthority', Resource: 'ca/*', Condition: { StringEquals: { 'privateca:ResourceTag/env': 'prod' } } }] },
    });
    const p = await principalWithToken('prod-reader', [policy.body.id]);
    const describe = () => on(b, p.token)('GET', `/v1/cas/${ca.body.id}`);
    expect((await describe()).status).toBe(200);
    // The CA's tag changes on node A: node B's condition sees the new tag.
    expect((await a.api('PATCH', `/v1/cas/${ca.body.id}`, { tags: { env: 'test' } })).status).toBe(200);
    expect(await within(async () => (await describe()).status === 403)).toBeLessThanOrEqual(5000);
    // The policy changes on node A: node B evaluates the new document.
    const put = await a.api('PUT', `/v1/policies/${policy.body.id}`, {
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:DescribeCertificateAuthority', Resource: 'ca/*', Condition: { StringEquals: { 'privateca:ResourceTag/env': 'test' } } }] },
    });
    expect(put.status, put.text).toBe(200);
    expect(await within(async () => (await describe()).status === 200)).toBeLessThanOrEqual(5000);
  });
});
