import type { RevocationReason } from './revocation-reason.ts';

export type CertificateStatus = 'ISSUED' | 'REVOKED';

export interface IssuedCertificate {
  caId: string;
  serial: string;
  status: CertificateStatus;
  der: Buffer;
  subject: string;
  template: string;
  notBefore: Date;
  notAfter: Date;
  issuedAt: Date;
  /** The CRL partition named in the certificate's distribution point, for partitioned CAs. */
  crlPartition?: string;
  /** The name of the principal that issued it (what audit reports show). */
  issuedBy?: string;
  /** What a search (`q`) finds it by: its common name and SANs, lower-cased, each once (see searchNames). */
  names?: string[];
  revokedAt?: Date;
  revocationReason?: RevocationReason;
}

/** The names a certificate is found by in a search: the common name and every SAN value, lower-cased, each once. */
export function searchNames(commonName: string | undefined, sans: readonly { value: string }[]): string[] {
  const names = new Set<string>();
  if (commonName) names.add(commonName.toLowerCase());
  for (const s of sans) names.add(s.value.toLowerCase());
  return [...names];
}
