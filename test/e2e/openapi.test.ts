import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { startService, type ApiResponse, type TestService } from '../support/service.ts';

/*
 * The OpenAPI document is what the console and outside clients read: it must name every route the
 * app serves, and each route's answers must have the shape it documents.
 */

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every (method, path) Express serves, with `:param` written as OpenAPI's `{param}`. */
function servedRoutes(app: unknown): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${layer.route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as { router: { stack: Layer[] } }).router.stack);
  return out.sort();
}

describe('the OpenAPI document', () => {
  let svc: TestService;
  let doc: any;
  const pki = new OpensslPki();
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    svc = await startService('pg');
    doc = (await svc.api('GET', '/openapi.json')).body;
    const root = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: 'OpenAPI Root' },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { crl: { enabled: true, baseUrl: 'http://crl.example.internal', partitioned: true } },
    });
    ids.caId = root.body.id;
    const sub = await svc.api('POST', '/v1/cas', { type: 'SUBORDINATE', subject: { commonName: 'OpenAPI Sub' }, keyAlgorithm: 'EC_prime256v1' });
    ids.subId = sub.body.id;
    const leaf = await svc.api('POST', `/v1/cas/${ids.caId}/certificates`, {
      csr: pki.csr({ subject: '/CN=openapi.example.internal', san: 'DNS:openapi.example.internal' }).csr,
      validity: { days: 2 },
    });
    ids.serial = leaf.body.serial;
    const other = await svc.api('POST', `/v1/cas/${ids.caId}/certificates`, { csr: pki.csr({ subject: '/CN=other.example.internal' }).csr, validity: { days: 2 } });
    ids.otherSerial = other.body.serial;
    // The CRLs now, full and partition, rather than whenever the scheduler's first run gets to them.
    const published = await svc.api('POST', `/v1/cas/${ids.caId}/crl`);
    expect(published.status, published.text).toBe(201);
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('ok/names every route the app serves, and only those', () => {
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    expect(documented).toEqual(servedRoutes(svc.node.app));
    expect(documented.length).toBeGreaterThanOrEqual(17);
  });

  it('ok/every operation has an id, a summary, a success response with a schema, and its problem responses', () => {
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [m, op] of Object.entries(ops)) {
        const where = `${m} ${p}`;
        expect(op.operationId, where).toMatch(/^[A-Z][A-Za-z]+$/);
        expect(op.summary, where).toBeTruthy();
        const ok = Object.entries(op.responses).filter(([s]) => s.startsWith('2'));
        expect(ok.length, where).toBeGreaterThan(0);
        for (const [status, r] of ok as [string, any][]) {
          if (status === '204') {
            expect(r.content, where).toBeUndefined();
            continue;
          }
          const content = r.content ?? {};
          expect(Object.keys(content).length, where).toBeGreaterThan(0);
          for (const c of Object.values(content) as any[]) expect(c.schema, where).toBeTruthy();
          const json = content['application/json']?.schema;
          if (json) expect(json.type === 'object' || (json.anyOf ?? []).every((s: any) => s.type === 'object'), where).toBe(true);
        }
        expect(op.responses['500'], where).toBeTruthy();
        // Every POST, PUT and PATCH says what it takes, JSON or not (POST /ocsp/{caId}: a DER OCSPRequest).
        if (['post', 'put', 'patch'].includes(m) && op.requestBody) {
          for (const c of Object.values(op.requestBody.content ?? {}) as any[]) expect(c.schema, where).toBeTruthy();
        }
        if (op.operationId === 'OcspPost') {
          expect(op.requestBody?.required, where).toBe(true);
          expect(op.requestBody.content['application/ocsp-request'].schema).toEqual({ type: 'string', contentMediaType: 'application/ocsp-request' });
          expect(op.requestBody.description).toContain('8192 octets');
        }
        // A route that needs a token can refuse one; GET /v1/audit/public-key needs none.
        if (p.startsWith('/v1/') && op.security?.length !== 0) expect(op.responses['401'], where).toBeTruthy();
        if (p.includes('{')) expect(op.responses['404'], where).toBeTruthy();
      }
    }
  });

  /** One successful request per operation; an operation without one here fails the next test. */
  const examples: Record<string, () => Promise<ApiResponse>> = {
    Health: () => svc.api('GET', '/healthz'),
    Ready: () => svc.api('GET', '/readyz'),
    GetMetrics: () => svc.api('GET', '/metrics'),
    GetOpenApiDocument: () => svc.api('GET', '/openapi.json'),
    GetCrl: () => svc.api('GET', `/crl/${ids.caId}.crl`),
    GetPartitionCrl: () => svc.api('GET', `/crl/${ids.caId}/p0.crl`),
    // Not an OCSP request: still HTTP 200, an OCSPResponse with status malformedRequest.
    OcspPost: () => svc.api('POST', `/ocsp/${ids.caId}`, 'x', { 'content-type': 'application/ocsp-request' }),
    OcspGet: () => svc.api('GET', `/ocsp/${ids.caId}/MAA=`),
    GetCaCertificateDer: () => svc.api('GET', `/ca/${ids.caId}.crt`),
    CreateCertificateAuthority: () => svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Another' }, keyAlgorithm: 'EC_prime256v1' }),
    ListCertificateAuthorities: () => svc.api('GET', '/v1/cas?limit=2'),
    DescribeCertificateAuthority: () => svc.api('GET', `/v1/cas/${ids.caId}`),
    UpdateCertificateAuthority: () => svc.api('PATCH', `/v1/cas/${ids.caId}`, { tags: { team: 'api' } }),
    DeleteCertificateAuthority: async () => {
      const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'To Delete' }, keyAlgorithm: 'EC_prime256v1' });
      ids.deletedId = ca.body.id;
      return svc.api('DELETE', `/v1/cas/${ca.body.id}`);
    },
    RestoreCertificateAuthority: async () => {
      const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'To Restore' }, keyAlgorithm: 'EC_prime256v1' });
      await svc.api('DELETE', `/v1/cas/${ca.body.id}`);
      return svc.api('POST', `/v1/cas/${ca.body.id}/restore`);
    },
    GetCertificateAuthorityCsr: () => svc.api('GET', `/v1/cas/${ids.subId}/csr`),
    ImportCertificateAuthorityCertificate: async () => {
      const outside = pki.root({ keySpec: 'ec:P-256', subject: '/CN=OpenAPI Outside Root' });
      const csr = (await svc.api('GET', `/v1/cas/${ids.subId}/csr`)).body.csr;
      return svc.api('POST', `/v1/cas/${ids.subId}/certificate`, { certificate: pki.sign(csr, outside, { ca: true, pathLen: 0 }).cert, chain: outside.cert });
    },
    GetCertificateAuthorityCertificate: () => svc.api('GET', `/v1/cas/${ids.caId}/certificate`),
    IssueCertificate: () => svc.api('POST', `/v1/cas/${ids.caId}/certificates`, { csr: pki.csr({ subject: '/CN=x.example.internal' }).csr, validity: { days: 1 } }),
    ListCertificates: () => svc.api('GET', `/v1/cas/${ids.caId}/certificates?limit=5`),
    GetCertificateStatistics: () => svc.api('GET', `/v1/cas/${ids.caId}/certificate-stats`),
    GetCertificate: () => svc.api('GET', `/v1/cas/${ids.caId}/certificates/${ids.serial}`),
    RevokeCertificate: () => svc.api('POST', `/v1/cas/${ids.caId}/certificates/${ids.otherSerial}/revoke`, { reason: 'SUPERSEDED' }),
    PublishCrl: () => svc.api('POST', `/v1/cas/${ids.caId}/crl`),
    DescribeCrl: () => svc.api('GET', `/v1/cas/${ids.caId}/crl`),
    DescribeOcspResponder: () => svc.api('GET', `/v1/cas/${ids.caId}/ocsp`),
    CreatePrincipal: async () => {
      const r = await svc.api('POST', '/v1/principals', { name: 'openapi-svc', description: 'for the OpenAPI test', policies: ['ReadOnlyAccess'], tags: { team: 'api' } });
      ids.principalId = r.body.id;
      return r;
    },
    ListPrincipals: () => svc.api('GET', '/v1/principals?limit=5'),
    DescribePrincipal: () => svc.api('GET', `/v1/principals/${ids.principalId}`),
    UpdatePrincipal: () => svc.api('PATCH', `/v1/principals/${ids.principalId}`, { description: 'changed' }),
    CreateToken: async () => {
      const r = await svc.api('POST', `/v1/principals/${ids.principalId}/tokens`, { description: 'first' });
      ids.tokenId = r.body.id;
      return r;
    },
    ListTokens: () => svc.api('GET', `/v1/principals/${ids.principalId}/tokens`),
    DeleteToken: () => svc.api('DELETE', `/v1/principals/${ids.principalId}/tokens/${ids.tokenId}`),
    DeletePrincipal: async () => {
      const p = await svc.api('POST', '/v1/principals', { name: 'openapi-gone' });
      return svc.api('DELETE', `/v1/principals/${p.body.id}`);
    },
    CreatePolicy: async () => {
      const r = await svc.api('POST', '/v1/policies', { name: 'openapi-issue', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:IssueCertificate', Resource: 'ca/*' }] } });
      ids.policyId = r.body.id;
      return r;
    },
    ListPolicies: () => svc.api('GET', '/v1/policies'),
    DescribePolicy: () => svc.api('GET', `/v1/policies/${ids.policyId}`),
    UpdatePolicy: () => svc.api('PUT', `/v1/policies/${ids.policyId}`, { document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:Get*', Resource: 'ca/*' }] } }),
    DeletePolicy: async () => {
      const p = await svc.api('POST', '/v1/policies', { name: 'openapi-gone', document: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] } });
      return svc.api('DELETE', `/v1/policies/${p.body.id}`);
    },
    GetCallerIdentity: () => svc.api('GET', '/v1/me'),
    ListAuditEvents: () => svc.api('GET', '/v1/audit/events?limit=5&action=IssueCertificate'),
    VerifyAuditLog: () => svc.api('GET', '/v1/audit/verify'),
    DescribeAuditCheckpoint: async () => {
      await svc.node.sealer.sealNow();
      return svc.api('GET', '/v1/audit/checkpoints/latest');
    },
    GetAuditPublicKey: () => svc.api('GET', '/v1/audit/public-key'),
    CreateAuditReport: async () => {
      const r = await svc.api('POST', `/v1/cas/${ids.caId}/audit-reports`, { format: 'CSV' });
      ids.reportId = r.body.id;
      return r;
    },
    DescribeAuditReport: () => svc.api('GET', `/v1/cas/${ids.caId}/audit-reports/${ids.reportId}`),
    GetAuditReportContent: async () => {
      for (let i = 0; i < 100 && (await svc.api('GET', `/v1/cas/${ids.caId}/audit-reports/${ids.reportId}`)).body.status === 'CREATING'; i++) await new Promise((r) => setTimeout(r, 50));
      return svc.api('GET', `/v1/cas/${ids.caId}/audit-reports/${ids.reportId}/content`);
    },
    GetAuditReportSignature: () => svc.api('GET', `/v1/cas/${ids.caId}/audit-reports/${ids.reportId}/signature`),
    Authorize: () => svc.api('POST', '/v1/authorize', { checks: [{ action: 'privateca:IssueCertificate', resource: `ca/${ids.caId}` }] }),
  };

  it('ok/each route answers with the status and the JSON shape its route documents', async () => {
    for (const route of svc.node.routes) {
      const example = examples[route.operation];
      expect(example, `no example request for ${route.operation}`).toBeDefined();
      const res = await example!();
      const spec = route.responses[String(res.status)];
      expect(spec, `${route.operation} answered ${res.status}: ${res.text.slice(0, 300)}`).toBeDefined();
      expect(res.status, route.operation).toBeLessThan(300);
      if (res.status === 204) {
        expect(res.text, route.operation).toBe('');
      } else if (spec!.schema) {
        const parsed = spec!.schema.safeParse(res.body);
        expect(parsed.success, `${route.operation}: ${parsed.error?.message}`).toBe(true);
      } else {
        // The media type documented, with or without parameters (text/csv; charset=utf-8; header=present).
        const type = res.headers.get('content-type') ?? '';
        expect(Object.keys(spec!.alternatives ?? {}).filter((k) => type === k || type.startsWith(`${k};`)), `${route.operation}: ${type}`).toHaveLength(1);
      }
    }
  });

  it('fail/a path that is not valid percent-encoded UTF-8 is 400 invalid_path on every route, and changes nothing', async () => {
    const before = (await svc.db.query<{ n: string }>('SELECT (SELECT count(*) FROM cas) + (SELECT count(*) FROM certificates) AS n')).rows[0]!.n;
    // Overlong UTF-8 ("..", the path traversal classic), a bad hex digit, a lone '%', a truncated sequence, a UTF-16 surrogate.
    const bad = ['%c0%ae%c0%ae', '%zz', '%', '%E0%80', '%ed%a0%80'];
    for (const route of svc.node.routes) {
      for (const b of bad) {
        const p = route.path.replace(/\{[A-Za-z]+\}/g, b);
        if (p === route.path) continue;
        const res = await svc.api(route.method.toUpperCase(), p, route.body ? {} : undefined);
        const where = `${route.method} ${p}: ${res.text}`;
        expect(res.status, where).toBe(400);
        expect(res.headers.get('content-type'), where).toMatch(/^application\/problem\+json/);
        expect(res.body.code, where).toBe('invalid_path');
      }
    }
    for (const p of ['/v1/%zz', '/crl/%c0%ae.crl', '/v1/cas/%c0%ae%c0%ae/certificates']) {
      const res = await svc.api(p.endsWith('certificates') ? 'POST' : 'GET', p, p.endsWith('certificates') ? {} : undefined);
      expect([res.status, res.body?.code], p).toEqual([400, 'invalid_path']);
    }
    const after = (await svc.db.query<{ n: string }>('SELECT (SELECT count(*) FROM cas) + (SELECT count(*) FROM certificates) AS n')).rows[0]!.n;
    expect(after).toBe(before);
  });
});
