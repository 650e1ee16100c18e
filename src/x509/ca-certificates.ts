import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { CaSubject } from '../domain/ca.ts';
import type { SigningAlgorithm } from '../domain/key-algorithm.ts';
import type { Signer } from '../ports/key-store.ts';
import { bridge, webAlgorithm, webcrypto } from './signer-bridge.ts';

/*
 * CA certificates and CA CSRs are made rarely, so they use @peculiar/x509's generic builders; only
 * leaf issuance has a hand-written encoder (leaf-encoder.ts).
 */

/** The distinguished name of a CA, from the most general attribute to the most specific. */
export function caName(s: CaSubject): x509.Name {
  const attrs: x509.JsonNameParams = [];
  const add = (type: string, value: string | undefined, kind: 'printableString' | 'utf8String' | 'ia5String') => {
    if (value !== undefined) attrs.push({ [type]: [{ [kind]: value }] });
  };
  add('C', s.country, 'printableString');
  add('ST', s.state, 'utf8String');
  add('L', s.locality, 'utf8String');
  add('O', s.organization, 'utf8String');
  add('OU', s.organizationalUnit, 'utf8String');
  add('CN', s.commonName, 'utf8String');
  add('2.5.4.5', s.serialNumber, 'printableString');
  add('1.2.840.113549.1.9.1', s.emailAddress, 'ia5String');
  return new x509.Name(attrs);
}

async function publicKeyOf(signer: Signer): Promise<x509.PublicKey> {
  return new x509.PublicKey(new Uint8Array(signer.publicKeySpki));
}

const CA_KEY_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature;

/** A self-signed root CA certificate: critical basicConstraints cA, critical keyUsage, SKI and AKI. */
export async function createRootCertificate(options: {
  signer: Signer;
  signingAlgorithm: SigningAlgorithm;
  subject: CaSubject;
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
}): Promise<Buffer> {
  const { crypto, key } = bridge(options.signer, options.signingAlgorithm);
  const publicKey = await publicKeyOf(options.signer);
  const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey, false, webcrypto);
  const name = caName(options.subject);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: Buffer.from(options.serial).toString('hex'),
      subject: name,
      issuer: name,
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      publicKey,
      signingKey: key,
      signingAlgorithm: webAlgorithm(options.signer, options.signingAlgorithm),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
        ski,
        new x509.AuthorityKeyIdentifierExtension(ski.keyId),
      ],
    },
    crypto,
  );
  return Buffer.from(cert.rawData);
}

/** A subordinate CA's CSR, signed by its own key, asking for the CA extensions. */
export async function createCaCsr(options: { signer: Signer; signingAlgorithm: SigningAlgorithm; subject: CaSubject }): Promise<Buffer> {
  const { crypto, key, publicKey: publicCryptoKey } = bridge(options.signer, options.signingAlgorithm);
  const publicKey = await publicKeyOf(options.signer);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: caName(options.subject),
      keys: { privateKey: key, publicKey: publicCryptoKey },
      signingAlgorithm: webAlgorithm(options.signer, options.signingAlgorithm),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, webcrypto),
      ],
    },
    crypto,
  );
  return Buffer.from(csr.rawData);
}

/** The DER Name for a subject given as a CA's is (the OCSP responder's, made from its CA's). */
export const subjectNameDer = (s: CaSubject): Uint8Array => new Uint8Array(caName(s).toArrayBuffer());
