import { z } from 'zod';
import { CreateCaSchema, ImportCertificateSchema, IssueSchema, PatchCaSchema, RevokeSchema } from './schemas.ts';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input' });
const json = (s: object) => ({ content: { 'application/json': { schema: s } } });
const problem = { description: 'problem+json (RFC 9457) with a stable `code`', content: { 'application/problem+json': {} } };
const caIdParam = { name: 'caId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const serialParam = { name: 'serial', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-fA-F:]+$' } };
const listParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
];
const ok = (description: string) => ({ description, ...json({ type: 'object' }) });
const errors = { '400': problem, '401': problem, '403': problem, '404': problem, '409': problem, '413': problem, '415': problem };

/** The OpenAPI 3.1 document served at /openapi.json, with request schemas generated from zod. */
export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: { title: 'privateca', version: '1', description: 'A private certificate authority. See API.md for the contract.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: { security: [], responses: { '200': ok('the database answers'), '503': problem } } },
      '/v1/cas': {
        post: { requestBody: json(schema(CreateCaSchema)), responses: { '201': ok('the CA'), ...errors } },
        get: { parameters: listParams, responses: { '200': ok('{ items, nextCursor }'), ...errors } },
      },
      '/v1/cas/{caId}': {
        parameters: [caIdParam],
        get: { responses: { '200': ok('the CA'), ...errors } },
        patch: { requestBody: json(schema(PatchCaSchema)), responses: { '200': ok('the CA'), ...errors } },
        delete: {
          parameters: [{ name: 'permanentDeletionDays', in: 'query', schema: { type: 'integer', minimum: 7, maximum: 30, default: 30 } }],
          responses: { '200': ok('the CA, DELETED, with restorableUntil'), ...errors },
        },
      },
      '/v1/cas/{caId}/restore': { parameters: [caIdParam], post: { responses: { '200': ok('the CA'), ...errors } } },
      '/v1/cas/{caId}/csr': { parameters: [caIdParam], get: { responses: { '200': ok('{ csr }'), ...errors } } },
      '/v1/cas/{caId}/certificate': {
        parameters: [caIdParam],
        get: { responses: { '200': ok('{ certificate, chain }'), ...errors } },
        post: { requestBody: json(schema(ImportCertificateSchema)), responses: { '200': ok('the CA, ACTIVE'), ...errors } },
      },
      '/v1/cas/{caId}/certificates': {
        parameters: [caIdParam],
        post: {
          requestBody: json(schema(IssueSchema)),
          responses: { '201': ok('{ serial, certificate, chain, notBefore, notAfter }'), '200': ok('idempotent replay'), ...errors },
        },
        get: {
          parameters: [...listParams, { name: 'status', in: 'query', schema: { enum: ['ISSUED', 'REVOKED'] } }],
          responses: { '200': ok('{ items, nextCursor }'), ...errors },
        },
      },
      '/v1/cas/{caId}/certificates/{serial}': { parameters: [caIdParam, serialParam], get: { responses: { '200': ok('the certificate'), ...errors } } },
      '/v1/cas/{caId}/certificates/{serial}/revoke': {
        parameters: [caIdParam, serialParam],
        post: { requestBody: json(schema(RevokeSchema)), responses: { '200': ok('the certificate, REVOKED'), ...errors } },
      },
    },
  };
}
