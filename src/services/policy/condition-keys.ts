/**
 * The condition keys a policy may test, with their types. Key names are case-insensitive, the tag
 * part of the tag keys too (as IAM's); the request context stores them lower-cased.
 */
export type KeyType = 'string' | 'number' | 'date' | 'bool' | 'ip';

export interface ConditionKeySpec {
  /** Canonical spelling, e.g. `privateca:DnsNames`; for families, the prefix `privateca:PrincipalTag/`. */
  name: string;
  type: KeyType;
  /** A set of values (several SANs of one kind): only the ForAllValues:/ForAnyValue: operators (and Null) apply. */
  set?: boolean;
  /** A family of keys, one per tag: `privateca:PrincipalTag/{key}`. */
  family?: boolean;
  /** What it holds, for docs/policies.md and the console. */
  description: string;
}

export const CONDITION_KEYS: readonly ConditionKeySpec[] = [
  { name: 'privateca:SourceIp', type: 'ip', description: 'the address the request came from' },
  { name: 'privateca:CurrentTime', type: 'date', description: 'when the request is evaluated' },
  { name: 'privateca:CurrentHour', type: 'number', description: 'the hour of CurrentTime in UTC, 0 to 23 (office hours)' },
  { name: 'privateca:CurrentDayOfWeek', type: 'string', description: 'the day of CurrentTime in UTC: Monday … Sunday' },
  { name: 'privateca:SecureTransport', type: 'bool', description: 'true when the request came over TLS' },
  { name: 'privateca:PrincipalName', type: 'string', description: "the calling principal's name" },
  { name: 'privateca:PrincipalTag/', family: true, type: 'string', description: "a tag of the calling principal" },
  { name: 'privateca:ResourceTag/', family: true, type: 'string', description: 'a tag of the CA the request acts on (ca/{caId} resources)' },
  { name: 'privateca:RequestTag/', family: true, type: 'string', description: 'a tag the request sets (CreateCertificateAuthority, UpdateCertificateAuthority)' },
  { name: 'privateca:Template', type: 'string', description: 'IssueCertificate: the template, e.g. EndEntityServerAuthCertificate/V1' },
  { name: 'privateca:ValidityDays', type: 'number', description: 'IssueCertificate: whole days from now to notAfter, rounded up' },
  { name: 'privateca:CommonName', type: 'string', description: "IssueCertificate: the subject's commonName" },
  { name: 'privateca:DnsNames', type: 'string', set: true, description: 'IssueCertificate: every DNS name the certificate will carry' },
  { name: 'privateca:IpAddresses', type: 'ip', set: true, description: 'IssueCertificate: every IP address the certificate will carry' },
  { name: 'privateca:EmailAddresses', type: 'string', set: true, description: 'IssueCertificate: every e-mail address the certificate will carry' },
  { name: 'privateca:Uris', type: 'string', set: true, description: 'IssueCertificate: every URI the certificate will carry' },
  { name: 'privateca:KeyAlgorithm', type: 'string', description: 'IssueCertificate: the subject key (EC_prime256v1, EC_secp384r1, EC_secp521r1, RSA_{bits}); CreateCertificateAuthority: the CA key algorithm' },
  { name: 'privateca:KeySize', type: 'number', description: 'IssueCertificate: the subject key size in bits (RSA modulus; 256, 384 or 521 for EC)' },
  { name: 'privateca:SigningAlgorithm', type: 'string', description: 'IssueCertificate: the signature algorithm, e.g. SHA256WITHECDSA' },
  { name: 'privateca:CaType', type: 'string', description: 'CreateCertificateAuthority: ROOT or SUBORDINATE' },
  { name: 'privateca:KeyStoreType', type: 'string', description: 'CreateCertificateAuthority: software, pkcs11 or aws-kms' },
  { name: 'privateca:RevocationReason', type: 'string', description: 'RevokeCertificate: the reason, e.g. KEY_COMPROMISE' },
];

const BY_NAME = new Map(CONDITION_KEYS.filter((k) => !k.family).map((k) => [k.name.toLowerCase(), k]));
const FAMILIES = CONDITION_KEYS.filter((k) => k.family);

/** The spec of a key as a policy writes it, whatever its case; undefined for a key that does not exist. */
export function conditionKey(name: string): ConditionKeySpec | undefined {
  const lower = name.toLowerCase();
  const exact = BY_NAME.get(lower);
  if (exact) return exact;
  return FAMILIES.find((f) => lower.startsWith(f.name.toLowerCase()) && lower.length > f.name.length);
}
