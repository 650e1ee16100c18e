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
  revokedAt?: Date;
  revocationReason?: RevocationReason;
}
