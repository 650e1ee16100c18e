import type { IssueRequest } from '../issuance-service.ts';
import type { ContextValue } from './request-context.ts';

const DAY = 86_400_000;
const CURVE_NAMES = { 'P-256': 'EC_prime256v1', 'P-384': 'EC_secp384r1', 'P-521': 'EC_secp521r1' } as const;

/**
 * The condition keys of an issuance (docs/policies.md), for every front door that issues: the
 * template, the validity in whole days rounded up, the names the certificate will carry, the
 * subject key and the signature algorithm.
 */
export function issuanceKeys(r: IssueRequest): Record<string, ContextValue | undefined> {
  const names = (type: string) => r.subjectAltNames.filter((s) => s.type === type).map((s) => s.value);
  const key = r.csr.key;
  return {
    'privateca:Template': r.template.name,
    'privateca:ValidityDays': Math.ceil((r.notAfter.getTime() - r.now.getTime()) / DAY),
    'privateca:CommonName': r.csr.commonName,
    'privateca:DnsNames': names('dns'),
    'privateca:IpAddresses': names('ip'),
    'privateca:EmailAddresses': names('email'),
    'privateca:Uris': names('uri'),
    'privateca:KeyAlgorithm': key.family === 'EC' ? CURVE_NAMES[key.curve] : `RSA_${key.bits}`,
    'privateca:KeySize': key.family === 'EC' ? Number(key.curve.slice(2)) : key.bits,
    'privateca:SigningAlgorithm': r.signingAlgorithm,
  };
}
