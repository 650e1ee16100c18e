import { invalid, notFound } from '../../src/domain/ca-error.ts';
import { parseSerial } from '../../src/domain/serial.ts';
import { subjectAltNamesFromKinds } from '../../src/x509/certificate-fields.ts';
import { encryptedPkcs8Pem, generateKeyWithCsr, pkcs12 } from '../../src/x509/key-bundle.ts';
import type { CaContexts } from '../../src/services/ca-contexts.ts';
import type { CertificateService } from '../../src/services/certificate-service.ts';
import { issuanceKeys } from '../../src/services/policy/issuance-keys.ts';
import type { IssuanceService } from '../../src/services/issuance-service.ts';
import type { RevocationService } from '../../src/services/revocation-service.ts';
import type { Authorizer } from '../authorization.ts';
import { sendJson, type Req, type Res } from '../http.ts';
import { negotiate } from '../negotiate.ts';
import { caId, encodeCursor, page } from '../params.ts';
import { parseBody } from '../validation.ts';
import { presentCertificate, presentCertificateItem, presentCertificateStatistics } from '../presenters.ts';
import { CERTIFICATE_TYPES, sendCertificate } from '../representations.ts';
import { CertificateListResponse, CertificateResponse, CertificateStatisticsResponse, IssuedResponse } from '../responses.ts';
import { params, query, unlessNotFound, type Route } from '../route.ts';
import { IssueSchema, RevokeSchema, listParameters } from '../schemas.ts';

const decodeSerialCursor = (raw: unknown) => {
  const s = (raw as { s?: unknown }).s;
  if (typeof s !== 'string') throw new Error('bad cursor');
  return parseSerial(s);
};

/**
 * POST /v1/cas/{caId}/certificates; shared by the route below and the fast path (issue-fast-path.ts):
 * the CA (404 or 403) → the request checked against it (400) → the caller's policies over the
 * request's condition keys (403) → signed and recorded.
 */
export async function issueCertificate(deps: { issuance: IssuanceService; contexts: Pick<CaContexts, 'get'>; authz: Authorizer }, req: Req, res: Res): Promise<void> {
  const id = caId(params(req).caId);
  const { keyGeneration, csr, ...rest } = parseBody(IssueSchema, req.body);
  const resource = `ca/${id}`;
  const ctx = await deps.authz.visible(req, res, 'IssueCertificate', resource, 'DescribeCertificateAuthority', () => deps.contexts.get(id).catch(unlessNotFound('ca_not_found')), () => caNotFound(id));
  // A key made here is put into a CSR of its own, so that it meets every check and policy a CSR meets.
  const generated = keyGeneration ? await generateKeyWithCsr(keyGeneration.keyAlgorithm, keyGeneration.subject ?? {}, subjectAltNamesFromKinds(keyGeneration.subjectAlternativeNames)) : undefined;
  const input = { ...rest, csr: generated?.csrPem ?? csr!, ...(generated ? { keyGenerated: { publicKeySha256: generated.publicKeySha256 } } : {}) };
  const request = await deps.issuance.prepare(ctx, input);
  deps.authz.require(req, res, 'IssueCertificate', resource, issuanceKeys(request), ctx.ca.tags);
  const out = await deps.issuance.issue(res.locals.actor, request);
  sendJson(res, out.replayed ? 200 : 201, {
    serial: out.serial,
    certificate: out.certificate,
    chain: out.chain,
    notBefore: out.notBefore.toISOString(),
    notAfter: out.notAfter.toISOString(),
    // Handed back once; the service keeps no copy of the key.
    ...(generated && keyGeneration
      ? {
          privateKey: encryptedPkcs8Pem(generated.pkcs8, keyGeneration.passphrase),
          pkcs12: Buffer.from(await pkcs12(generated.pkcs8, out.certificate, out.chain, keyGeneration.passphrase)).toString('base64'),
        }
      : {}),
  });
}

const caNotFound = (id: string) => notFound('ca_not_found', `no CA ${id}`);

/** `q`: 1 to 256 characters, the search of a certificate list (a serial prefix may carry colons). */
function searchText(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '' || v.length > 256) throw invalid('invalid_query', 'q is 1 to 256 characters: a serial prefix, or the start of a common name or SAN');
  const t = v.trim();
  // A serial as the API prints it or as openssl does (colons, upper case) is searched without its colons.
  return /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})+:?$/.test(t) ? t.replace(/:/g, '') : t;
}

/** An RFC 3339 time in a query parameter. */
function time(v: unknown, name: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) ? new Date(v) : undefined;
  // Date rolls 2027-02-30 over into March: the calendar date must exist as written.
  const [y, m, day] = typeof v === 'string' ? v.slice(0, 10).split('-').map(Number) : [];
  const calendar = new Date(Date.UTC(y!, m! - 1, day));
  if (!d || Number.isNaN(d.getTime()) || calendar.getUTCMonth() !== m! - 1 || calendar.getUTCDate() !== day) throw invalid('invalid_time', `${name} is an RFC 3339 time, e.g. 2027-01-31T00:00:00Z`);
  return d;
}

/** /v1/cas/{caId}/certificates: issuance, lookup, revocation. */
export function certificateRoutes(deps: { issuance: IssuanceService; revocation: RevocationService; certificates: CertificateService; contexts: Pick<CaContexts, 'get'>; authz: Authorizer }): Route[] {
  const { authz } = deps;
  return [
    {
      method: 'post',
      path: '/v1/cas/{caId}/certificates',
      operation: 'IssueCertificate',
      summary: 'Issue a certificate from a CSR through a template',
      body: IssueSchema,
      responses: {
        '201': { description: 'the certificate, committed with its audit event', schema: IssuedResponse },
        '200': { description: 'the certificate issued earlier under the same idempotency token and CSR', schema: IssuedResponse },
      },
      errors: [409, 503],
      handler: (req, res) => issueCertificate(deps, req, res),
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}/certificates',
      operation: 'ListCertificates',
      summary: "List the CA's certificates by serial: light items (no chain; the PEM only with include=certificate)",
      parameters: [
        ...listParameters,
        { name: 'status', in: 'query', schema: { enum: ['ISSUED', 'REVOKED'] } },
        { name: 'q', in: 'query', description: 'a serial prefix (hex), or a case-insensitive prefix of the common name or of any SAN', schema: { type: 'string', minLength: 1, maxLength: 256 } },
        { name: 'expiresBefore', in: 'query', description: 'only those whose notAfter is before this time (RFC 3339)', schema: { type: 'string', format: 'date-time' } },
        { name: 'expiresAfter', in: 'query', description: 'only those whose notAfter is after this time (RFC 3339)', schema: { type: 'string', format: 'date-time' } },
        { name: 'include', in: 'query', description: '`certificate` adds each one\'s PEM (never the chain)', schema: { enum: ['certificate'] } },
      ],
      responses: { '200': { description: '{ items, nextCursor }', schema: CertificateListResponse } },
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        const q = query(req);
        const status = q.status;
        if (status !== undefined && status !== 'ISSUED' && status !== 'REVOKED') throw invalid('invalid_status', 'status is ISSUED or REVOKED');
        if (q.include !== undefined && q.include !== 'certificate') throw invalid('invalid_include', 'include is certificate');
        const search = searchText(q.q);
        const expiresBefore = time(q.expiresBefore, 'expiresBefore');
        const expiresAfter = time(q.expiresAfter, 'expiresAfter');
        const { limit, after } = page(q, decodeSerialCursor);
        await authz.ca(req, res, 'ListCertificates', id);
        const items = await deps.certificates.list(id, { status, limit, afterSerial: after, q: search, expiresBefore, expiresAfter });
        const last = items.length === limit ? items[items.length - 1] : undefined;
        sendJson(res, 200, {
          items: items.map((c) => presentCertificateItem(c, { withPem: q.include === 'certificate' })),
          nextCursor: last ? encodeCursor({ s: last.serial }) : null,
        });
      },
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}/certificate-stats',
      operation: 'GetCertificateStatistics',
      action: 'ListCertificates',
      summary: "The CA's certificates counted now (valid, expired, revoked, expiring within 30 days) and their issuance per UTC hour (24) and day (30)",
      responses: { '200': { description: 'the counts and the issuance buckets, oldest first', schema: CertificateStatisticsResponse } },
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        await authz.ca(req, res, 'ListCertificates', id);
        sendJson(res, 200, presentCertificateStatistics(await deps.certificates.statistics(id)));
      },
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}/certificates/{serial}',
      operation: 'GetCertificate',
      summary: 'A certificate with its status and chain; as PEM (the certificate then its chain) or DER by Accept',
      responses: {
        '200': {
          description: 'the certificate',
          schema: CertificateResponse,
          alternatives: {
            'application/pem-certificate-chain': { description: 'the certificate then its chain, PEM (RFC 8555 9.1)' },
            'application/pkix-cert': { description: 'the certificate, DER', binary: true },
          },
        },
      },
      errors: [406],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        const serial = parseSerial(params(req).serial!);
        const type = negotiate(req, CERTIFICATE_TYPES);
        await authz.ca(req, res, 'GetCertificate', id);
        const { cert, chain } = await deps.certificates.get(id, serial);
        sendCertificate(res, type, cert.der, chain, () => presentCertificate(cert, chain));
      },
    },
    {
      method: 'post',
      path: '/v1/cas/{caId}/certificates/{serial}/revoke',
      operation: 'RevokeCertificate',
      summary: 'Revoke a certificate with an RFC 5280 reason; it is in the served CRLs within 5 seconds',
      body: RevokeSchema,
      optionalBody: true,
      responses: { '200': { description: 'the certificate, REVOKED', schema: CertificateResponse } },
      errors: [409],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        const serial = parseSerial(params(req).serial!);
        const input = req.body === undefined ? {} : parseBody(RevokeSchema, req.body);
        const reason = input.reason ?? 'UNSPECIFIED';
        await authz.ca(req, res, 'RevokeCertificate', id, { 'privateca:RevocationReason': reason });
        const cert = await deps.revocation.revoke(res.locals.actor, id, serial, reason);
        sendJson(res, 200, presentCertificate(cert, await deps.certificates.chain(id)));
      },
    },
  ];
}
