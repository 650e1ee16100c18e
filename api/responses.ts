import { z } from 'zod';
import { KEY_ALGORITHMS, SIGNING_ALGORITHMS } from '../src/domain/key-algorithm.ts';
import { REVOCATION_REASON_NAMES } from '../src/domain/revocation-reason.ts';

/*
 * The shapes of the answers, for the OpenAPI document (openapi.ts) and for the tests that check
 * every answer against it. Presenters (presenters.ts) produce them.
 */

const time = z.iso.datetime().describe('RFC 3339, UTC');
const serial = z.string().regex(/^([0-9a-f]{2})+$/).describe('lowercase hex of the serial, two digits per octet');
const pem = (what: string) => z.string().describe(`PEM: ${what}`);

export const ProblemResponse = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().regex(/^[a-z][a-z0-9_]*$/).describe('stable, machine-readable'),
    requestId: z.string().optional(),
  })
  .describe('RFC 9457 problem details');

export const CrlSettings = z.object({
  enabled: z.boolean(),
  validityHours: z.number().int(),
  schedule: z.string(),
  baseUrl: z.string().optional(),
  partitioned: z.boolean(),
});

export const OcspSettings = z.object({
  enabled: z.boolean(),
  baseUrl: z.string().optional(),
  validityHours: z.number().int(),
  responderKeyStore: z.enum(['software', 'ca']),
});

export const CaResponse = z.object({
  id: z.uuid(),
  type: z.enum(['ROOT', 'SUBORDINATE']),
  status: z.enum(['PENDING_CERTIFICATE', 'ACTIVE', 'DISABLED', 'EXPIRED', 'DELETED']),
  subject: z.record(z.string(), z.string()),
  issuer: z
    .record(z.string(), z.string())
    .optional()
    .describe("the issuer Name of the CA's certificate, as subject is shown (a ROOT's is its subject); absent while PENDING_CERTIFICATE"),
  keyAlgorithm: z.enum(KEY_ALGORITHMS),
  signingAlgorithm: z.enum(SIGNING_ALGORITHMS),
  keyStore: z.object({
    type: z.string(),
    status: z.enum(['AVAILABLE', 'UNAVAILABLE']).describe('whether the key can sign now'),
    reason: z.string().optional().describe('why not, when UNAVAILABLE'),
  }),
  serial: serial.optional(),
  notBefore: time.optional(),
  notAfter: time.optional(),
  revocation: z.object({ crl: CrlSettings, ocsp: OcspSettings }),
  tags: z.record(z.string(), z.string()),
  createdAt: time,
  updatedAt: time,
  restorableUntil: time.optional(),
  warnings: z.array(z.string()).optional().describe('when the CA was just created or changed: what its settings will get wrong'),
});

const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const CaListResponse = list(CaResponse);
export const CsrResponse = z.object({ csr: pem('CERTIFICATE REQUEST') });
export const CaCertificateResponse = z.object({ certificate: pem('CERTIFICATE'), chain: pem('the issuer first, the root last; "" for a ROOT') });

export const IssuedResponse = z.object({
  serial,
  certificate: pem('CERTIFICATE'),
  chain: pem("the issuing CA's certificate, then its chain"),
  notBefore: time,
  notAfter: time,
  privateKey: z.string().optional().describe('with keyGeneration: the generated key, encrypted PKCS#8 PEM under the passphrase (shown once, never kept)'),
  pkcs12: z.string().optional().describe('with keyGeneration: base64 of a PKCS#12 with the key, the certificate and the chain under the passphrase'),
});

export const SubjectAltNamesResponse = z
  .object({
    dnsNames: z.array(z.string()).optional(),
    ipAddresses: z.array(z.string()).optional(),
    emailAddresses: z.array(z.string()).optional(),
    uris: z.array(z.string()).optional(),
  })
  .describe('the subjectAltName entries by kind; kinds without one are left out');

/** A list item: no chain, the PEM only with include=certificate. */
export const CertificateItemResponse = z.object({
  serial,
  status: z.enum(['ISSUED', 'REVOKED']),
  subject: z.string().describe('RFC 4514'),
  subjectAlternativeNames: SubjectAltNamesResponse,
  template: z.string(),
  notBefore: time,
  notAfter: time,
  issuedAt: time,
  revokedAt: time.optional(),
  revocationReason: z.enum(REVOCATION_REASON_NAMES).optional(),
  certificate: pem('CERTIFICATE').optional().describe('with include=certificate'),
});

export const CertificateResponse = CertificateItemResponse.extend({
  certificate: pem('CERTIFICATE'),
  chain: pem("the issuing CA's certificate, then its chain"),
});

export const CertificateListResponse = list(CertificateItemResponse);

const issuanceBuckets = (what: string) => z.array(z.object({ start: time, count: z.number().int() })).describe(`issuance (issuedAt) per ${what}, oldest first`);

export const CertificateStatisticsResponse = z.object({
  caId: z.uuid(),
  at: time.describe('when they were counted'),
  issued: z.number().int().describe('ISSUED, notAfter after `at`'),
  expired: z.number().int().describe('ISSUED, notAfter at or before `at`'),
  revoked: z.number().int().describe('REVOKED'),
  expiringWithin30Days: z.number().int().describe('ISSUED, notAfter after `at` and within 30 days of it'),
  hourly: issuanceBuckets('UTC hour: 24, the last the current hour so far'),
  daily: issuanceBuckets('UTC day: 30, the last today so far'),
});

export const CrlStatusResponse = z.object({
  crlNumber: z.string().regex(/^[0-9]+$/).describe('decimal'),
  thisUpdate: time,
  nextUpdate: time,
  revokedCount: z.number().int(),
  url: z.string().describe("the full CRL's URL"),
  targets: z
    .array(
      z.object({
        target: z.string(),
        partition: z.string().describe("'' for the full CRL"),
        crlNumber: z.string(),
        ok: z.boolean(),
        attempts: z.number().int(),
        error: z.string().optional(),
        at: time,
      }),
    )
    .describe('the latest outcome of each publication target (directory, S3)'),
});

export const OcspStatusResponse = OcspSettings.omit({ baseUrl: true }).extend({
  url: z.string().nullable().describe("the OCSP URL the CA's certificates carry, {baseUrl}/ocsp/{caId}; null while OCSP is off"),
  responder: z
    .object({ serial, notBefore: time, notAfter: time, subject: z.string().describe('RFC 4514') })
    .nullable()
    .describe("the CA's latest delegated responder certificate (the one answers are signed with while it is valid); null until the first answer makes one"),
});

export const HealthResponse = z.object({ status: z.literal('ok') });

export const ReadinessResponse = z.object({
  status: z.enum(['ready', 'not_ready']),
  notReady: z.array(z.string()).describe('the checks that are not ready: database, keyStore:<type>, shutdown'),
  checks: z.record(z.string(), z.object({ ready: z.boolean(), reason: z.string().optional() })),
});

export const OpenApiResponse = z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({}), paths: z.record(z.string(), z.unknown()) });

export const PrincipalResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().optional(),
  status: z.enum(['ACTIVE', 'DISABLED']),
  policies: z.array(z.uuid()).describe('ids of the attached policies'),
  tags: z.record(z.string(), z.string()),
  rateLimit: z.object({ requestsPerSecond: z.number(), burst: z.number().int(), perCa: z.boolean().optional() }).optional(),
  createdAt: time,
  updatedAt: time,
});
export const PrincipalListResponse = list(PrincipalResponse);

export const TokenResponse = z.object({
  id: z.uuid(),
  description: z.string(),
  createdAt: time,
  expiresAt: time.nullable(),
  lastUsedAt: time.nullable().describe('approximate: written at most about once a minute'),
});
export const CreatedTokenResponse = TokenResponse.omit({ lastUsedAt: true }).extend({
  token: z.string().startsWith('pca_').describe('the secret: shown only in this answer'),
});
export const TokenListResponse = z.object({ items: z.array(TokenResponse) });

export const PolicyResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().optional(),
  document: z.looseObject({}),
  builtIn: z.boolean(),
  createdAt: time,
  updatedAt: time,
});
export const PolicyListResponse = list(PolicyResponse);

export const MeResponse = z.object({ principal: PrincipalResponse, policies: z.array(PolicyResponse) });

export const AuthorizeResponse = z.object({
  results: z.array(
    z.object({
      allowed: z.boolean(),
      reason: z.enum(['allowed', 'explicit_deny', 'no_allow']),
      statement: z.string().optional().describe('the Sid (or #n) that decided, or the Allow that came closest'),
      policy: z.string().optional(),
      detail: z.string(),
    }),
  ),
});

export const NoContent = { description: 'done; no body' };

export const AuditEventResponse = z.object({
  seq: z.number().int().nullable().describe('the position in the chain; null for the few seconds until the event is sealed'),
  time,
  principal: z.object({ id: z.uuid().nullable(), name: z.string() }).nullable().describe("null for the service's own jobs"),
  action: z.string().describe('e.g. privateca:IssueCertificate; privateca:Authenticate for a refused token'),
  resource: z.string(),
  outcome: z.enum(['SUCCESS', 'DENIED']),
  sourceIp: z.string().nullable(),
  requestId: z.string().nullable(),
  details: z.looseObject({}),
  hash: z.string().regex(/^[0-9a-f]{64}$/).nullable().describe('SHA-256 of the previous hash and this event (docs/audit.md); null until sealed'),
});
export const AuditEventListResponse = list(AuditEventResponse);

export const CheckpointResponse = z.object({
  size: z.number().int().describe('events covered: seq 1 to size'),
  hash: z.string().regex(/^[0-9a-f]{64}$/).describe('the chain hash of event size'),
  time,
  keyId: z.string(),
  signature: z.string().describe('base64 of a DER ECDSA P-256 SHA-256 signature over the checkpoint text (docs/audit.md)'),
});

export const VerifyResponse = z.union([
  z.object({ ok: z.literal(true), events: z.number().int(), archivedThrough: z.number().int().optional().describe('events up to this seq were archived (docs/audit.md)'), checkpoint: CheckpointResponse.optional() }),
  z.object({
    ok: z.literal(false),
    firstBadSeq: z.number().int(),
    problem: z.enum(['modified', 'missing', 'inserted', 'reordered', 'truncated', 'bad_signature']),
    detail: z.string(),
    events: z.number().int().describe('events that verified before the damage'),
    archivedThrough: z.number().int().optional(),
    checkpoint: CheckpointResponse.optional(),
  }),
]);

export const PublicKeyResponse = z.string().describe('the audit key, SPKI PEM');

export const AuditReportResponse = z.object({
  id: z.uuid(),
  caId: z.uuid(),
  format: z.enum(['JSON', 'CSV']),
  status: z.enum(['CREATING', 'SUCCESS', 'FAILED']),
  createdAt: time.describe('the report lists the certificates issued up to this time'),
  requestedBy: z.string().optional().describe('the principal that asked for it'),
  completedAt: time.optional(),
  rows: z.number().int().optional().describe('certificates in the report (when SUCCESS)'),
  size: z.number().int().optional().describe('bytes of content (when SUCCESS)'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional().describe("the content's SHA-256 (when SUCCESS)"),
  keyId: z.string().optional().describe('the audit key that signed it (when SUCCESS)'),
  s3Key: z.string().optional().describe('the key of its copy in the S3 bucket, when one is configured'),
  s3Error: z.string().optional().describe('why the copy to the S3 bucket failed'),
  error: z.string().optional().describe('why it failed (when FAILED)'),
});
