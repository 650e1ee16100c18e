/**
 * A lean walk of a certificate's DER (RFC 5280 4.1) to the fields the service reads back from
 * certificates it issued or imported: no object tree, only offsets.
 */
import { TAG, decodeOid, expectTlv, readChildren, type Tlv } from './der.ts';
import { readGeneralNames, type SubjectAltName } from './general-name.ts';
import { OID } from './oids.ts';

export interface CertificateFields {
  der: Uint8Array;
  serial: Tlv;
  issuer: Tlv;
  subject: Tlv;
  spki: Tlv;
  /** Each extension's extnValue OCTET STRING, by OID. */
  extensions: Map<string, Tlv>;
}

export function readCertificateFields(der: Uint8Array): CertificateFields {
  const cert = expectTlv(der, 0, TAG.SEQUENCE, der.length, 'Certificate');
  if (cert.end !== der.length) throw new Error('certificate: trailing bytes');
  const tbs = expectTlv(der, cert.valueStart, TAG.SEQUENCE, cert.end, 'TBSCertificate');
  const f = readChildren(der, tbs);
  let i = 0;
  if (f[i]?.tag === 0xa0) i++; // version
  const [serial, , issuer, , subject, spki] = f.slice(i);
  if (!serial || serial.tag !== TAG.INTEGER || !issuer || issuer.tag !== TAG.SEQUENCE || !subject || subject.tag !== TAG.SEQUENCE || !spki || spki.tag !== TAG.SEQUENCE) {
    throw new Error('certificate: malformed TBSCertificate');
  }
  const extensions = new Map<string, Tlv>();
  const wrapper = f.slice(i + 6).find((t) => t.tag === 0xa3);
  if (wrapper) {
    const exts = expectTlv(der, wrapper.valueStart, TAG.SEQUENCE, wrapper.end, 'Extensions');
    for (const ext of readChildren(der, exts)) {
      const parts = readChildren(der, ext);
      if (parts.length < 2 || parts[0]!.tag !== TAG.OID) throw new Error('certificate: malformed extension');
      extensions.set(decodeOid(der, parts[0]!.valueStart, parts[0]!.end), parts[parts.length - 1]!);
    }
  }
  return { der, serial, issuer, subject, spki, extensions };
}

/** The subjectAltName entries of a certificate, in order; empty without the extension. */
export function subjectAltNamesOf(der: Uint8Array): SubjectAltName[] {
  const c = readCertificateFields(der);
  const value = c.extensions.get(OID.subjectAltName);
  if (!value) return [];
  return readGeneralNames(der, expectTlv(der, value.valueStart, TAG.SEQUENCE, value.end, 'subjectAltName'));
}

/** The names by kind, as the API names them (keyGeneration.subjectAlternativeNames); kinds without a name are left out. */
export interface SubjectAltNamesByKind {
  dnsNames?: string[];
  ipAddresses?: string[];
  emailAddresses?: string[];
  uris?: string[];
}

const SAN_KEYS = { dns: 'dnsNames', ip: 'ipAddresses', email: 'emailAddresses', uri: 'uris' } as const;

export function subjectAltNamesByKind(sans: readonly SubjectAltName[]): SubjectAltNamesByKind {
  const out: Record<string, string[]> = {};
  for (const san of sans) (out[SAN_KEYS[san.type]] ??= []).push(san.value);
  return out;
}

/** The other way: names by kind (keyGeneration.subjectAlternativeNames) as SANs, DNS names first. */
export function subjectAltNamesFromKinds(byKind: SubjectAltNamesByKind | undefined): SubjectAltName[] {
  return (Object.entries(SAN_KEYS) as [SubjectAltName['type'], keyof SubjectAltNamesByKind][]).flatMap(([type, key]) => (byKind?.[key] ?? []).map((value) => ({ type, value })));
}
