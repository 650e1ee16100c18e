import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { routeAction } from '../../api/route.ts';
import { startService, type TestService } from '../support/service.ts';

/*
 * Every /v1 route authorizes with its own action: taken from the app's route list, so that a new
 * route without a check fails here. A principal without policies is denied everything (and nothing
 * changes); a principal allowed exactly that one action gets past authorization.
 */


describe('every /v1 route authorizes with its action', () => {
  let svc: TestService;
  const pki = new OpensslPki();
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    svc = await startService('pg');
    const root = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Authz Root' }, keyAlgorithm: 'EC_prime256v1', revocation: { crl: { enabled: true } } });
    ids.caId = root.body.id;
    ids.subId = (await svc.api('POST', '/v1/cas', { type: 'SUBORDINATE', subject: { commonName: 'Authz Sub' }, keyAlgorithm: 'EC_prime256v1' })).body.id;
    ids.serial = (await svc.api('POST', `/v1/cas/${ids.caId}/certificates`, { csr: pki.csr({ subject: '/CN=a.example.internal' }).csr, validity: { days: 1 } })).body.serial;
    await svc.api('DELETE', `/v1/cas/${ids.subId}`);
    const p = await svc.api('POST', '/v1/principals', { name: 'target' });
    ids.principalId = p.body.id;
    ids.tokenId = (await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {})).body.id;
    ids.policyId = (await svc.api('POST', '/v1/policies', { name: 'target-policy', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:GetCertificate', Resource: 'ca/*' }] } })).body.id;
  });
  afterAll(async () => {
    await svc?.close();
  });

  const csr = () => pki.csr({ subject: '/CN=b.example.internal' }).csr;
  const policyDoc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:GetCertificate', Resource: 'ca/*' }] };
  /** A request that passes validation, per operation: what is left to decide is authorization. */
  const BODIES: Record<string, () => unknown> = {
    CreateCertificateAuthority: () => ({ type: 'ROOT', subject: { commonName: 'Denied' }, keyAlgorithm: 'EC_prime256v1' }),
    UpdateCertificateAuthority: () => ({ status: 'DISABLED' }),
    ImportCertificateAuthorityCertificate: () => ({ certificate: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n', chain: '' }),
    IssueCertificate: () => ({ csr: csr(), validity: { days: 1 } }),
    RevokeCertificate: () => ({ reason: 'SUPERSEDED' }),
    CreatePrincipal: () => ({ name: 'denied-principal' }),
    UpdatePrincipal: () => ({ status: 'DISABLED' }),
    CreateToken: () => ({}),
    CreatePolicy: () => ({ name: 'denied-policy', document: policyDoc }),
    UpdatePolicy: () => ({ document: policyDoc }),
    Authorize: () => ({ checks: [{ action: 'privateca:IssueCertificate', resource: 'ca/*' }] }),
    CreateAuditReport: () => ({ format: 'CSV' }),
  };
  const pathOf = (path: string, operation: string) =>
    path
      .replace('{caId}', operation === 'RestoreCertificateAuthority' || operation === 'GetCertificateAuthorityCsr' ? ids.subId! : ids.caId!)
      .replace('{serial}', ids.serial!)
      .replace('{principalId}', ids.principalId!)
      .replace('{policyId}', ids.policyId!)
      .replace('{tokenId}', ids.tokenId!)
      .replace('{reportId}', '00000000-0000-4000-8000-00000000000a');

  const snapshot = async () =>
    JSON.stringify(
      (
        await svc.db.query(
          `SELECT (SELECT json_agg(c ORDER BY c.id) FROM (SELECT id, status, tags, revocation, updated_at FROM cas) c) AS cas,
                  (SELECT json_agg(x ORDER BY x.serial) FROM (SELECT serial, status FROM certificates) x) AS certs,
                  (SELECT json_agg(p ORDER BY p.id) FROM (SELECT id, status, deleted_at FROM principals) p) AS principals,
                  (SELECT json_agg(t ORDER BY t.id) FROM (SELECT id, deleted_at FROM api_tokens) t) AS tokens,
                  (SELECT json_agg(p ORDER BY p.id) FROM (SELECT id, document FROM policies) p) AS policies,
                  (SELECT count(*) FROM crls) AS crls`,
        )
      ).rows[0],
    );

  const tokenWith = async (name: string, policies: string[]) => {
    const p = await svc.api('POST', '/v1/principals', { name, policies });
    return (await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {})).body.token as string;
  };

  it('fail/a principal without policies is denied every route but /v1/me and /v1/authorize, with the route\'s action, and nothing changes', async () => {
    const token = await tokenWith('no-policies', []);
    const routes = svc.node.routes.filter((r) => r.path.startsWith('/v1/'));
    expect(routes.length).toBeGreaterThan(25);
    const before = await snapshot();
    for (const r of routes) {
      const res = await svc.api(r.method.toUpperCase(), pathOf(r.path, r.operation), BODIES[r.operation]?.(), { authorization: `Bearer ${token}` });
      const where = `${r.method} ${r.path} (${r.operation}): ${res.text.slice(0, 300)}`;
      const action = routeAction(r);
      if (action === null) {
        // The routes every authenticated principal may call: who it is, what it may do, the audit key.
        expect(res.status, where).toBe(200);
        continue;
      }
      expect(res.status, where).toBe(403);
      expect(res.body.code, where).toBe('access_denied');
      expect(res.body.action, where).toBe(`privateca:${action}`);
    }
    expect(await snapshot()).toBe(before);
  });

  it('ok/a principal allowed exactly one action gets past authorization on its route', async () => {
    // Deletions last, the principal's own last of all: what each route may do changes what the next one finds.
    const order = (x: { method: string; operation: string }) => (x.operation === 'DeletePrincipal' ? 2 : x.method === 'delete' ? 1 : 0);
    const routes = svc.node.routes.filter((x) => x.path.startsWith('/v1/') && routeAction(x) !== null).sort((a, b) => order(a) - order(b));
    for (const r of routes) {
      const policy = await svc.api('POST', '/v1/policies', {
        name: `only-${r.operation}`,
        document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: `privateca:${routeAction(r)}`, Resource: '*' }] },
      });
      expect(policy.status, policy.text).toBe(201);
      const token = await tokenWith(`only-${r.operation.toLowerCase()}`, [policy.body.id]);
      const res = await svc.api(r.method.toUpperCase(), pathOf(r.path, r.operation), BODIES[r.operation]?.(), { authorization: `Bearer ${token}` });
      expect(res.body?.code, `${r.operation}: ${res.text.slice(0, 300)}`).not.toBe('access_denied');
    }
  });
});
