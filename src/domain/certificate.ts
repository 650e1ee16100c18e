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
  revokedAt?: Date;
  revocationReason?: RevocationReason;
}
