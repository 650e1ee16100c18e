import type { KeyAlgorithm, SigningAlgorithm } from './key-algorithm.ts';

export type CaType = 'ROOT' | 'SUBORDINATE';
/** Stored statuses; EXPIRED is derived from notAfter when the CA is read. */
export type StoredCaStatus = 'PENDING_CERTIFICATE' | 'ACTIVE' | 'DISABLED' | 'DELETED';
export type CaStatus = StoredCaStatus | 'EXPIRED';

export interface CaSubject {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
  state?: string;
  locality?: string;
  serialNumber?: string;
  emailAddress?: string;
}

export interface CrlConfig {
  enabled: boolean;
  validityHours: number;
  schedule: string;
  baseUrl?: string;
  partitioned: boolean;
}

export interface RevocationConfig {
  crl: CrlConfig;
}

export const DEFAULT_CRL: CrlConfig = { enabled: false, validityHours: 24, schedule: '*/15 * * * *', partitioned: false };

export interface Ca {
  id: string;
  type: CaType;
  status: StoredCaStatus;
  previousStatus?: StoredCaStatus;
  subject: CaSubject;
  keyAlgorithm: KeyAlgorithm;
  signingAlgorithm: SigningAlgorithm;
  keyStoreType: string;
  keyUri: string;
  csrDer?: Buffer;
  certificateDer?: Buffer;
  /** PEM, issuer first, root last; '' for a ROOT. */
  chainPem: string;
  serial?: string;
  notBefore?: Date;
  notAfter?: Date;
  certVersion: number;
  /** Blocks of CRL partition numbers taken so far (partitioned CAs). */
  partitionBlocks: number;
  revocation: RevocationConfig;
  tags: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
  restorableUntil?: Date;
}

/** The status a caller sees: a CA past its notAfter is EXPIRED unless it is pending or deleted. */
export function effectiveStatus(ca: Pick<Ca, 'status' | 'notAfter'>, now: Date): CaStatus {
  if ((ca.status === 'ACTIVE' || ca.status === 'DISABLED') && ca.notAfter && ca.notAfter.getTime() <= now.getTime()) {
    return 'EXPIRED';
  }
  return ca.status;
}

/**
 * The URL of a CA's CRL as it goes into the CRL Distribution Point of what the CA issues: the full
 * CRL's, or a partition's (`{baseUrl}/crl/{caId}/{partition}.crl`). None without a baseUrl.
 */
export function crlUrl(ca: Pick<Ca, 'id' | 'revocation'>, partition?: string): string | undefined {
  const crl = ca.revocation.crl;
  if (!crl.enabled || !crl.baseUrl) return undefined;
  const base = crl.baseUrl.replace(/\/+$/, '');
  return partition ? `${base}/crl/${ca.id}/${partition}.crl` : `${base}/crl/${ca.id}.crl`;
}
