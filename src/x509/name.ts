/**
 * X.501 Names (RFC 5280 4.1.2.4) as the service shows them: RFC 4514 strings in the order
 * `openssl -nameopt RFC2253` prints, the first commonName decoded, and the fields of a CA subject.
 */
import { TAG, expectTlv, readChildren, readOid, readTlv, type Tlv } from './der.ts';
import { OID } from './oids.ts';
import type { CaSubject } from '../domain/ca.ts';

/** RFC 4514 3 short names, plus the two PKCS#9/RFC 4519 names openssl prints. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  [OID.commonName]: 'CN',
  [OID.organizationName]: 'O',
  [OID.organizationalUnitName]: 'OU',
  [OID.countryName]: 'C',
  [OID.stateOrProvinceName]: 'ST',
  [OID.localityName]: 'L',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  [OID.serialNumber]: 'serialNumber',
  [OID.emailAddress]: 'emailAddress',
};

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const UTF16LE = new TextDecoder('utf-16le', { fatal: true });

/** Decodes a directory string value, or returns undefined for a value that is not a string type. */
function decodeDirectoryString(buf: Uint8Array, t: Tlv): string | undefined {
  const v = buf.subarray(t.valueStart, t.end);
  switch (t.tag) {
    case TAG.UTF8_STRING:
      return UTF8.decode(v);
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.NUMERIC_STRING:
    case TAG.VISIBLE_STRING:
      for (let i = 0; i < v.length; i++) if (v[i] > 0x7f) throw new Error('non-ASCII octet in an ASCII string type');
      return Buffer.from(v.buffer, v.byteOffset, v.length).toString('latin1');
    case TAG.TELETEX_STRING:
      // T.61 in practice carries Latin-1; every major toolkit decodes it that way.
      return Buffer.from(v.buffer, v.byteOffset, v.length).toString('latin1');
    case TAG.BMP_STRING: {
      if (v.length % 2 !== 0) throw new Error('BMPString with an odd length');
      const swapped = Buffer.from(v);
      swapped.swap16();
      return UTF16LE.decode(swapped);
    }
    case TAG.UNIVERSAL_STRING: {
      if (v.length % 4 !== 0) throw new Error('UniversalString length is not a multiple of 4');
      let s = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i] << 24) | (v[i + 1] << 16) | (v[i + 2] << 8) | v[i + 3]) >>> 0;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error('invalid character in UniversalString');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return undefined;
  }
}

/**
 * RFC 4514 2.4 escaping: the special characters with a backslash, a leading space or '#' and a
 * trailing space, and control characters (including NUL) as \XX hex pairs, as openssl does.
 */
function escapeRfc4514(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const code = s.charCodeAt(i);
    if (c === '"' || c === '+' || c === ',' || c === ';' || c === '<' || c === '>' || c === '\\') {
      out += `\\${c}`;
    } else if (code < 0x20 || code === 0x7f) {
      out += `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
    } else if ((i === 0 && (c === ' ' || c === '#')) || (i === s.length - 1 && c === ' ')) {
      out += `\\${c}`;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Renders a Name as an RFC 4514 string, last RDN first (as `openssl -nameopt RFC2253` prints it).
 * Attribute types outside the short-name table, and values that are not strings, are rendered as
 * dotted OID and `#` followed by the hex of the value's whole DER (RFC 4514 2.3, 2.4).
 */
export function nameToString(nameDer: Uint8Array): string {
  const t = expectTlv(nameDer, 0, TAG.SEQUENCE, nameDer.length, 'Name');
  if (t.end !== nameDer.length) throw new Error('Name: trailing bytes');
  return describeName(nameDer, t).subject;
}

/** One AttributeTypeAndValue of a Name: its type, its value's TLV, and the value as text when it is a string. */
interface Attribute {
  oid: string;
  value: Tlv;
  text?: string;
}

/** The Name's RDNs in DER order (the most general first), each its attributes. */
function readRdns(buf: Uint8Array, name: Tlv): Attribute[][] {
  // Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
  return readChildren(buf, name).map((rdn) => {
    if (rdn.tag !== TAG.SET) throw new Error('Name: expected a SET for each RDN');
    const avas = readChildren(buf, rdn);
    if (avas.length === 0) throw new Error('Name: empty RDN');
    return avas.map((ava) => {
      if (ava.tag !== TAG.SEQUENCE) throw new Error('Name: expected AttributeTypeAndValue SEQUENCE');
      const { oid, tlv: typeTlv } = readOid(buf, ava.valueStart, ava.end, 'attribute type');
      const value = readTlv(buf, typeTlv.end, ava.end);
      if (value.end !== ava.end) throw new Error('Name: trailing bytes in AttributeTypeAndValue');
      const text = decodeDirectoryString(buf, value);
      return text === undefined ? { oid, value } : { oid, value, text };
    });
  });
}

/** The Name at `name` in `buf` as an RFC 4514 string, and its first commonName in DER order. */
export function describeName(buf: Uint8Array, name: Tlv): { subject: string; commonName?: string } {
  const rdns: string[] = [];
  let commonName: string | undefined;
  for (const avas of readRdns(buf, name)) {
    const parts: string[] = [];
    for (const { oid, value, text } of avas) {
      const short = ATTRIBUTE_NAMES[oid];
      if (oid === OID.commonName && commonName === undefined && text !== undefined) commonName = text;
      if (short && text !== undefined) {
        parts.push(`${short}=${escapeRfc4514(text)}`);
      } else {
        const hex = Buffer.from(buf.buffer, buf.byteOffset + value.start, value.end - value.start).toString('hex').toUpperCase();
        parts.push(`${short ?? oid}=#${hex}`);
      }
    }
    // openssl reverses the attributes inside a multi-valued RDN as well; RFC 4514 2.2 leaves their
    // order open, so we follow openssl to keep the two strings comparable.
    rdns.push(parts.reverse().join('+'));
  }
  return { subject: rdns.reverse().join(','), ...(commonName !== undefined ? { commonName } : {}) };
}

/** The attributes a CA's subject names (CaSubject, what caName encodes), by type. */
const SUBJECT_FIELDS: [string, keyof CaSubject][] = [
  [OID.commonName, 'commonName'],
  [OID.organizationName, 'organization'],
  [OID.organizationalUnitName, 'organizationalUnit'],
  [OID.countryName, 'country'],
  [OID.stateOrProvinceName, 'state'],
  [OID.localityName, 'locality'],
  [OID.serialNumber, 'serialNumber'],
  [OID.emailAddress, 'emailAddress'],
];

/**
 * The Name at `name` in `buf` as a CA's subject is shown (`{ commonName, organization, … }`): the
 * first value of each of those attributes in DER order. Other attributes (DC, UID, STREET…) and
 * values that are not strings are left out; commonName too when the Name has none.
 */
export function nameFields(buf: Uint8Array, name: Tlv): Partial<CaSubject> {
  const found = new Map<string, string>();
  for (const avas of readRdns(buf, name)) {
    for (const { oid, text } of avas) if (text !== undefined && !found.has(oid)) found.set(oid, text);
  }
  const out: Partial<CaSubject> = {};
  for (const [oid, field] of SUBJECT_FIELDS) {
    const v = found.get(oid);
    if (v !== undefined) out[field] = v;
  }
  return out;
}
