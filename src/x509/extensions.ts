/**
 * Extension encoders shared by certificates and CRLs (RFC 5280 4.2, 5.2): each written once here.
 */
import type { KeyUsageName } from '../domain/template.ts';
import { bitString, boolean, nullDer, octetString, oid, sequence, tlv } from './der.ts';
import { uriGeneralName } from './general-name.ts';
import { OID } from './oids.ts';

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 4.1). */
export function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  // DER omits a BOOLEAN equal to its DEFAULT (X.690 11.5), so non-critical has no critical field.
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/** Bit numbers of KeyUsage (RFC 5280 4.2.1.3). */
const KEY_USAGE_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};

/**
 * KeyUsage as a DER named-bit BIT STRING: trailing zero bits are removed and the unused-bits octet
 * says how many padding bits the last octet has (X.690 11.2.2). Bit 0 is the most significant bit.
 */
export function keyUsageBitString(usages: readonly KeyUsageName[]): Uint8Array {
  if (usages.length === 0) throw new Error('keyUsage needs at least one bit (RFC 5280 4.2.1.3)');
  let highest = 0;
  const bits = new Set<number>();
  for (const u of usages) {
    const b = KEY_USAGE_BITS[u];
    if (b === undefined) throw new Error(`unknown key usage ${String(u)}`);
    bits.add(b);
    if (b > highest) highest = b;
  }
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const b of bits) bytes[b >> 3] |= 0x80 >> (b & 7);
  return bitString(bytes, bytes.length * 8 - (highest + 1));
}

/**
 * `distributionPoint [0] DistributionPointName` naming one URI, as both cRLDistributionPoints and
 * issuingDistributionPoint carry it: DistributionPointName ::= CHOICE { fullName [0] GeneralNames, … }.
 * The outer [0] tags a CHOICE and is therefore EXPLICIT (X.680 31.2.7); fullName [0] is IMPLICIT over
 * GeneralNames (a SEQUENCE), hence constructed.
 */
const distributionPointName = (url: string): Uint8Array => tlv(0xa0, tlv(0xa0, uriGeneralName(url)));

/** cRLDistributionPoints (RFC 5280 4.2.1.13) with one DistributionPoint naming `url`; non-critical. */
export const crlDistributionPointsExtension = (url: string): Uint8Array =>
  extension(OID.crlDistributionPoints, false, sequence(sequence(distributionPointName(url))));

/** issuingDistributionPoint (RFC 5280 5.2.5) naming `url`, critical, as a partition's CRL carries it. */
export const issuingDistributionPointExtension = (url: string): Uint8Array =>
  extension(OID.issuingDistributionPoint, true, sequence(distributionPointName(url)));

/** authorityKeyIdentifier (RFC 5280 4.2.1.1) with the keyIdentifier only, non-critical. */
export const authorityKeyIdentifierExtension = (keyId: Uint8Array): Uint8Array =>
  extension(OID.authorityKeyIdentifier, false, sequence(tlv(0x80, keyId)));

/** id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): extnValue NULL, non-critical. */
export const ocspNoCheckExtension = (): Uint8Array => extension(OID.ocspNoCheck, false, nullDer());

/** Where a certificate's issuer answers OCSP and serves its own certificate. */
export interface AuthorityInfoAccess {
  ocsp?: string;
  caIssuers?: string;
}

/**
 * authorityInfoAccess (RFC 5280 4.2.2.1), non-critical: AuthorityInfoAccessSyntax ::= SEQUENCE OF
 * AccessDescription { accessMethod OID, accessLocation GeneralName }, the OCSP responder first.
 * Empty when it names nothing.
 */
export function authorityInfoAccessExtension(aia: AuthorityInfoAccess): Uint8Array {
  const descriptions: Uint8Array[] = [];
  if (aia.ocsp) descriptions.push(sequence(oid(OID.ocsp), uriGeneralName(aia.ocsp)));
  if (aia.caIssuers) descriptions.push(sequence(oid(OID.caIssuers), uriGeneralName(aia.caIssuers)));
  return descriptions.length ? extension(OID.authorityInfoAccess, false, sequence(...descriptions)) : new Uint8Array(0);
}
