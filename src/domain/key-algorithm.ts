import { invalid } from './ca-error.ts';

export const KEY_ALGORITHMS = ['EC_prime256v1', 'EC_secp384r1', 'EC_secp521r1', 'RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export const SIGNING_ALGORITHMS = [
  'SHA256WITHECDSA',
  'SHA384WITHECDSA',
  'SHA512WITHECDSA',
  'SHA256WITHRSA',
  'SHA384WITHRSA',
  'SHA512WITHRSA',
] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface KeyAlgorithmInfo {
  family: 'EC' | 'RSA';
  /** Node's curve name for EC keys. */
  curve?: 'prime256v1' | 'secp384r1' | 'secp521r1';
  /** WebCrypto's curve name for EC keys. */
  namedCurve?: 'P-256' | 'P-384' | 'P-521';
  modulusLength?: 2048 | 3072 | 4096;
  defaultSigning: SigningAlgorithm;
}

export const KEY_ALGORITHM_INFO: Record<KeyAlgorithm, KeyAlgorithmInfo> = {
  EC_prime256v1: { family: 'EC', curve: 'prime256v1', namedCurve: 'P-256', defaultSigning: 'SHA256WITHECDSA' },
  EC_secp384r1: { family: 'EC', curve: 'secp384r1', namedCurve: 'P-384', defaultSigning: 'SHA384WITHECDSA' },
  EC_secp521r1: { family: 'EC', curve: 'secp521r1', namedCurve: 'P-521', defaultSigning: 'SHA512WITHECDSA' },
  RSA_2048: { family: 'RSA', modulusLength: 2048, defaultSigning: 'SHA256WITHRSA' },
  RSA_3072: { family: 'RSA', modulusLength: 3072, defaultSigning: 'SHA256WITHRSA' },
  RSA_4096: { family: 'RSA', modulusLength: 4096, defaultSigning: 'SHA256WITHRSA' },
};

export interface SigningAlgorithmInfo {
  family: 'EC' | 'RSA';
  hash: HashName;
  /** Node's digest name for crypto.sign. */
  nodeHash: 'sha256' | 'sha384' | 'sha512';
  /** The AlgorithmIdentifier OID that goes into certificates, CSRs and CRLs. */
  oid: string;
}

export const SIGNING_ALGORITHM_INFO: Record<SigningAlgorithm, SigningAlgorithmInfo> = {
  SHA256WITHECDSA: { family: 'EC', hash: 'SHA-256', nodeHash: 'sha256', oid: '1.2.840.10045.4.3.2' },
  SHA384WITHECDSA: { family: 'EC', hash: 'SHA-384', nodeHash: 'sha384', oid: '1.2.840.10045.4.3.3' },
  SHA512WITHECDSA: { family: 'EC', hash: 'SHA-512', nodeHash: 'sha512', oid: '1.2.840.10045.4.3.4' },
  SHA256WITHRSA: { family: 'RSA', hash: 'SHA-256', nodeHash: 'sha256', oid: '1.2.840.113549.1.1.11' },
  SHA384WITHRSA: { family: 'RSA', hash: 'SHA-384', nodeHash: 'sha384', oid: '1.2.840.113549.1.1.12' },
  SHA512WITHRSA: { family: 'RSA', hash: 'SHA-512', nodeHash: 'sha512', oid: '1.2.840.113549.1.1.13' },
};

/** Refuses a signing algorithm that the key cannot produce (an RSA algorithm for an EC key, say). */
export function checkSigningAlgorithm(key: KeyAlgorithm, signing: SigningAlgorithm): void {
  if (KEY_ALGORITHM_INFO[key].family !== SIGNING_ALGORITHM_INFO[signing].family) {
    throw invalid('signing_algorithm_mismatch', `signing algorithm ${signing} does not fit key algorithm ${key}`);
  }
}
