/**
 * Object identifiers used by the x509 layer, in dotted form, named as their RFCs name them. One
 * table, so that an OID is written once; the signature algorithms that go into certificates are in
 * src/domain/key-algorithm.ts with the algorithms themselves.
 */
export const OID = {
  // Public keys (RFC 3279 2.3, RFC 5480 2.1.1)
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  secp521r1: '1.3.132.0.35',

  // PKCS#9 extensionRequest (RFC 2985 5.4.2), for CSRs
  extensionRequest: '1.2.840.113549.1.9.14',

  // Certificate and CRL extensions (RFC 5280 4.2, 5.2)
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  issuingDistributionPoint: '2.5.29.28',
  crlDistributionPoints: '2.5.29.31',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',

  // Access methods (RFC 5280 4.2.2.1) and OCSP (RFC 6960)
  ocsp: '1.3.6.1.5.5.7.48.1',
  ocspBasic: '1.3.6.1.5.5.7.48.1.1',
  ocspNonce: '1.3.6.1.5.5.7.48.1.2',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  caIssuers: '1.3.6.1.5.5.7.48.2',

  // Hashes (RFC 5754 2, RFC 3279 2.2.1), as OCSP CertIDs name them
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',

  // Name attributes (RFC 5280 4.1.2.4, RFC 4519; emailAddress from PKCS#9, RFC 2985)
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  emailAddress: '1.2.840.113549.1.9.1',
} as const;

/** The EC curves we issue for and sign with, by their OID. */
export const SUPPORTED_CURVES: Readonly<Record<string, { curve: 'P-256' | 'P-384' | 'P-521'; coordinateBytes: number }>> = {
  [OID.prime256v1]: { curve: 'P-256', coordinateBytes: 32 },
  [OID.secp384r1]: { curve: 'P-384', coordinateBytes: 48 },
  [OID.secp521r1]: { curve: 'P-521', coordinateBytes: 66 },
};

/** Names of curves we refuse, so that the error says what was sent. */
export const CURVE_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.10045.3.1.1': 'P-192 (prime192v1)',
  '1.3.132.0.33': 'P-224 (secp224r1)',
  '1.3.132.0.10': 'secp256k1',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
  '1.3.36.3.3.2.8.1.1.11': 'brainpoolP384r1',
  '1.3.36.3.3.2.8.1.1.13': 'brainpoolP512r1',
  '1.2.156.10197.1.301': 'SM2',
};

/** Names of algorithms we refuse, so that the error says what was sent. */
export const REFUSED_ALGORITHM_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10040.4.1': 'DSA',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-sha256',
  '1.2.840.10046.2.1': 'Diffie-Hellman',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};
