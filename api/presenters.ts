import { crlUrl, effectiveStatus, ocspUrl, type Ca, type CaSubject } from '../src/domain/ca.ts';
import type { AuditReport } from '../src/domain/audit-report.ts';
import type { IssuedCertificate } from '../src/domain/certificate.ts';
import type { Policy } from '../src/domain/policy.ts';
import type { ApiToken, Principal } from '../src/domain/principal.ts';
import type { CrlPublicationRecord } from '../src/ports/crl-publication-repository.ts';
import type { KeyStatus } from '../src/ports/key-store.ts';
import type { OcspResponderRecord, StoredCrl } from '../src/ports/repositories.ts';
import { readCertificateFields, subjectAltNamesByKind, subjectAltNamesOf, type SubjectAltNamesByKind } from '../src/x509/certificate-fields.ts';
import { describeName, nameFields } from '../src/x509/name.ts';
import { certificatePem } from '../src/x509/pem.ts';
import { eventObject } from '../src/services/audit/canonical.ts';
import type { CertificateStatistics, IssuanceBucket } from '../src/services/certificate-service.ts';
import type { AuditCheckpoint } from '../src/domain/audit-event.ts';
import type { StoredAuditEvent } from '../src/ports/repositories.ts';

/*
 * Domain objects as the API shows them (api/responses.ts has the shapes).
 */

const iso = (d: Date | undefined) => d?.toISOString();

/**
 * Issuers already read, by CA id, with the certificate they were read from. Reading one costs ~5 µs,
 * ~5 ms for a page of a thousand CAs; the DER is a new Buffer on every database read, so the memo is
 * by id and checked against the DER (a renewed certificate is read again). At most MAX_ISSUERS.
 */
const issuers = new Map<string, { der: Uint8Array; issuer: Readonly<Partial<CaSubject>> }>();
const MAX_ISSUERS = 10_000;

/** The issuer Name of a CA's certificate, shown as its subject is (a ROOT's is its subject); undefined without a certificate. */
function caIssuer(ca: Pick<Ca, 'id' | 'certificateDer'>): Readonly<Partial<CaSubject>> | undefined {
  const der = ca.certificateDer;
  if (!der) return undefined;
  const known = issuers.get(ca.id);
  if (known && Buffer.compare(known.der, der) === 0) return known.issuer;
  const issuer = Object.freeze(nameFields(der, readCertificateFields(der).issuer));
  if (issuers.size >= MAX_ISSUERS) issuers.clear();
  issuers.set(ca.id, { der, issuer });
  return issuer;
}

/** The CA object; keyStore also says whether the key can sign now and, if not, why. */
export function presentCa(ca: Ca, now: Date, key: KeyStatus) {
  return {
    id: ca.id,
    type: ca.type,
    status: effectiveStatus(ca, now),
    subject: ca.subject,
    issuer: caIssuer(ca),
    keyAlgorithm: ca.keyAlgorithm,
    signingAlgorithm: ca.signingAlgorithm,
    keyStore: { type: ca.keyStoreType, status: key.state, reason: key.reason },
    serial: ca.serial,
    notBefore: iso(ca.notBefore),
    notAfter: iso(ca.notAfter),
    revocation: ca.revocation,
    tags: ca.tags,
    createdAt: ca.createdAt.toISOString(),
    updatedAt: ca.updatedAt.toISOString(),
    restorableUntil: iso(ca.restorableUntil),
  };
}

/** A certificate's subjectAltNames by kind, as requests name them (keyGeneration.subjectAlternativeNames); kinds without a name are left out. */
export const presentSubjectAltNames = (der: Uint8Array): SubjectAltNamesByKind => subjectAltNamesByKind(subjectAltNamesOf(der));

/** A list item: light (no chain, and the PEM only when asked for), so that a page of a thousand stays small. */
export function presentCertificateItem(cert: IssuedCertificate, options: { withPem: boolean }) {
  return {
    serial: cert.serial,
    status: cert.status,
    subject: cert.subject,
    subjectAlternativeNames: presentSubjectAltNames(cert.der),
    template: cert.template,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    issuedAt: cert.issuedAt.toISOString(),
    revokedAt: iso(cert.revokedAt),
    revocationReason: cert.revocationReason,
    ...(options.withPem ? { certificate: certificatePem(cert.der) } : {}),
  };
}

/** A CA's certificate counts and issuance buckets (GET /v1/cas/{caId}/certificate-stats). */
export function presentCertificateStatistics(s: CertificateStatistics) {
  const buckets = (list: IssuanceBucket[]) => list.map((b) => ({ start: b.start.toISOString(), count: b.count }));
  return { ...s, at: s.at.toISOString(), hourly: buckets(s.hourly), daily: buckets(s.daily) };
}

/** One certificate with its chain. */
export function presentCertificate(cert: IssuedCertificate, chain: string) {
  return {
    ...presentCertificateItem(cert, { withPem: true }),
    certificate: certificatePem(cert.der),
    chain,
  };
}

/** A CA's latest full CRL and its publication targets; url is the full CRL's, the service's own when the CA has no baseUrl. */
export function presentCrlStatus(ca: Pick<Ca, 'id' | 'revocation'>, crl: Omit<StoredCrl, 'der'>, targets: CrlPublicationRecord[], publicUrl: string) {
  return {
    crlNumber: crl.crlNumber.toString(),
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate.toISOString(),
    revokedCount: crl.revokedCount,
    url: crlUrl(ca, publicUrl) ?? `${publicUrl.replace(/\/+$/, '')}/crl/${ca.id}.crl`,
    targets: targets.map((t) => ({
      target: t.target,
      partition: t.partition,
      crlNumber: t.crlNumber.toString(),
      ok: t.ok,
      attempts: t.attempts,
      error: t.error,
      at: t.at.toISOString(),
    })),
  };
}

/** A CA's OCSP settings, the URL its certificates name, and its latest delegated responder certificate (null before the first answer). */
export function presentOcspStatus(ca: Pick<Ca, 'id' | 'revocation'>, responder: OcspResponderRecord | undefined, publicUrl: string) {
  const { enabled, validityHours, responderKeyStore } = ca.revocation.ocsp;
  return {
    enabled,
    url: ocspUrl(ca, publicUrl) ?? null,
    validityHours,
    responderKeyStore,
    responder: responder
      ? {
          serial: responder.serial,
          notBefore: responder.notBefore.toISOString(),
          notAfter: responder.notAfter.toISOString(),
          subject: describeName(responder.certificateDer, readCertificateFields(responder.certificateDer).subject).subject,
        }
      : null,
  };
}

export function presentPrincipal(p: Principal) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    status: p.status,
    policies: p.policies,
    tags: p.tags,
    rateLimit: p.rateLimit,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** A token without its secret (the secret is shown once, when it is created). */
export function presentToken(t: ApiToken) {
  return {
    id: t.id,
    description: t.description ?? '',
    createdAt: t.createdAt.toISOString(),
    expiresAt: iso(t.expiresAt) ?? null,
    lastUsedAt: iso(t.lastUsedAt) ?? null,
  };
}

export function presentPolicy(p: Policy) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    document: p.document,
    builtIn: p.builtIn,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** An audit event: exactly the object the chain hashes (canonically), plus its hash (hex; null until sealed). */
export function presentAuditEvent(e: StoredAuditEvent) {
  return { ...eventObject(e), hash: e.hash ? e.hash.toString('hex') : null };
}

export function presentCheckpoint(c: AuditCheckpoint) {
  return { size: c.size, hash: c.hash.toString('hex'), time: c.time.toISOString(), keyId: c.keyId, signature: c.signature.toString('base64') };
}

export function presentAuditReport(r: AuditReport) {
  return {
    id: r.id,
    caId: r.caId,
    format: r.format,
    status: r.status,
    createdAt: r.createdAt.toISOString(),
    ...(r.requestedBy ? { requestedBy: r.requestedBy } : {}),
    ...(r.completedAt ? { completedAt: r.completedAt.toISOString() } : {}),
    ...(r.status === 'SUCCESS' ? { rows: r.rows, size: r.size, sha256: r.sha256!.toString('hex'), keyId: r.keyId } : {}),
    ...(r.s3Key ? { s3Key: r.s3Key } : {}),
    ...(r.s3Error ? { s3Error: r.s3Error } : {}),
    ...(r.status === 'FAILED' && r.error ? { error: r.error } : {}),
  };
}
