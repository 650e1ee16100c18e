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

/**
 * OCSP for what the CA issues: when enabled, every certificate it issues names `{baseUrl}/ocsp/{caId}`
 * in its Authority Information Access. Answers are signed by a delegated responder key, in the
 * software key store by default or in the CA's own store (`responderKeyStore: 'ca'`).
 */
export interface OcspConfig {
  enabled: boolean;
  baseUrl?: string;
  /** nextUpdate - thisUpdate of every answer (capped by the responder certificate's notAfter). */
  validityHours: number;
  responderKeyStore: 'software' | 'ca';
}

export interface RevocationConfig {
  crl: CrlConfig;
  ocsp: OcspConfig;
}

export const DEFAULT_CRL: CrlConfig = { enabled: false, validityHours: 24, schedule: '*/15 * * * *', partitioned: false };
export const DEFAULT_OCSP: OcspConfig = { enabled: false, validityHours: 24, responderKeyStore: 'software' };

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

/** Where a CA's OCSP responder is reached: `{baseUrl}/ocsp/{caId}`; undefined when OCSP is off. */
export function ocspUrl(ca: Pick<Ca, 'id' | 'revocation'>, publicUrl: string): string | undefined {
  const ocsp = ca.revocation.ocsp;
  if (!ocsp.enabled) return undefined;
  return `${(ocsp.baseUrl ?? publicUrl).replace(/\/+$/, '')}/ocsp/${ca.id}`;
}

/**
 * Where the CA's own certificate is served (`{base}/ca/{caId}.crt`, DER), named as caIssuers in the
 * AIA of what it issues: under the OCSP base when OCSP is on, else under the CRL's baseUrl when the
 * CA publishes CRLs at one. Undefined otherwise (a CA with neither names nothing new).
 */
export function caIssuersUrl(ca: Pick<Ca, 'id' | 'revocation'>, publicUrl: string): string | undefined {
  const { ocsp, crl } = ca.revocation;
  const base = ocsp.enabled ? (ocsp.baseUrl ?? publicUrl) : crl.enabled ? crl.baseUrl : undefined;
  return base === undefined ? undefined : `${base.replace(/\/+$/, '')}/ca/${ca.id}.crt`;
}

/** What the AIA of a CA's certificates names (OCSP, caIssuers); undefined when it names nothing. */
export function authorityInfoAccess(ca: Pick<Ca, 'id' | 'revocation'>, publicUrl: string): { ocsp?: string; caIssuers?: string } | undefined {
  const ocsp = ocspUrl(ca, publicUrl);
  const caIssuers = caIssuersUrl(ca, publicUrl);
  if (!ocsp && !caIssuers) return undefined;
  return { ...(ocsp ? { ocsp } : {}), ...(caIssuers ? { caIssuers } : {}) };
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
  if (!isLocalOnlyUrl(publicUrl)) return [];
  const out: string[] = [];
  for (const [part, what] of [['crl', 'CRLs'], ['ocsp', 'the OCSP responder']] as const) {
    const c = ca.revocation[part];
    if (!c.enabled || c.baseUrl) continue;
    out.push(
      `revocation.${part} has no baseUrl, so certificates name ${what} at ${publicUrl.replace(/\/+$/, '')}, which only this machine can reach; ` +
        `set revocation.${part}.baseUrl or PRIVATECA_PUBLIC_URL to where clients reach the service`,
    );
  }
  return out;
}
