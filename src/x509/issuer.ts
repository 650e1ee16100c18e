/**
 * What every certificate, CRL and OCSP answer of a CA repeats, read once from the CA certificate:
 * its subject Name (byte for byte, so that name chaining compares equal), its key identifier, its key
 * family and constraints, and the signature AlgorithmIdentifier of each signing algorithm.
 */
import { invalid } from '../domain/ca-error.ts';
import { SIGNING_ALGORITHM_INFO, type SigningAlgorithm } from '../domain/key-algorithm.ts';
import { readCertificateFields } from './certificate-fields.ts';
import { TAG, expectTlv, nullDer, oid, readChildren, sequence, unsignedIntegerValue } from './der.ts';
import { authorityKeyIdentifierExtension } from './extensions.ts';
import { OID } from './oids.ts';
import { keyFamilyOf, keyIdentifier, subjectPublicKeyBits } from './public-key.ts';

export interface IssuerCertificate {
  readonly der: Uint8Array;
  /** The CA certificate's subject Name DER: the issuer of everything the CA signs. */
  readonly subjectDer: Uint8Array;
  readonly spkiDer: Uint8Array;
  /** The subjectPublicKey BIT STRING value (what an OCSP CertID's issuerKeyHash hashes). */
  readonly publicKeyBits: Uint8Array;
  /** Its subjectKeyIdentifier, else RFC 5280 4.2.1.2 method 1 over its key: every AKI it issues names this. */
  readonly keyIdentifier: Uint8Array;
  readonly keyFamily: 'EC' | 'RSA' | 'other';
  readonly isCa: boolean;
  /** The basicConstraints pathLenConstraint, when it has one. */
  readonly pathLen?: number;
  /** The whole authorityKeyIdentifier Extension that everything the CA issues carries. */
  readonly akiExtDer: Uint8Array;
}

/** Reads what the encoders need from a CA certificate (RFC 5280 4.1). */
export function readIssuerCertificate(der: Uint8Array): IssuerCertificate {
  const { subject, spki, extensions } = readCertificateFields(der);
  const spkiDer = Uint8Array.from(der.subarray(spki.start, spki.end));
  const publicKeyBits = subjectPublicKeyBits(spkiDer);

  let keyId: Uint8Array | undefined;
  const ski = extensions.get(OID.subjectKeyIdentifier);
  if (ski) {
    // SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING
    const kid = expectTlv(der, ski.valueStart, TAG.OCTET_STRING, ski.end, 'subjectKeyIdentifier');
    keyId = Uint8Array.from(der.subarray(kid.valueStart, kid.end));
  }
  let isCa = false;
  let pathLen: number | undefined;
  const bcValue = extensions.get(OID.basicConstraints);
  if (bcValue) {
    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
    const bc = expectTlv(der, bcValue.valueStart, TAG.SEQUENCE, bcValue.end, 'basicConstraints');
    const fields = readChildren(der, bc);
    const first = fields[0];
    isCa = first !== undefined && first.tag === TAG.BOOLEAN && der[first.valueStart] !== 0;
    const len = fields.find((t) => t.tag === TAG.INTEGER);
    if (len) pathLen = Number.parseInt(Buffer.from(unsignedIntegerValue(der, len, 'pathLenConstraint')).toString('hex') || '0', 16);
  }
  keyId ??= keyIdentifier(publicKeyBits);
  return {
    der,
    subjectDer: Uint8Array.from(der.subarray(subject.start, subject.end)),
    spkiDer,
    publicKeyBits,
    keyIdentifier: keyId,
    keyFamily: keyFamilyOf(spkiDer),
    isCa,
    ...(pathLen !== undefined ? { pathLen } : {}),
    akiExtDer: authorityKeyIdentifierExtension(keyId),
  };
}

/**
 * The signature AlgorithmIdentifier for a signing algorithm, after checking that it fits the issuer's
 * key (CaError signing_algorithm_mismatch) and that the issuer is a CA. RFC 5758 3.2: ECDSA
 * AlgorithmIdentifiers omit the parameters; RFC 4055 5: RSA PKCS#1 v1.5 carries NULL.
 */
export function signatureAlgorithmFor(issuer: IssuerCertificate, signingAlgorithm: SigningAlgorithm): Uint8Array {
  const info = SIGNING_ALGORITHM_INFO[signingAlgorithm];
  if (!info) throw new Error(`unknown signing algorithm ${String(signingAlgorithm)}`);
  if (issuer.keyFamily !== info.family) {
    throw invalid('signing_algorithm_mismatch', `signing algorithm ${signingAlgorithm} does not fit the CA's ${issuer.keyFamily} key`);
  }
  if (!issuer.isCa) throw new Error('the issuer certificate is not a CA certificate (basicConstraints cA is not TRUE)');
  return info.family === 'EC' ? sequence(oid(info.oid)) : sequence(oid(info.oid), nullDer());
}

