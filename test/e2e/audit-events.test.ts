import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { startService, type ApiResponse, type TestService } from '../support/service.ts';

/*
 * The audit events of every route, table-driven over the OpenAPI document the service serves: every
 * state-changing operation must have a row here saying what its one event holds (so that a new route
 * without an event, or without a row, fails), and every operation that authorizes records exactly one
 * DENIED event for a principal that may not call it. A refused known token is one event too. Events
 * are matched to their request by its X-Request-Id.
 */

interface Row {
  /** The request, made as the administrator; it must succeed. */
  request: () => { path: string; body?: unknown };
  status: number;
  resource: (r: ApiResponse) => string;
  /** What details must hold (a subset); `secret` (if any) must appear nowhere in the event. */
  details: (r: ApiResponse) => Record<string, unknown>;
  secret?: (r: ApiResponse) => string;
  /** Not a change: no event (POST /v1/authorize only asks). */
  none?: true;
}

describe('audit events, route by route', () => {
  let svc: TestService;
  const pki = new OpensslPki();
  const ids: Record<string, string> = {};
  let doc: { paths: Record<string, Record<string, { operationId: string; 'x-privateca-action'?: string }>> };
  let admin: { id: string; name: string };
  let maxId = 0;

  beforeAll(async () => {
    svc = await startService('pg');
    doc = (await svc.api('GET', '/openapi.json')).body;
    const me = (await svc.api('GET', '/v1/me')).body.principal;
    admin = { id: me.id, name: me.name };
    const sub = await svc.api('POST', '/v1/cas', { type: 'SUBORDINATE', subject: { commonName: 'Events Sub' }, keyAlgorithm: 'EC_prime256v1' });
    ids.subId = sub.body.id;
    const csr = (await svc.api('GET', `/v1/cas/${ids.subId}/csr`)).body.csr;
    const root = pki.root({ subject: '/CN=Events Outside Root' });
    ids.subCert = pki.sign(csr, root, { ca: true, days: 365 }).cert;
    ids.rootCert = root.cert;
  });
  afterAll(async () => {
    await svc?.close();
  });

  /** The events recorded since the last call, of the request with this X-Request-Id. */
  const eventsOf = async (requestId: string) => {
    const r = await svc.db.query<{ id: string; request_id: string }>('SELECT id, request_id FROM audit_events WHERE id > $1 ORDER BY id', [maxId]);
    if (r.rows.length) maxId = Number(r.rows[r.rows.length - 1]!.id);
    const mine = r.rows.filter((x) => x.request_id === requestId).length;
    const listed = await svc.api('GET', `/v1/audit/events?limit=1000`);
    return { count: mine, events: (listed.body.items as any[]).filter((e) => e.requestId === requestId) };
  };

  const policyDoc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:GetCertificate', Resource: 'ca/*' }] };
  const csr = () => pki.csr({ subject: '/CN=events.example.internal', san: 'DNS:events.example.internal,IP:10.1.2.3' }).csr;

  /** In the order they run: creations first, deletions last. */
  const TABLE: Record<string, Row> = {
    'POST /v1/policies': {
      request: () => ({ path: '/v1/policies', body: { name: 'events-policy', document: policyDoc } }),
      status: 201,
      resource: (r) => `policy/${(ids.policyId = r.body.id)}`,
      details: () => ({ name: 'events-policy', document: policyDoc }),
    },
    'PUT /v1/policies/{policyId}': {
      request: () => ({ path: `/v1/policies/${ids.policyId}`, body: { description: 'changed', document: { ...policyDoc, Statement: [{ ...policyDoc.Statement[0], Resource: '*' }] } } }),
      status: 200,
      resource: () => `policy/${ids.policyId}`,
      details: () => ({ name: 'events-policy', previousDocument: policyDoc }),
    },
    'POST /v1/principals': {
      request: () => ({ path: '/v1/principals', body: { name: 'events-principal', policies: [ids.policyId] } }),
      status: 201,
      resource: (r) => `principal/${(ids.principalId = r.body.id)}`,
      details: () => ({ name: 'events-principal', policies: [ids.policyId] }),
    },
    'PATCH /v1/principals/{principalId}': {
      request: () => ({ path: `/v1/principals/${ids.principalId}`, body: { status: 'DISABLED' } }),
      status: 200,
      resource: () => `principal/${ids.principalId}`,
      details: () => ({ name: 'events-principal', changed: { status: 'DISABLED' }, previous: { status: 'ACTIVE' } }),
    },
    'POST /v1/principals/{principalId}/tokens': {
      request: () => ({ path: `/v1/principals/${ids.principalId}/tokens`, body: { description: 'ci' } }),
      status: 201,
      resource: () => `principal/${ids.principalId}`,
      details: (r) => ({ name: 'events-principal', tokenId: (ids.tokenId = r.body.id), description: 'ci' }),
      secret: (r) => r.body.token,
    },
    'POST /ocsp/{caId}': {
      // Public and read-only: an OCSP request records no event (here a JSON body: 415).
      request: () => ({ path: `/ocsp/${ids.caId}`, body: {} }),
      status: 415,
      resource: () => '',
      details: () => ({}),
      none: true,
    },
    'POST /v1/authorize': {
      request: () => ({ path: '/v1/authorize', body: { checks: [{ action: 'privateca:IssueCertificate', resource: 'ca/*' }] } }),
      status: 200,
      resource: () => '',
      details: () => ({}),
      none: true,
    },
    'POST /v1/cas': {
      request: () => ({ path: '/v1/cas', body: { type: 'ROOT', subject: { commonName: 'Events Root' }, keyAlgorithm: 'EC_prime256v1', revocation: { crl: { enabled: true } } } }),
      status: 201,
      resource: (r) => `ca/${(ids.caId = r.body.id)}`,
      details: () => ({ type: 'ROOT', keyAlgorithm: 'EC_prime256v1' }),
    },
    'PATCH /v1/cas/{caId}': {
      request: () => ({ path: `/v1/cas/${ids.caId}`, body: { tags: { team: 'events' } } }),
      status: 200,
      resource: () => `ca/${ids.caId}`,
      details: () => ({ changed: { tags: { team: 'events' } }, previousStatus: 'ACTIVE' }),
    },
    'POST /v1/cas/{caId}/certificates': {
      request: () => ({ path: `/v1/cas/${ids.caId}/certificates`, body: { csr: csr(), template: 'EndEntityServerAuthCertificate/V1', validity: { days: 30 } } }),
      status: 201,
      resource: () => `ca/${ids.caId}`,
      details: (r) => ({
        serial: (ids.serial = r.body.serial),
        subject: 'CN=events.example.internal',
        subjectAlternativeNames: ['DNS:events.example.internal', 'IP Address:10.1.2.3'],
        template: 'EndEntityServerAuthCertificate/V1',
        notBefore: r.body.notBefore,
        notAfter: r.body.notAfter,
      }),
    },
    'POST /v1/cas/{caId}/certificates/{serial}/revoke': {
      request: () => ({ path: `/v1/cas/${ids.caId}/certificates/${ids.serial}/revoke`, body: { reason: 'KEY_COMPROMISE' } }),
      status: 200,
      resource: () => `ca/${ids.caId}`,
      details: () => ({ serial: ids.serial, reason: 'KEY_COMPROMISE' }),
    },
    'POST /v1/cas/{caId}/crl': {
      request: () => ({ path: `/v1/cas/${ids.caId}/crl` }),
      status: 201,
      resource: () => `ca/${ids.caId}`,
      details: (r) => ({ crlNumber: String(r.body.crlNumber), revokedCount: 1 }),
    },
    'POST /v1/cas/{caId}/audit-reports': {
      request: () => ({ path: `/v1/cas/${ids.caId}/audit-reports`, body: { format: 'CSV' } }),
      status: 202,
      resource: () => `ca/${ids.caId}`,
      details: (r) => ({ reportId: r.body.id, format: 'CSV' }),
    },
    'POST /v1/cas/{caId}/certificate': {
      request: () => ({ path: `/v1/cas/${ids.subId}/certificate`, body: { certificate: ids.subCert, chain: ids.rootCert } }),
      status: 200,
      resource: () => `ca/${ids.subId}`,
      details: () => ({}),
    },
    'DELETE /v1/principals/{principalId}/tokens/{tokenId}': {
      request: () => ({ path: `/v1/principals/${ids.principalId}/tokens/${ids.tokenId}` }),
      status: 204,
      resource: () => `principal/${ids.principalId}`,
      details: () => ({ tokenId: ids.tokenId }),
    },
    'DELETE /v1/principals/{principalId}': {
      request: () => ({ path: `/v1/principals/${ids.principalId}` }),
      status: 204,
      resource: () => `principal/${ids.principalId}`,
      details: () => ({ name: 'events-principal' }),
    },
    'DELETE /v1/policies/{policyId}': {
      request: () => ({ path: `/v1/policies/${ids.policyId}` }),
      status: 204,
      resource: () => `policy/${ids.policyId}`,
      details: () => ({ name: 'events-policy' }),
    },
    'DELETE /v1/cas/{caId}': {
      request: () => ({ path: `/v1/cas/${ids.subId}` }),
      status: 200,
      resource: () => `ca/${ids.subId}`,
      details: () => ({}),
    },
    'POST /v1/cas/{caId}/restore': {
      request: () => ({ path: `/v1/cas/${ids.subId}/restore` }),
      status: 200,
      resource: () => `ca/${ids.subId}`,
      details: () => ({}),
    },
  };

  const operations = () =>
    Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => ({ route: `${m.toUpperCase()} ${p}`, method: m.toUpperCase(), path: p, ...op })));

  it('ok/every state-changing operation of the OpenAPI document records exactly one SUCCESS event with the principal, action, resource, request and details', async () => {
    const changing = operations().filter((o) => o.method !== 'GET');
    expect(changing.length).toBeGreaterThanOrEqual(18);
    for (const o of changing) expect(TABLE, `${o.route} (${o.operationId}) has no row in this table: which event does it record?`).toHaveProperty([o.route]);
    for (const route of Object.keys(TABLE)) expect(changing.map((o) => o.route), `${route} is not in the OpenAPI document`).toContain(route);
    await eventsOf('');
    for (const [route, row] of Object.entries(TABLE)) {
      const op = changing.find((o) => o.route === route)!;
      const { path, body } = row.request();
      const res = await svc.api(op.method, path, body);
      expect(res.status, `${route}: ${res.text.slice(0, 300)}`).toBe(row.status);
      const requestId = res.headers.get('x-request-id')!;
      const { count, events } = await eventsOf(requestId);
      if (row.none) {
        expect(count, `${route} changes nothing and records nothing`).toBe(0);
        continue;
      }
      expect(count, `${route}: events of the request`).toBe(1);
      expect(events).toHaveLength(1);
      const e = events[0];
      expect(e, route).toMatchObject({
        principal: admin,
        action: op['x-privateca-action'],
        resource: row.resource(res),
        outcome: 'SUCCESS',
        sourceIp: '127.0.0.1',
        requestId,
        details: row.details(res),
      });
      expect(Date.now() - Date.parse(e.time)).toBeLessThan(60_000);
      const secret = row.secret?.(res);
      if (secret) expect(JSON.stringify(e)).not.toContain(secret);
      expect(JSON.stringify(e), route).not.toContain(svc.token);
    }
  }, 120_000);

  it('fail/every operation that authorizes records exactly one DENIED event for a principal that may not call it, as its 403 says', async () => {
    const p = await svc.api('POST', '/v1/principals', { name: 'events-nobody' });
    const token = (await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {})).body.token;
    const guarded = operations().filter((o) => o['x-privateca-action']);
    expect(guarded.length).toBeGreaterThan(30);
    await eventsOf('');
    for (const o of guarded) {
      const row = TABLE[o.route];
      const path = row
        ? row.request().path
        : o.path
            .replace('{caId}', ids.caId!)
            .replace('{serial}', ids.serial!)
            .replace('{principalId}', p.body.id)
            .replace('{policyId}', '00000000-0000-4000-8000-000000000001')
            .replace('{tokenId}', '00000000-0000-4000-8000-000000000000')
            .replace('{reportId}', '00000000-0000-4000-8000-000000000000');
      const res = await svc.api(o.method, path, row?.request().body, { authorization: `Bearer ${token}` });
      expect(res.status, `${o.route}: ${res.text.slice(0, 300)}`).toBe(403);
      const requestId = res.headers.get('x-request-id')!;
      const { count, events } = await eventsOf(requestId);
      expect(count, `${o.route}: events of the denied request`).toBe(1);
      expect(events[0], o.route).toMatchObject({
        principal: { id: p.body.id, name: 'events-nobody' },
        action: o['x-privateca-action'],
        resource: res.body.resource,
        outcome: 'DENIED',
        sourceIp: '127.0.0.1',
        requestId,
        details: { reason: res.body.reason, method: o.method, path: path.split('?')[0] },
      });
      expect(res.body.action).toBe(o['x-privateca-action']);
    }
  }, 120_000);

  it('fail/a deleted token is refused with one DENIED Authenticate event naming its principal; an unknown token records nothing', async () => {
    const p = await svc.api('POST', '/v1/principals', { name: 'events-deleted-token', policies: ['ReadOnlyAccess'] });
    const t = await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {});
    expect((await svc.api('DELETE', `/v1/principals/${p.body.id}/tokens/${t.body.id}`)).status).toBe(204);
    await eventsOf('');
    const res = await svc.api('GET', '/v1/cas', undefined, { authorization: `Bearer ${t.body.token}` });
    expect(res.status).toBe(401);
    const { count, events } = await eventsOf(res.headers.get('x-request-id')!);
    expect(count).toBe(1);
    expect(events[0]).toMatchObject({ principal: { id: p.body.id, name: 'events-deleted-token' }, action: 'privateca:Authenticate', resource: `principal/${p.body.id}`, outcome: 'DENIED', details: { tokenId: t.body.id } });
    expect(JSON.stringify(events[0])).not.toContain(t.body.token);
    const unknown = await svc.api('GET', '/v1/cas', undefined, { authorization: 'Bearer pca_unknown_token_0123456789' });
    expect(unknown.status).toBe(401);
    expect((await eventsOf(unknown.headers.get('x-request-id')!)).count).toBe(0);
  }, 60_000);

  it('ok/a query on one principal reads the principal index, not the whole log (bench:audit-events times it over 10 M events)', async () => {
    await svc.db.query(
      `INSERT INTO audit_events (at, principal_id, principal_name, action, resource, outcome, details)
       SELECT now() - g * interval '1 second', md5((g % 1000)::text)::uuid, 'svc-' || (g % 1000), 'privateca:IssueCertificate', 'ca/x', 'SUCCESS', '{}'
       FROM generate_series(1, 100000) g`,
    );
    await svc.db.query('ANALYZE audit_events');
    const principal = (await svc.db.query<{ id: string }>(`SELECT md5('7')::uuid AS id`)).rows[0]!.id;
    const scans = async () => Number((await svc.db.query<{ n: string }>(`SELECT idx_scan AS n FROM pg_stat_user_indexes WHERE indexrelname = 'audit_events_principal'`)).rows[0]!.n);
    const before = await scans();
    const r = await svc.api('GET', `/v1/audit/events?principal=${principal}&limit=50`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.items).toHaveLength(50);
    for (const e of r.body.items) expect(e.principal.id).toBe(principal);
    // Index statistics reach pg_stat_user_indexes within a second or so of the query.
    let after = before;
    for (let i = 0; i < 50 && after === before; i++, await new Promise((res) => setTimeout(res, 100))) after = await scans();
    expect(after).toBeGreaterThan(before);
  }, 60_000);
});
