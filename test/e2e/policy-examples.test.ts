import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type ApiResponse, type TestService } from '../support/service.ts';

/*
 * The worked policies of docs/policies.md, read from the page itself, attached to principals and
 * tried over HTTP: what each allows and what it denies, and why.
 */

const page = readFileSync(new URL('../../docs/policies.md', import.meta.url), 'utf8');
const example = (name: string): object => {
  const m = new RegExp('```json policy-' + name + '\\n([\\s\\S]*?)```').exec(page);
  if (!m) throw new Error(`docs/policies.md has no policy-${name}`);
  return JSON.parse(m[1]!);
};

describe.each(DRIVERS)('the worked policies of docs/policies.md (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  const cas: Record<string, string> = {};

  const principal = async (name: string, policies: string[], tags: Record<string, string> = {}) => {
    const p = await svc.api('POST', '/v1/principals', { name, policies, tags });
    expect(p.status, p.text).toBe(201);
    const t = await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {});
    return (method: string, path: string, body?: unknown) => svc.api(method, path, body, { authorization: `Bearer ${t.body.token}` });
  };
  const policy = async (name: string) => {
    const p = await svc.api('POST', '/v1/policies', { name: `example-${name}`, document: example(name) });
    expect(p.status, p.text).toBe(201);
    return p.body.id as string;
  };
  const csr = (subject: string, san?: string, keySpec = 'ec:P-256') => pki.csr({ subject, san, key: pki.key(keySpec) }).csr;
  const denied = (r: ApiResponse, reason: string, detail?: RegExp) => {
    expect(r.status, r.text).toBe(403);
    expect(r.body.code).toBe('access_denied');
    expect(r.body.reason, r.text).toBe(reason);
    if (detail) expect(r.body.detail).toMatch(detail);
  };

  beforeAll(async () => {
    svc = await startService(driver);
    for (const [name, team] of [['payments', 'payments'], ['platform', 'platform']]) {
      const ca = await svc.api('POST', '/v1/cas', {
        type: 'ROOT',
        subject: { commonName: `${name} CA` },
        keyAlgorithm: 'EC_prime256v1',
        tags: { team },
        revocation: { crl: { enabled: true } },
      });
      cas[name] = ca.body.id;
    }
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('ok/every worked policy is a valid document', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) expect(example(name)).toHaveProperty('Statement');
  });

  describe('(a) the payments service', () => {
    let call: Awaited<ReturnType<typeof principal>>;
    beforeAll(async () => {
      call = await principal('payments-service', [await policy('a')]);
    });
    const server = { template: 'EndEntityServerAuthCertificate/V1', validity: { days: 90 } };
    const issue = (body: Record<string, unknown>, ca = cas.payments!) => call('POST', `/v1/cas/${ca}/certificates`, { ...server, ...body });

    it('ok/P-256 and RSA 3072 server certificates under payments.internal for 90 days', async () => {
      expect((await issue({ csr: csr('/CN=api.payments.internal', 'DNS:api.payments.internal') })).status).toBe(201);
      expect((await issue({ csr: csr('/O=Payments', 'DNS:payments.internal,DNS:web.payments.internal', 'rsa:3072') })).status).toBe(201);
    });

    it.each([
      ['an RSA 2048 key (the Deny)', () => ({ csr: csr('/CN=api.payments.internal', 'DNS:api.payments.internal', 'rsa:2048') }), 'explicit_deny', /NoSmallRsaKeys/],
      ['a P-384 key', () => ({ csr: csr('/CN=api.payments.internal', 'DNS:api.payments.internal', 'ec:P-384') }), 'no_allow', /privateca:KeyAlgorithm/],
      ['another CA', () => ({ csr: csr('/CN=api.payments.internal', 'DNS:api.payments.internal'), ca: cas.platform }), 'no_allow', /ResourceTag\/team/],
      ['another template', () => ({ csr: csr('/CN=api.payments.internal', 'DNS:api.payments.internal'), template: 'EndEntityCertificate/V1' }), 'no_allow', /privateca:Template/],
      ['91 days', () => ({ csr: csr('/CN=api.payments.internal', 'DNS:api.payments.internal'), validity: { days: 91 } }), 'no_allow', /ValidityDays/],
      ['a name of another domain', () => ({ csr: csr('/CN=api.payments.internal', 'DNS:api.payments.internal,DNS:api.other.internal') }), 'no_allow', /does not match api\.other\.internal/],
      ['an IP address as well', () => ({ csr: csr('/CN=api.payments.internal', 'DNS:api.payments.internal,IP:10.0.0.1') }), 'no_allow', /privateca:IpAddresses is in the request/],
      ['a commonName outside', () => ({ csr: csr('/CN=evil.example.com', 'DNS:api.payments.internal') }), 'no_allow', /privateca:CommonName/],
      ['no DNS name at all', () => ({ csr: csr('/CN=Payments Service', 'email:ops@payments.internal') }), 'no_allow', /privateca:DnsNames is not in the request/],
    ] as const)('fail/%s', async (_what, body, reason, detail) => {
      const { ca, ...rest } = body() as Record<string, unknown> & { ca?: string };
      denied(await issue(rest, ca), reason, detail);
    });
  });

  it('ok/(b) each team issues for its own names only; a principal without the tag for none', async () => {
    const id = await policy('b');
    const billing = await principal('billing-team', [id], { team: 'billing' });
    const search = await principal('search-team', [id], { team: 'search' });
    const untagged = await principal('no-team', [id]);
    const issue = (call: typeof billing, name: string) => call('POST', `/v1/cas/${cas.platform}/certificates`, { csr: csr(`/CN=${name}`, `DNS:${name}`), validity: { days: 7 } });
    expect((await issue(billing, 'api.billing.internal')).status).toBe(201);
    denied(await issue(billing, 'api.search.internal'), 'no_allow', /\*\.billing\.internal\) does not match api\.search\.internal/);
    expect((await issue(search, 'api.search.internal')).status).toBe(201);
    denied(await issue(search, 'api.billing.internal'), 'no_allow');
    denied(await issue(untagged, 'api.billing.internal'), 'no_allow', /policy variables have no value/);
  });

  it('ok/(c) the auditor reads everything and changes nothing', async () => {
    const auditor = await principal('auditor', [await policy('c')]);
    const leaf = await svc.api('POST', `/v1/cas/${cas.payments}/certificates`, { csr: csr('/CN=read.payments.internal'), validity: { days: 1 } });
    for (const path of ['/v1/cas', `/v1/cas/${cas.payments}`, `/v1/cas/${cas.payments}/certificates`, `/v1/cas/${cas.payments}/certificates/${leaf.body.serial}`, `/v1/cas/${cas.payments}/crl`, '/v1/principals', '/v1/policies']) {
      expect((await auditor('GET', path)).status, path).toBe(200);
    }
    denied(await auditor('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'No' }, keyAlgorithm: 'EC_prime256v1' }), 'no_allow');
    denied(await auditor('POST', `/v1/cas/${cas.payments}/certificates`, { csr: csr('/CN=no.payments.internal'), validity: { days: 1 } }), 'no_allow');
    denied(await auditor('POST', `/v1/cas/${cas.payments}/certificates/${leaf.body.serial}/revoke`, {}), 'no_allow');
    denied(await auditor('PATCH', `/v1/cas/${cas.payments}`, { status: 'DISABLED' }), 'no_allow');
    const audit = await auditor('POST', '/v1/authorize', { checks: [{ action: 'privateca:VerifyAuditLog', resource: 'audit' }, { action: 'privateca:CreateAuditReport', resource: `ca/${cas.payments}` }] });
    expect(audit.body.results.map((r: any) => r.allowed)).toEqual([true, true]);
  });

  it('ok/(d) on call revokes and publishes CRLs, and cannot issue even with AdministratorAccess beside it', async () => {
    const onCall = await principal('on-call', [await policy('d'), 'AdministratorAccess']);
    const leaf = await svc.api('POST', `/v1/cas/${cas.platform}/certificates`, { csr: csr('/CN=revoke.platform.internal'), validity: { days: 1 } });
    expect((await onCall('POST', `/v1/cas/${cas.platform}/certificates/${leaf.body.serial}/revoke`, { reason: 'KEY_COMPROMISE' })).status).toBe(200);
    expect((await onCall('POST', `/v1/cas/${cas.platform}/crl`)).status).toBe(201);
    denied(await onCall('POST', `/v1/cas/${cas.platform}/certificates`, { csr: csr('/CN=x.platform.internal'), validity: { days: 1 } }), 'explicit_deny', /NeverIssue/);
  });

  it('ok/(e) outside office hours issuance is denied unless it comes from 10.0.0.0/8', async () => {
    const e = await policy('e');
    const call = await principal('office-hours', ['AdministratorAccess', e]);
    const at = (hour: number, day: string, ip: string) => ({
      action: 'privateca:IssueCertificate',
      resource: `ca/${cas.platform}`,
      context: { 'privateca:CurrentHour': hour, 'privateca:CurrentDayOfWeek': day, 'privateca:SourceIp': ip },
    });
    const r = await call('POST', '/v1/authorize', {
      checks: [at(7, 'Tuesday', '192.0.2.10'), at(10, 'Tuesday', '192.0.2.10'), at(18, 'Friday', '192.0.2.10'), at(10, 'Saturday', '192.0.2.10'), at(7, 'Sunday', '10.20.30.40')],
    });
    expect(r.body.results.map((x: any) => [x.allowed, x.statement])).toEqual([
      [false, 'BeforeHours'],
      [true, 'Everything'],
      [false, 'AfterHours'],
      [false, 'Weekend'],
      [true, 'Everything'],
    ]);
    // A real request now, from 127.0.0.1: the service's own clock decides, as the policy says.
    const now = new Date();
    const weekday = now.getUTCDay() >= 1 && now.getUTCDay() <= 5;
    const inHours = weekday && now.getUTCHours() >= 8 && now.getUTCHours() < 18;
    const issued = await call('POST', `/v1/cas/${cas.platform}/certificates`, { csr: csr('/CN=now.platform.internal'), validity: { days: 1 } });
    if (new Date().getUTCHours() === now.getUTCHours()) expect(issued.status, issued.text).toBe(inHours ? 201 : 403);
  });
});
