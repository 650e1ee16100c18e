import { crlUrl, effectiveStatus, type Ca } from '../src/domain/ca.ts';
import type { IssuedCertificate } from '../src/domain/certificate.ts';
import type { Policy } from '../src/domain/policy.ts';
import type { ApiToken, Principal } from '../src/domain/principal.ts';
import type { CrlPublicationRecord } from '../src/ports/crl-publication-repository.ts';
import type { KeyStatus } from '../src/ports/key-store.ts';
import type { StoredCrl } from '../src/ports/repositories.ts';
import { subjectAltNamesOf } from '../src/x509/certificate-fields.ts';
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

/** A certificate's subjectAltNames by kind, as requests name them (keyGeneration.subjectAlternativeNames); kinds without a name are left out. */
export function presentSubjectAltNames(der: Uint8Array): { dnsNames?: string[]; ipAddresses?: string[]; emailAddresses?: string[]; uris?: string[] } {
  const out: Record<string, string[]> = {};
  for (const san of subjectAltNamesOf(der)) (out[SAN_KEYS[san.type]] ??= []).push(san.value);
  return out;
}

const SAN_KEYS = { dns: 'dnsNames', ip: 'ipAddresses', email: 'emailAddresses', uri: 'uris' } as const;

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

export function presentPrincipal(p: Principal) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    status: p.status,
    policies: p.policies,
    tags: p.tags,
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
