import cron from 'node-cron';
import { z } from 'zod';
import { KEY_ALGORITHMS, SIGNING_ALGORITHMS } from '../src/domain/key-algorithm.ts';
import { REVOCATION_REASON_NAMES } from '../src/domain/revocation-reason.ts';
import type { Validity } from '../src/services/validity.ts';

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

export const OcspSchema = z.strictObject({
  enabled: z.boolean(),
  baseUrl: BaseUrl.optional(),
  // RFC 5019 / CA/B BR 4.9.10: an OCSP answer is valid for at most 10 days.
  validityHours: z.number().int().min(1).max(240).optional(),
  responderKeyStore: z.enum(['software', 'ca']).optional().describe("where the responder's key is made: the software key store (default) or the CA's own"),
});

export const RevocationSchema = z.strictObject({ crl: CrlSchema.optional(), ocsp: OcspSchema.optional() });

/**
 * Tag keys as AWS allows them (letters, digits, spaces and _.:/=+-@, up to 128), never one that a
 * JavaScript object cannot hold as data (`__proto__` would be dropped silently); they also name
 * policy condition keys (privateca:ResourceTag/{key}).
 */
const TagKey = z
  .string()
  .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u, 'a tag key: 1 to 128 letters, digits, spaces or _.:/=+-@')
  .refine((k) => k !== '__proto__', 'a tag key other than "__proto__"');
export const Tags = z.record(TagKey, z.string().max(256)).refine((t) => Object.keys(t).length <= 50, 'at most 50 tags');

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
  revocation: z.strictObject({ crl: CrlSchema.partial().optional(), ocsp: OcspSchema.partial().optional() }).optional(),
  tags: Tags.optional(),
});

export const ImportCertificateSchema = z.strictObject({
  certificate: z.string().min(1),
  chain: z.string(),
});

const AWS_VALIDITY_TYPES = ['DAYS', 'MONTHS', 'YEARS', 'END_DATE', 'ABSOLUTE'] as const;

/**
 * A certificate's validity: `{days}`, `{notAfter}`, or AWS Private CA's Validity `{type, value}`
 * (DAYS, MONTHS, YEARS; END_DATE as YYYYMMDDHHMMSS or YYMMDDHHMMSS in UTC; ABSOLUTE as Unix seconds).
 */
export const ValiditySchema = z
  .union(
    [
      z.strictObject({ days: z.number().int().positive().max(36500) }),
      z.strictObject({ notAfter: z.iso.datetime({ offset: true }) }),
      z.strictObject({ type: z.enum(AWS_VALIDITY_TYPES), value: z.union([z.number(), z.string()], { error: 'expected a number, or for END_DATE a UTC time as YYYYMMDDHHMMSS' }) }),
    ],
    { error: 'expected {days}, {notAfter} or {type, value} (AWS Private CA\'s Validity)' },
  )
  .transform((v, ctx): Validity => {
    if ('days' in v) return v;
    if ('notAfter' in v) return { notAfter: new Date(v.notAfter) };
    const bad = (message: string) => {
      ctx.addIssue({ code: 'custom', path: ['value'], message, input: v.value });
      return z.NEVER;
    };
    if (v.type === 'END_DATE') return endDate(String(v.value)) ?? bad('a UTC time as YYYYMMDDHHMMSS or YYMMDDHHMMSS');
    if (typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value <= 0) return bad(`a positive integer for ${v.type}`);
    if (v.type === 'ABSOLUTE') return v.value < 253402300800 ? { notAfter: new Date(v.value * 1000) } : bad('Unix seconds before the year 10000');
    if (v.value > 36500) return bad(`at most 36500 for ${v.type}`);
    return v.type === 'DAYS' ? { days: v.value } : v.type === 'MONTHS' ? { months: v.value } : { years: v.value };
  });

/** AWS's END_DATE: GeneralizedTime digits, or UTCTime digits (YY < 50 is 20YY, RFC 5280 4.1.2.5.1). */
function endDate(digits: string): Validity | undefined {
  if (!/^[0-9]{12}([0-9]{2})?$/.test(digits)) return undefined;
  const full = digits.length === 12 ? (Number(digits.slice(0, 2)) < 50 ? '20' : '19') + digits : digits;
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((i, k) => Number(full.slice(i, k === 0 ? 4 : i + 2)));
  const t = new Date(Date.UTC(y!, mo! - 1, d, h, mi, s));
  const exact = t.getUTCFullYear() === y && t.getUTCMonth() === mo! - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === s;
  return exact ? { notAfter: t } : undefined;
}

/** keyGeneration: a key the service makes for the caller, named as a CSR would name it. */
export const KeyGenerationSchema = z.strictObject({
  keyAlgorithm: z.enum(KEY_ALGORITHMS),
  passphrase: z.string().min(12, 'at least 12 characters').max(1024),
  subject: SubjectSchema.partial().optional(),
  subjectAlternativeNames: z
    .strictObject({
      dnsNames: z.array(text(253)).max(100).optional(),
      ipAddresses: z.array(text(45)).max(100).optional(),
      emailAddresses: z.array(text(254)).max(100).optional(),
      uris: z.array(text(2048)).max(100).optional(),
    })
    .optional(),
});

export const IssueSchema = z
  .strictObject({
    csr: z.string().min(1).optional(),
    keyGeneration: KeyGenerationSchema.optional(),
    template: z.string().min(1).max(128).optional(),
    validity: ValiditySchema,
    signingAlgorithm: z.enum(SIGNING_ALGORITHMS).optional(),
    idempotencyToken: z.string().min(1).max(64).optional(),
  })
  .refine((b) => (b.csr === undefined) !== (b.keyGeneration === undefined), { message: 'exactly one of csr and keyGeneration', path: ['csr'] })
  .refine((b) => !(b.keyGeneration && b.idempotencyToken), {
    message: 'idempotencyToken cannot be used with keyGeneration (a generated key is handed back once and never kept, so a retry cannot be answered with it)',
    path: ['idempotencyToken'],
  });

export const RevokeSchema = z.strictObject({
  reason: z.enum(REVOCATION_REASON_NAMES).optional(),
});

/** ?limit= and ?cursor= of every list (params.ts reads them). */
export const listParameters = [
  { name: 'limit', in: 'query' as const, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'cursor', in: 'query' as const, description: 'nextCursor of the previous page', schema: { type: 'string' } },
];

const PrincipalName = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'a principal name: 1 to 64 of A-Z a-z 0-9 . _ @ -');
const Description = z.string().max(1024);
const PolicyRefs = z.array(z.string().min(1).max(128)).max(20).describe('policy ids (or names)');

export const RateLimitSchema = z
  .strictObject({
    requestsPerSecond: z.number().positive().max(100_000),
    burst: z.number().int().min(1).max(1_000_000).optional().describe('requests at once; default: requestsPerSecond rounded up'),
    perCa: z.boolean().optional().describe('each CA addressed (/v1/cas/{caId}/…) has a bucket of its own'),
  })
  .describe('a token bucket across all nodes; over it, 429 rate_limited with Retry-After');

export const CreatePrincipalSchema = z.strictObject({
  name: PrincipalName,
  description: Description.optional(),
  policies: PolicyRefs.optional(),
  tags: Tags.optional(),
  rateLimit: RateLimitSchema.optional(),
});

export const UpdatePrincipalSchema = z.strictObject({
  description: Description.optional(),
  status: z.enum(['ACTIVE', 'DISABLED']).optional(),
  policies: PolicyRefs.optional(),
  tags: Tags.optional(),
  rateLimit: RateLimitSchema.nullable().optional().describe('null removes the limit'),
});

export const CreateTokenSchema = z.strictObject({
  description: z.string().max(256).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

const PolicyDocument = z.looseObject({}).describe('an IAM-shaped policy document: { Version: "2012-10-17", Statement: [...] } (docs/policies.md)');

export const CreatePolicySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._+=,@-]{1,128}$/, 'a policy name: 1 to 128 of A-Z a-z 0-9 . _ + = , @ -'),
  description: Description.optional(),
  document: PolicyDocument,
});

export const UpdatePolicySchema = z.strictObject({
  description: Description.optional(),
  document: PolicyDocument,
});

const ContextValueSchema = z.union([z.string(), z.number(), z.boolean(), z.array(z.string()).max(100)]);

export const AuthorizeSchema = z.strictObject({
  checks: z
    .array(
      z.strictObject({
        action: z.string().min(1).max(128).describe('e.g. privateca:IssueCertificate'),
        resource: z.string().min(1).max(256).describe('e.g. ca/{caId}, ca/*, principal/{id}'),
        context: z.record(z.string().min(1).max(256), ContextValueSchema).optional().describe('condition keys and their values, e.g. {"privateca:DnsNames": ["a.example.internal"]}'),
      }),
    )
    .min(1)
    .max(100),
  principalId: z.uuid().optional().describe('evaluate for this principal instead of the caller (needs privateca:SimulatePrincipalPolicy on principal/{id})'),
});

export const CreateAuditReportSchema = z.strictObject({
  format: z.enum(['JSON', 'CSV']),
});
