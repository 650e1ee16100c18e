import { effectiveStatus, type Ca } from '../src/domain/ca.ts';
import type { IssuedCertificate } from '../src/domain/certificate.ts';
import type { KeyStatus } from '../src/ports/key-store.ts';
import { certificatePem } from '../src/x509/pem.ts';

const iso = (d: Date | undefined) => d?.toISOString();

/** The CA object of API.md; keyStore also says whether the key can sign now and, if not, why. */
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
