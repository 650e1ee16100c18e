import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type ApiResponse, type TestService } from '../support/service.ts';

/*
 * Principals, tokens and policies over HTTP: a service principal that can do exactly what its
 * policy says and nothing more, denials that say why and change nothing, tokens shown once and
 * stored hashed, lockout prevention, and 403 rather than 404 for what a caller may not see.
 */

const DAY = 86_400_000;
const doc = (...Statement: object[]) => ({ Version: '2012-10-17', Statement });

describe.each(DRIVERS)('principals, tokens and policies (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  let payments: string;
  let other: string;

  /** Calls the API with another principal's token. */
  const as = (token: string) => (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    svc.api(method, path, body, { authorization: `Bearer ${token}`, ...headers });

  const principal = async (name: string, policies: string[] = [], tags: Record<string, string> = {}) => {
    const p = await svc.api('POST', '/v1/principals', { name, policies, tags });
    expect(p.status, p.text).toBe(201);
    const t = await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, { description: `${name} token` });
    expect(t.status, t.text).toBe(201);
    return { id: p.body.id as string, token: t.body.token as string, tokenId: t.body.id as string, call: as(t.body.token) };
  };
  const policy = async (name: string, document: object) => {
    const p = await svc.api('POST', '/v1/policies', { name, document });
    expect(p.status, p.text).toBe(201);
    return p.body.id as string;
  };
  const counts = async () =>
    (await svc.db.query<{ n: string }>('SELECT (SELECT count(*) FROM certificates) || \'/\' || (SELECT count(*) FROM cas) || \'/\' || (SELECT count(*) FROM principals) AS n')).rows[0]!.n;
  const denied = (r: ApiResponse, action: string) => {
    expect(r.status, r.text).toBe(403);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('access_denied');
    expect(r.body.action).toBe(action);
    expect(['explicit_deny', 'no_allow']).toContain(r.body.reason);
    return r.body;
  };

  beforeAll(async () => {
    svc = await startService(driver);
    const ca = (name: string, team: string) =>
      svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: name }, keyAlgorithm: 'EC_prime256v1', tags: { team } });
    payments = (await ca('Payments CA', 'payments')).body.id;
    other = (await ca('Other CA', 'platform')).body.id;
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('ok/the bootstrap administrator is the principal admin with AdministratorAccess; /v1/me says so', async () => {
    const me = await svc.api('GET', '/v1/me');
    expect(me.status, me.text).toBe(200);
    expect(me.body.principal).toMatchObject({ name: 'admin', status: 'ACTIVE' });
    expect(me.body.policies.map((p: any) => p.name)).toEqual(['AdministratorAccess']);
    const policies = await svc.api('GET', '/v1/policies');
    const builtIn = policies.body.items.filter((p: any) => p.builtIn).map((p: any) => p.name);
    expect(builtIn).toEqual(expect.arrayContaining(['AdministratorAccess', 'ReadOnlyAccess']));
  });

  it('ok/principal lifecycle: create, describe, list, update, delete; a taken name is 409, an unknown policy 400', async () => {
    const created = await svc.api('POST', '/v1/principals', { name: 'billing-svc', description: 'billing', policies: ['ReadOnlyAccess'], tags: { team: 'billing' } });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ name: 'billing-svc', description: 'billing', status: 'ACTIVE', tags: { team: 'billing' } });
    expect(created.body.policies).toEqual(['00000000-0000-4000-8000-000000000002']);
    expect((await svc.api('POST', '/v1/principals', { name: 'billing-svc' })).body.code).toBe('principal_exists');
    const unknown = await svc.api('POST', '/v1/principals', { name: 'x-svc', policies: ['NoSuchPolicy'] });
    expect([unknown.status, unknown.body.code]).toEqual([400, 'policy_not_found']);
    expect((await svc.api('POST', '/v1/principals', { name: 'has space' })).status).toBe(400);
    const id = created.body.id;
    expect((await svc.api('GET', `/v1/principals/${id}`)).body).toEqual(created.body);
    expect((await svc.api('GET', '/v1/principals?limit=1000')).body.items.map((p: any) => p.name)).toContain('billing-svc');
    const patched = await svc.api('PATCH', `/v1/principals/${id}`, { status: 'DISABLED', tags: { team: 'finance' } });
    expect(patched.body).toMatchObject({ status: 'DISABLED', tags: { team: 'finance' } });
    expect((await svc.api('DELETE', `/v1/principals/${id}`)).status).toBe(204);
    expect((await svc.api('GET', `/v1/principals/${id}`)).body.code).toBe('principal_not_found');
    // The name is free again.
    expect((await svc.api('POST', '/v1/principals', { name: 'billing-svc' })).status).toBe(201);
  });

  it('ok/tokens are shown once, stored only as SHA-256, listed without the secret with lastUsedAt; several per principal', async () => {
    const p = await principal('rotating-svc', ['ReadOnlyAccess']);
    expect(p.token).toMatch(/^pca_[A-Za-z0-9_-]{43}$/);
    const second = await svc.api('POST', `/v1/principals/${p.id}/tokens`, { description: 'next', expiresAt: new Date(Date.now() + DAY).toISOString() });
    expect(second.status).toBe(201);
    for (const t of [p.token, second.body.token]) expect((await as(t)('GET', '/v1/cas')).status).toBe(200);
    const stored = await svc.db.query<{ token_hash: Buffer | Uint8Array }>('SELECT token_hash FROM api_tokens WHERE id = $1', [p.tokenId]);
    expect(Buffer.from(stored.rows[0]!.token_hash).equals(createHash('sha256').update(p.token).digest())).toBe(true);
    const dump = JSON.stringify((await svc.db.query('SELECT * FROM api_tokens')).rows);
    expect(dump).not.toContain(p.token);
    expect(dump).not.toContain(p.token.slice(4));
    const listed = await svc.api('GET', `/v1/principals/${p.id}/tokens`);
    expect(listed.body.items).toHaveLength(2);
    expect(JSON.stringify(listed.body)).not.toContain(p.token);
    const first = listed.body.items.find((t: any) => t.id === p.tokenId);
    expect(first.description).toBe('rotating-svc token');
    expect(Math.abs(new Date(first.lastUsedAt).getTime() - Date.now())).toBeLessThan(60_000);
    // Rotation: the old token goes, the new one keeps working.
    expect((await svc.api('DELETE', `/v1/principals/${p.id}/tokens/${p.tokenId}`)).status).toBe(204);
    const refused = await as(p.token)('GET', '/v1/cas');
    expect([refused.status, refused.body.code]).toEqual([401, 'unauthenticated']);
    expect(refused.body.detail).toMatch(/deleted/);
    expect((await as(second.body.token)('GET', '/v1/cas')).status).toBe(200);
    expect((await svc.api('DELETE', `/v1/principals/${p.id}/tokens/${p.tokenId}`)).body.code).toBe('token_not_found');
    expect((await svc.api('POST', `/v1/principals/${p.id}/tokens`, { expiresAt: new Date(Date.now() - 1000).toISOString() })).body.code).toBe('invalid_expiry');
  });

  it('fail/an expired token and the tokens of a disabled or deleted principal are refused (401)', async () => {
    const p = await principal('short-lived', ['ReadOnlyAccess']);
    const soon = await svc.api('POST', `/v1/principals/${p.id}/tokens`, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await as(soon.body.token)('GET', '/v1/cas')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    const expired = await as(soon.body.token)('GET', '/v1/cas');
    expect([expired.status, expired.body.detail]).toEqual([401, expect.stringMatching(/expired/)]);
    expect((await svc.api('PATCH', `/v1/principals/${p.id}`, { status: 'DISABLED' })).status).toBe(200);
    expect((await p.call('GET', '/v1/cas')).body.detail).toMatch(/disabled/);
    expect((await svc.api('PATCH', `/v1/principals/${p.id}`, { status: 'ACTIVE' })).status).toBe(200);
    expect((await p.call('GET', '/v1/cas')).status).toBe(200);
    expect((await svc.api('DELETE', `/v1/principals/${p.id}`)).status).toBe(204);
    expect((await p.call('GET', '/v1/cas')).body.detail).toMatch(/deleted/);
  });

  describe('a service principal restricted by policy', () => {
    let svcP: Awaited<ReturnType<typeof principal>>;
    const csr = (cn: string, san?: string, key?: string) => pki.csr({ subject: `/CN=${cn}`, san, key }).csr;
    const issue = (caId: string, body: Record<string, unknown>) => svcP.call('POST', `/v1/cas/${caId}/certificates`, body);

    beforeAll(async () => {
      const id = await policy(
        'payments-issuer',
        doc({
          Sid: 'IssuePaymentsServers',
          Effect: 'Allow',
          Action: 'privateca:IssueCertificate',
          Resource: 'ca/*',
          Condition: {
            StringEquals: { 'privateca:ResourceTag/team': 'payments', 'privateca:Template': 'EndEntityServerAuthCertificate/V1' },
            'ForAllValues:StringLike': { 'privateca:DnsNames': ['*.payments.internal'] },
            NumericLessThanEquals: { 'privateca:ValidityDays': 90 },
            'ForAnyValue:StringEquals': { 'privateca:KeyAlgorithm': ['EC_prime256v1', 'RSA_3072', 'RSA_4096'] },
          },
        }),
      );
      svcP = await principal('payments-svc', [id]);
    });

    const good = { template: 'EndEntityServerAuthCertificate/V1', validity: { days: 90 } };

    it('ok/issues what the policy allows', async () => {
      const r = await issue(payments, { ...good, csr: csr('api.payments.internal', 'DNS:api.payments.internal') });
      expect(r.status, r.text).toBe(201);
    });

    it.each([
      ['another CA', () => other, {}, /privateca:ResourceTag\/team \(StringEquals payments\) does not match platform/],
      ['another template', () => payments, { template: 'EndEntityClientAuthCertificate/V1' }, /privateca:Template \(StringEquals EndEntityServerAuthCertificate\/V1\) does not match EndEntityClientAuthCertificate\/V1/],
      ['a name outside its pattern', () => payments, { csr: 'DNS:api.payments.internal,DNS:api.other.internal' }, /privateca:DnsNames \(ForAllValues:StringLike \*\.payments\.internal\) does not match api\.other\.internal/],
      ['a longer validity', () => payments, { validity: { days: 91 } }, /privateca:ValidityDays \(NumericLessThanEquals 90\) does not match 91/],
      ['a weaker key (RSA 2048)', () => payments, { key: 'rsa:2048' }, /privateca:KeyAlgorithm \(ForAnyValue:StringEquals EC_prime256v1, RSA_3072, RSA_4096\) does not match RSA_2048/],
    ] as const)('fail/%s is 403 access_denied naming the condition, and nothing is issued', async (_what, ca, change, detail) => {
      const before = await counts();
      const body: Record<string, unknown> = { ...good, ...change };
      const san = typeof (change as any).csr === 'string' ? (change as any).csr : 'DNS:api.payments.internal';
      body.csr = csr('api.payments.internal', san, (change as any).key ? pki.key((change as any).key) : undefined);
      delete body.key;
      const r = await issue(ca(), body);
      const problem = denied(r, 'privateca:IssueCertificate');
      expect(problem.reason).toBe('no_allow');
      expect(problem.resource).toBe(`ca/${ca()}`);
      expect(problem.statement).toBe('IssuePaymentsServers');
      expect(problem.detail).toMatch(detail);
      expect(await counts()).toBe(before);
    });

    it('fail/every other action is denied: reads too, and its own principal', async () => {
      denied(await svcP.call('GET', `/v1/cas/${payments}`), 'privateca:DescribeCertificateAuthority');
      denied(await svcP.call('GET', '/v1/cas'), 'privateca:ListCertificateAuthorities');
      denied(await svcP.call('PATCH', `/v1/cas/${payments}`, { status: 'DISABLED' }), 'privateca:UpdateCertificateAuthority');
      denied(await svcP.call('GET', `/v1/principals/${svcP.id}`), 'privateca:DescribePrincipal');
      expect((await svc.api('GET', `/v1/cas/${payments}`)).body.status).toBe('ACTIVE');
    });
  });

  it('ok/404 for an unknown id only to a caller who may describe it; 403 to anyone else', async () => {
    const nobody = await principal('nobody');
    const reader = await principal('reader', ['ReadOnlyAccess']);
    const unknownCa = '00000000-0000-4000-8000-0000000000ca';
    const unknownP = '00000000-0000-4000-8000-00000000000a';
    for (const path of [`/v1/cas/${unknownCa}`, `/v1/cas/${unknownCa}/certificates`, `/v1/principals/${unknownP}`, `/v1/policies/${unknownP}`]) {
      expect((await nobody.call('GET', path)).status, path).toBe(403);
      expect((await reader.call('GET', path)).status, path).toBe(404);
      expect((await svc.api('GET', path)).status, path).toBe(404);
    }
    // An existing CA and an unknown one look the same to a caller who may not describe either.
    const existing = await nobody.call('GET', `/v1/cas/${payments}`);
    const missing = await nobody.call('GET', `/v1/cas/${unknownCa}`);
    expect([existing.status, existing.body.reason]).toEqual([missing.status, missing.body.reason]);
    const issue = await nobody.call('POST', `/v1/cas/${unknownCa}/certificates`, { csr: pki.csr({ subject: '/CN=x.example.internal' }).csr, validity: { days: 1 } });
    expect(issue.status).toBe(403);
  });

  it('fail/lockout prevention: the last administrator cannot be disabled, deleted, detached or lose its last token', async () => {
    const me = (await svc.api('GET', '/v1/me')).body.principal;
    const tokens = (await svc.api('GET', `/v1/principals/${me.id}/tokens`)).body.items;
    expect(tokens).toHaveLength(1);
    const before = JSON.stringify((await svc.api('GET', `/v1/principals/${me.id}`)).body);
    for (const [method, path, body] of [
      ['PATCH', `/v1/principals/${me.id}`, { status: 'DISABLED' }],
      ['PATCH', `/v1/principals/${me.id}`, { policies: ['ReadOnlyAccess'] }],
      ['DELETE', `/v1/principals/${me.id}`, undefined],
      ['DELETE', `/v1/principals/${me.id}/tokens/${tokens[0].id}`, undefined],
    ] as const) {
      const r = await svc.api(method, path, body);
      expect([r.status, r.body?.code], `${method} ${path}`).toEqual([409, 'lockout_prevented']);
    }
    expect(JSON.stringify((await svc.api('GET', `/v1/principals/${me.id}`)).body)).toBe(before);
    expect((await svc.api('GET', '/v1/cas')).status).toBe(200);
    // Another administrator without a token does not count; with one it does.
    const second = await svc.api('POST', '/v1/principals', { name: 'second-admin', policies: ['AdministratorAccess'] });
    expect((await svc.api('PATCH', `/v1/principals/${me.id}`, { status: 'DISABLED' })).body.code).toBe('lockout_prevented');
    const t = await svc.api('POST', `/v1/principals/${second.body.id}/tokens`, {});
    expect((await svc.api('PATCH', `/v1/principals/${me.id}`, { status: 'DISABLED' })).status).toBe(200);
    const admin2 = as(t.body.token);
    expect((await admin2('PATCH', `/v1/principals/${second.body.id}`, { status: 'DISABLED' })).body.code).toBe('lockout_prevented');
    expect((await admin2('PATCH', `/v1/principals/${me.id}`, { status: 'ACTIVE' })).status).toBe(200);
    expect((await svc.api('DELETE', `/v1/principals/${second.body.id}`)).status).toBe(204);
  });

  it('ok/policies: built-ins cannot be changed or deleted; an attached policy cannot be deleted; PUT replaces the document', async () => {
    const builtIn = '00000000-0000-4000-8000-000000000001';
    expect((await svc.api('PUT', `/v1/policies/${builtIn}`, { document: doc({ Effect: 'Deny', Action: '*', Resource: '*' }) })).body.code).toBe('policy_built_in');
    expect((await svc.api('DELETE', `/v1/policies/${builtIn}`)).body.code).toBe('policy_built_in');
    const id = await policy('crl-publisher', doc({ Effect: 'Allow', Action: 'privateca:PublishCrl', Resource: 'ca/*' }));
    expect((await svc.api('POST', '/v1/policies', { name: 'crl-publisher', document: doc({ Effect: 'Allow', Action: '*', Resource: '*' }) })).body.code).toBe('policy_exists');
    const p = await principal('publisher', [id]);
    expect((await svc.api('DELETE', `/v1/policies/${id}`)).body.code).toBe('policy_in_use');
    denied(await p.call('GET', `/v1/cas/${payments}/crl`), 'privateca:DescribeCrl');
    const put = await svc.api('PUT', `/v1/policies/${id}`, { document: doc({ Effect: 'Allow', Action: ['privateca:PublishCrl', 'privateca:DescribeCrl'], Resource: 'ca/*' }) });
    expect(put.status, put.text).toBe(200);
    // The change takes effect at once on the node that made it.
    expect((await p.call('GET', `/v1/cas/${payments}/crl`)).body.code).not.toBe('access_denied');
    expect((await svc.api('PATCH', `/v1/principals/${p.id}`, { policies: [] })).status).toBe(200);
    expect((await svc.api('DELETE', `/v1/policies/${id}`)).status).toBe(204);
  });

  it('fail/an invalid policy document is 400 invalid_policy, each problem at its JSON pointer, and nothing is stored', async () => {
    const before = (await svc.api('GET', '/v1/policies?limit=1000')).body.items.length;
    const r = await svc.api('POST', '/v1/policies', {
      name: 'broken',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:IssueCertificat', Resource: 'ca/*', Condition: { StringLike: { 'privateca:ValidityDays': '9' } } }] },
    });
    expect([r.status, r.body.code]).toEqual([400, 'invalid_policy']);
    expect(r.body.errors).toEqual([
      { path: '/Statement/0/Action', message: expect.stringContaining('unknown action "privateca:IssueCertificat"') },
      { path: '/Statement/0/Condition/StringLike/privateca:ValidityDays', message: expect.stringContaining('Numeric') },
    ]);
    expect((await svc.api('GET', '/v1/policies?limit=1000')).body.items.length).toBe(before);
  });

  it('ok/POST /v1/authorize answers for the caller, and for another principal only with SimulatePrincipalPolicy', async () => {
    const reader = await principal('auth-reader', ['ReadOnlyAccess']);
    const checks = [
      { action: 'privateca:DescribeCertificateAuthority', resource: `ca/${payments}` },
      { action: 'privateca:UpdateCertificateAuthority', resource: `ca/${payments}` },
    ];
    const mine = await reader.call('POST', '/v1/authorize', { checks });
    expect(mine.status, mine.text).toBe(200);
    expect(mine.body.results.map((r: any) => [r.allowed, r.reason])).toEqual([
      [true, 'allowed'],
      [false, 'no_allow'],
    ]);
    denied(await reader.call('POST', '/v1/authorize', { checks, principalId: reader.id }), 'privateca:SimulatePrincipalPolicy');
    const simulated = await svc.api('POST', '/v1/authorize', { checks, principalId: reader.id });
    expect(simulated.body.results.map((r: any) => r.allowed)).toEqual([true, false]);
    const bad = await svc.api('POST', '/v1/authorize', { checks: [{ action: 'privateca:Nope', resource: 'cax' }] });
    expect(bad.body.errors.map((e: any) => e.path)).toEqual(['/checks/0/action', '/checks/0/resource']);
  });
});
