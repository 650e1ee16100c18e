import type { Logger } from 'pino';
import { invalid } from '../../src/domain/ca-error.ts';
import { caWarnings, type Ca } from '../../src/domain/ca.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { CaService } from '../../src/services/ca-service.ts';
import { certificatePem, csrPem } from '../../src/x509/pem.ts';
import { sendJson } from '../http.ts';
import { caId, encodeCursor, page } from '../params.ts';
import { parseBody } from '../validation.ts';
import { presentCa } from '../presenters.ts';
import { CaCertificateResponse, CaListResponse, CaResponse, CsrResponse } from '../responses.ts';
import { requestTags, type Authorizer } from '../authorization.ts';
import { negotiate } from '../negotiate.ts';
import { params, query, type Route } from '../route.ts';
import { CERTIFICATE_TYPES, sendCertificate } from '../representations.ts';
import { ImportCertificateSchema, PatchCaSchema, createCaSchema, listParameters } from '../schemas.ts';

const decodeCaCursor = (raw: unknown) => {
  const c = raw as { t?: unknown; i?: unknown };
  if (typeof c.t !== 'string' || typeof c.i !== 'string') throw new Error('bad cursor');
  const createdAt = new Date(c.t);
  if (Number.isNaN(createdAt.getTime())) throw new Error('bad cursor');
  return { createdAt, id: caId(c.i) };
};

/** /v1/cas: the CA lifecycle. */
export function caRoutes(deps: { cas: CaService; clock: Clock; keyStoreTypes: readonly string[]; publicUrl: string; logger: Logger; authz: Authorizer }): Route[] {
  const { cas, clock, authz } = deps;
  const show = async (ca: Ca) => presentCa(ca, clock.now(), await cas.keyStatus(ca));
  /** A CA just created or changed, with what its settings will get wrong (docs/api.md: the CA's `warnings`). */
  const changed = async (ca: Ca) => {
    const warnings = caWarnings(ca, deps.publicUrl);
    for (const w of warnings) deps.logger.warn({ caId: ca.id }, w);
    return { ...(await show(ca)), ...(warnings.length ? { warnings } : {}) };
  };
  const CreateCaSchema = createCaSchema(deps.keyStoreTypes);
  const theCa = { description: 'the CA', schema: CaResponse };

  return [
    {
      method: 'post',
      path: '/v1/cas',
      operation: 'CreateCertificateAuthority',
      summary: 'Create a ROOT CA (self-signed, ACTIVE at once) or a SUBORDINATE CA (PENDING_CERTIFICATE, with a CSR)',
      body: CreateCaSchema,
      responses: { '201': theCa },
      errors: [503],
      handler: async (req, res) => {
        const input = parseBody(CreateCaSchema, req.body);
        authz.require(req, res, 'CreateCertificateAuthority', 'ca/*', {
          'privateca:CaType': input.type,
          'privateca:KeyAlgorithm': input.keyAlgorithm,
          'privateca:KeyStoreType': input.keyStore?.type ?? 'software',
          ...requestTags(input.tags),
        });
        sendJson(res, 201, await changed(await cas.create(res.locals.actor, input)));
      },
    },
    {
      method: 'get',
      path: '/v1/cas',
      operation: 'ListCertificateAuthorities',
      summary: 'List CAs, oldest first',
      parameters: listParameters,
      responses: { '200': { description: '{ items, nextCursor }', schema: CaListResponse } },
      handler: async (req, res) => {
        const { limit, after } = page(query(req), decodeCaCursor);
        authz.require(req, res, 'ListCertificateAuthorities', 'ca/*');
        const items = await cas.list({ limit, after });
        const last = items.length === limit ? items[items.length - 1] : undefined;
        sendJson(res, 200, {
          items: await Promise.all(items.map(show)),
          nextCursor: last ? encodeCursor({ t: last.createdAt.toISOString(), i: last.id }) : null,
        });
      },
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}',
      operation: 'DescribeCertificateAuthority',
      summary: 'Describe a CA, with whether its key can sign now',
      responses: { '200': theCa },
      handler: async (req, res) => {
        sendJson(res, 200, await show(await authz.ca(req, res, 'DescribeCertificateAuthority', caId(params(req).caId))));
      },
    },
    {
      method: 'patch',
      path: '/v1/cas/{caId}',
      operation: 'UpdateCertificateAuthority',
      summary: 'Enable or disable a CA, change its CRL settings or its tags',
      body: PatchCaSchema,
      responses: { '200': theCa },
      errors: [409],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        const input = parseBody(PatchCaSchema, req.body);
        await authz.ca(req, res, 'UpdateCertificateAuthority', id, requestTags(input.tags));
        sendJson(res, 200, await changed(await cas.patch(res.locals.actor, id, input)));
      },
    },
    {
      method: 'delete',
      path: '/v1/cas/{caId}',
      operation: 'DeleteCertificateAuthority',
      summary: 'Delete a CA; it can be restored for permanentDeletionDays',
      parameters: [
        { name: 'permanentDeletionDays', in: 'query', schema: { type: 'integer', minimum: 7, maximum: 30, default: 30 } },
      ],
      responses: { '200': { description: 'the CA, DELETED, with restorableUntil', schema: CaResponse } },
      errors: [409],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        const raw = query(req).permanentDeletionDays;
        let days = 30;
        if (raw !== undefined) {
          if (typeof raw !== 'string' || !/^[0-9]{1,2}$/.test(raw) || Number(raw) < 7 || Number(raw) > 30) {
            throw invalid('invalid_permanent_deletion_days', 'permanentDeletionDays is an integer from 7 to 30');
          }
          days = Number(raw);
        }
        await authz.ca(req, res, 'DeleteCertificateAuthority', id);
        sendJson(res, 200, await show(await cas.delete(res.locals.actor, id, days)));
      },
    },
    {
      method: 'post',
      path: '/v1/cas/{caId}/restore',
      operation: 'RestoreCertificateAuthority',
      summary: 'Restore a DELETED CA to the status it had, while it is restorable',
      responses: { '200': theCa },
      errors: [409],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        await authz.ca(req, res, 'RestoreCertificateAuthority', id);
        sendJson(res, 200, await show(await cas.restore(res.locals.actor, id)));
      },
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}/csr',
      operation: 'GetCertificateAuthorityCsr',
      summary: "A subordinate CA's CSR, signed by its own key",
      responses: { '200': { description: '{ csr }', schema: CsrResponse } },
      errors: [409],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        await authz.ca(req, res, 'GetCertificateAuthorityCsr', id);
        sendJson(res, 200, { csr: csrPem(await cas.getCsr(id)) });
      },
    },
    {
      method: 'post',
      path: '/v1/cas/{caId}/certificate',
      operation: 'ImportCertificateAuthorityCertificate',
      summary: "Import a subordinate CA's signed certificate and its chain (first time or renewal), after checking both",
      body: ImportCertificateSchema,
      responses: { '200': { description: 'the CA, ACTIVE', schema: CaResponse } },
      errors: [409, 503],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        const input = parseBody(ImportCertificateSchema, req.body);
        await authz.ca(req, res, 'ImportCertificateAuthorityCertificate', id);
        sendJson(res, 200, await show(await cas.importCertificate(res.locals.actor, id, input)));
      },
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}/certificate',
      operation: 'GetCertificateAuthorityCertificate',
      summary: "The CA's certificate and chain; as PEM (the certificate then its chain) or DER by Accept",
      responses: {
        '200': {
          description: '{ certificate, chain }',
          schema: CaCertificateResponse,
          alternatives: {
            'application/pem-certificate-chain': { description: 'the certificate then its chain, PEM (RFC 8555 9.1)' },
            'application/pkix-cert': { description: 'the certificate, DER', binary: true },
          },
        },
      },
      errors: [406, 409],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        const type = negotiate(req, CERTIFICATE_TYPES);
        await authz.ca(req, res, 'GetCertificateAuthorityCertificate', id);
        const ca = await cas.getCertificate(id);
        sendCertificate(res, type, ca.der, ca.chain, () => ({ certificate: certificatePem(ca.der), chain: ca.chain }));
      },
    },
  ];
}

