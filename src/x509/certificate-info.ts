import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPublicKey } from 'node:crypto';
import { invalid } from '../domain/ca-error.ts';
import { parsePem } from './pem.ts';
import { webcrypto } from './signer-bridge.ts';

/** What the services need to know of a certificate someone gave us (an imported CA certificate, a chain). */
export interface CertificateInfo {
  der: Buffer;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  pathLen?: number;
  /** keyUsage has keyCertSign (false when keyUsage is absent: we require it for CAs). */
  keyCertSign: boolean;
  spkiDer: Buffer;
  cert: x509.X509Certificate;
}

function info(der: Buffer): CertificateInfo {
  const cert = new x509.X509Certificate(new Uint8Array(der));
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  return {
    der,
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber.toLowerCase().replace(/^(00)+(?=..)/, ''),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: bc?.ca === true,
    pathLen: bc?.pathLength,
    keyCertSign: ku ? (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0 : false,
    spkiDer: Buffer.from(cert.publicKey.rawData),
    cert,
  };
}

/**
 * Parses one or more PEM certificates. An empty string is an empty list; anything that is not PEM
 * CERTIFICATE blocks holding valid X.509 is refused with `code`.
 */
export function parseCertificates(text: string, code: string, what: string): CertificateInfo[] {
  if (text.trim() === '') return [];
  const blocks = parsePem(text);
  if (!blocks || blocks.length === 0) throw invalid(code, `${what} is not PEM`);
  return blocks.map((b, i) => {
    if (b.label !== 'CERTIFICATE') throw invalid(code, `${what}: block ${i + 1} is "${b.label}", not CERTIFICATE`);
    try {
      return info(b.der);
    } catch {
      throw invalid(code, `${what}: block ${i + 1} is not a valid X.509 certificate`);
    }
  });
}

export const certificateFromDer = (der: Buffer): CertificateInfo => info(der);

/** True when `child`'s signature verifies under `parent`'s public key and the names chain. */
export async function isSignedBy(child: CertificateInfo, parent: CertificateInfo): Promise<boolean> {
  if (child.issuer !== parent.subject) return false;
  try {
    return await child.cert.verify({ publicKey: parent.cert.publicKey, signatureOnly: true }, webcrypto);
  } catch {
    return false;
  }
}

/** Compares two public keys by value, whatever their encoding (an EC point compressed or not). */
export function samePublicKey(a: Uint8Array, b: Uint8Array): boolean {
  try {
    const ka = createPublicKey({ key: Buffer.from(a), format: 'der', type: 'spki' });
    const kb = createPublicKey({ key: Buffer.from(b), format: 'der', type: 'spki' });
    return ka.equals(kb);
  } catch {
    return false;
  }
}
