import { invalid } from './ca-error.ts';

/** Key usage bits, named as RFC 5280 section 4.2.1.3 names them. */
export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';

export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

/**
 * What a template puts into a certificate besides what comes from the CSR and the CA.
 * Key usage may depend on the subject key's family: keyEncipherment only makes sense for RSA.
 */
export interface Template {
  name: string;
  ca: boolean;
  /** For CA templates: the pathLenConstraint. */
  pathLen?: number;
  keyUsage: { rsa: KeyUsageName[]; ec: KeyUsageName[] };
  extendedKeyUsage: string[];
  /** id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1), for OCSP responder certificates. */
  ocspNoCheck: boolean;
}

/**
 * End-entity key usage (RFC 5280 4.2.1.12, CA/B BR 7.1.2.7.11): digitalSignature for every key;
 * keyEncipherment too for RSA server-only certificates (TLS RSA key transport). clientAuth allows
 * only digitalSignature and/or keyAgreement, so an RSA certificate that may authenticate clients
 * has digitalSignature alone (zlint e_key_usage_and_extended_key_usage_inconsistent).
 */
const endEntity = (name: string, eku: string[]): Template => ({
  name,
  ca: false,
  keyUsage: { rsa: eku.includes(EKU.clientAuth) ? ['digitalSignature'] : ['digitalSignature', 'keyEncipherment'], ec: ['digitalSignature'] },
  extendedKeyUsage: eku,
  ocspNoCheck: false,
});

const subordinate = (pathLen: number): Template => ({
  name: `SubordinateCACertificate_PathLen${pathLen}/V1`,
  ca: true,
  pathLen,
  keyUsage: { rsa: ['digitalSignature', 'keyCertSign', 'cRLSign'], ec: ['digitalSignature', 'keyCertSign', 'cRLSign'] },
  extendedKeyUsage: [],
  ocspNoCheck: false,
});

export const TEMPLATES: ReadonlyMap<string, Template> = new Map(
  (<Template[]>[
    endEntity('EndEntityCertificate/V1', [EKU.serverAuth, EKU.clientAuth]),
    endEntity('EndEntityServerAuthCertificate/V1', [EKU.serverAuth]),
    endEntity('EndEntityClientAuthCertificate/V1', [EKU.clientAuth]),
    {
      name: 'CodeSigningCertificate/V1',
      ca: false,
      keyUsage: { rsa: ['digitalSignature'], ec: ['digitalSignature'] },
      extendedKeyUsage: [EKU.codeSigning],
      ocspNoCheck: false,
    },
    {
      name: 'OCSPSigningCertificate/V1',
      ca: false,
      keyUsage: { rsa: ['digitalSignature'], ec: ['digitalSignature'] },
      extendedKeyUsage: [EKU.ocspSigning],
      ocspNoCheck: true,
    },
    subordinate(0),
    subordinate(1),
    subordinate(2),
    subordinate(3),
  ]).map((t) => [t.name, t]),
);

export const DEFAULT_TEMPLATE = 'EndEntityCertificate/V1';

export function findTemplate(name: string): Template {
  const t = TEMPLATES.get(name);
  if (!t) throw invalid('unknown_template', `unknown template "${name}"; known: ${[...TEMPLATES.keys()].join(', ')}`);
  return t;
}
