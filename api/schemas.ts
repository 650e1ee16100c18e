import cron from 'node-cron';
import { z } from 'zod';
import { KEY_ALGORITHMS, SIGNING_ALGORITHMS } from '../src/domain/key-algorithm.ts';
import { REVOCATION_REASON_NAMES } from '../src/domain/revocation-reason.ts';

/*
 * Request schemas: validated at the edge, they also produce the OpenAPI document (openapi.ts).
 * Unknown fields are refused, so that a typo never silently does nothing.
 */

const text = (max: number) => z.string().min(1).max(max);

export const SubjectSchema = z.strictObject({
  commonName: text(64),
  organization: text(64).optional(),
  organizationalUnit: text(64).optional(),
  country: z.string().regex(/^[A-Z]{2}$/, 'two upper-case letters (ISO 3166)').optional(),
  state: text(128).optional(),
  locality: text(128).optional(),
  serialNumber: z.string().regex(/^[A-Za-z0-9 '()+,\-./:=?]{1,64}$/, 'a PrintableString of at most 64 characters').optional(),
  emailAddress: z.string().regex(/^[\x21-\x7e]+@[\x21-\x7e]+$/, 'an ASCII e-mail address').max(128).optional(),
});

const BaseUrl = z
  .string()
  .max(253)
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'an http(s) URL without query, fragment or credentials');

export const CrlSchema = z.strictObject({
  enabled: z.boolean(),
  validityHours: z.number().int().min(1).max(24 * 366).optional(),
  schedule: z.string().refine((v) => cron.validate(v), 'a cron expression').optional(),
  baseUrl: BaseUrl.optional(),
  partitioned: z.boolean().optional(),
});

export const RevocationSchema = z.strictObject({ crl: CrlSchema.optional() });

const Tags = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags');

/** POST /v1/cas; keyStore.type is one of the key stores the service knows (hsm-adapters/index.ts). */
export const createCaSchema = (keyStoreTypes: readonly string[]) =>
  z.strictObject({
    type: z.enum(['ROOT', 'SUBORDINATE']),
    subject: SubjectSchema,
    keyAlgorithm: z.enum(KEY_ALGORITHMS),
    signingAlgorithm: z.enum(SIGNING_ALGORITHMS).optional(),
    keyStore: z.strictObject({ type: z.enum(keyStoreTypes as [string, ...string[]]), keyUri: text(1024).optional() }).optional(),
    validityDays: z.number().int().min(1).max(36500).optional(),
    revocation: RevocationSchema.optional(),
    tags: Tags.optional(),
  });

export const PatchCaSchema = z.strictObject({
  status: z.enum(['ACTIVE', 'DISABLED']).optional(),
  revocation: z.strictObject({ crl: CrlSchema.partial().optional() }).optional(),
  tags: Tags.optional(),
});

export const ImportCertificateSchema = z.strictObject({
  certificate: z.string().min(1),
  chain: z.string(),
});

export const IssueSchema = z.strictObject({
  csr: z.string().min(1),
  template: z.string().min(1).max(128).optional(),
  validity: z.union([
    z.strictObject({ days: z.number().int().positive().max(36500) }),
    z.strictObject({ notAfter: z.iso.datetime({ offset: true }) }),
  ]),
  signingAlgorithm: z.enum(SIGNING_ALGORITHMS).optional(),
  idempotencyToken: z.string().min(1).max(64).optional(),
});

export const RevokeSchema = z.strictObject({
  reason: z.enum(REVOCATION_REASON_NAMES).optional(),
});

/** ?limit= and ?cursor= of every list (params.ts reads them). */
export const listParameters = [
  { name: 'limit', in: 'query' as const, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'cursor', in: 'query' as const, description: 'nextCursor of the previous page', schema: { type: 'string' } },
];

/** Renders zod's issues as one readable sentence for problem+json `detail`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
}
