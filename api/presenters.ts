import { crlUrl, effectiveStatus, type Ca } from '../src/domain/ca.ts';
import type { IssuedCertificate } from '../src/domain/certificate.ts';
import type { CrlPublicationRecord } from '../src/ports/crl-publication-repository.ts';
import type { KeyStatus } from '../src/ports/key-store.ts';
import type { StoredCrl } from '../src/ports/repositories.ts';
import { certificatePem } from '../src/x509/pem.ts';

/*
 * Domain objects as the API shows them (api/responses.ts has the shapes).
 */

const iso = (d: Date | undefined) => d?.toISOString();

/** The CA object; keyStore also says whether the key can sign now and, if not, why. */
export function presentCa(ca: Ca, now: Date, key: KeyStatus) {
  return {
    id: ca.id,
    type: ca.type,
    status: effectiveStatus(ca, now),
    subject: ca.subject,
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

export function presentCertificate(cert: IssuedCertificate, chain: string) {
  return {
    serial: cert.serial,
    status: cert.status,
    certificate: certificatePem(cert.der),
    chain,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    subject: cert.subject,
    template: cert.template,
    revokedAt: iso(cert.revokedAt),
    revocationReason: cert.revocationReason,
  };
}

/** A CA's latest full CRL and its publication targets; url is the full CRL's, the service's own when the CA has no baseUrl. */
export function presentCrlStatus(ca: Pick<Ca, 'id' | 'revocation'>, crl: Omit<StoredCrl, 'der'>, targets: CrlPublicationRecord[], publicUrl: string) {
  return {
    crlNumber: crl.crlNumber.toString(),
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate.toISOString(),
    revokedCount: crl.revokedCount,
    url: crlUrl(ca) ?? `${publicUrl.replace(/\/+$/, '')}/crl/${ca.id}.crl`,
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
