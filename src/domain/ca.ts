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
 * Where a CA's CRLs are reached, without a trailing slash: its `baseUrl`, else the service's public
 * URL (PRIVATECA_PUBLIC_URL, else http://HOST:PORT). Undefined when the CA publishes no CRL.
 */
export function crlBaseUrl(ca: Pick<Ca, 'revocation'>, publicUrl: string): string | undefined {
  const crl = ca.revocation.crl;
  if (!crl.enabled) return undefined;
  return (crl.baseUrl ?? publicUrl).replace(/\/+$/, '');
}

/**
 * The URL of a CA's CRL as it goes into the CRL Distribution Point of what the CA issues: the full
 * CRL's (`{base}/crl/{caId}.crl`), or a partition's (`{base}/crl/{caId}/{partition}.crl`).
 */
export function crlUrl(ca: Pick<Ca, 'id' | 'revocation'>, publicUrl: string, partition?: string): string | undefined {
  const base = crlBaseUrl(ca, publicUrl);
  if (base === undefined) return undefined;
  return partition ? `${base}/crl/${ca.id}/${partition}.crl` : `${base}/crl/${ca.id}.crl`;
}

/** True for a URL whose host only this machine reaches (loopback, or the unspecified address). */
export function isLocalOnlyUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0' || host === '::';
}

/**
 * What a CA's settings will put into certificates that no client elsewhere can use: a CRL URL that
 * falls back to a loopback public URL. Returned as the CA's `warnings` when it is created or updated.
 */
export function caWarnings(ca: Pick<Ca, 'revocation'>, publicUrl: string): string[] {
  const crl = ca.revocation.crl;
  if (!crl.enabled || crl.baseUrl || !isLocalOnlyUrl(publicUrl)) return [];
  return [
    `revocation.crl has no baseUrl, so certificates name CRLs at ${publicUrl.replace(/\/+$/, '')}, which only this machine can reach; ` +
      'set revocation.crl.baseUrl or PRIVATECA_PUBLIC_URL to where clients reach the service',
  ];
}
