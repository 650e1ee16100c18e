import { generateKeyPairSync, sign } from 'node:crypto';
import { bitString, integer, oid, sequence, set, tlv, TAG } from '../src/x509/der.ts';

/*
 * Fresh P-256 CSRs for the benchmark, built directly in DER so that making 50,000 of them takes
 * seconds rather than minutes; each has its own new key, a CN and a DNS SAN. The CSR tests check
 * that the service's parser accepts what @peculiar/x509 and openssl make; these are ordinary PKCS#10.
 */
const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const utf8 = (s: string) => tlv(TAG.UTF8_STRING, Buffer.from(s));
const ia5Ctx2 = (s: string) => tlv(0x82, Buffer.from(s));

export function makeCsrPem(host: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const subject = sequence(set(sequence(oid('2.5.4.3'), utf8(host))));
  const san = sequence(oid('2.5.29.17'), tlv(TAG.OCTET_STRING, sequence(ia5Ctx2(host))));
  const extReq = sequence(oid('1.2.840.113549.1.9.14'), set(sequence(san)));
  const cri = sequence(integer(0), subject, spki, tlv(0xa0, extReq));
  const sig = sign('sha256', cri, { key: privateKey, dsaEncoding: 'der' });
  const der = sequence(cri, ECDSA_SHA256, bitString(sig));
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
}
