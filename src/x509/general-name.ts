/**
 * GeneralNames (RFC 5280 4.2.1.6): the four forms the service issues (DNS, IP, email, URI), their
 * syntax rules (the one DNS-name rule of the service), IP address text forms, and the DER of
 * GeneralNames for subjectAltName, distribution points and access descriptions.
 */
import { isIP } from 'node:net';
import { invalid } from '../domain/ca-error.ts';
import { readChildren, sequence, tlv, type Tlv } from './der.ts';

export type SubjectAltNameType = 'dns' | 'ip' | 'email' | 'uri';

/** One subject alternative name in the four forms we issue; IP addresses in text form. */
export interface SubjectAltName {
  type: SubjectAltNameType;
  value: string;
}

/** A name as OpenSSL prints it: "DNS:a.example", "IP Address:10.0.0.1", "email:…", "URI:…" (audit events and reports). */
export const sanText = (san: SubjectAltName): string => `${SAN_TEXT_PREFIX[san.type]}:${san.value}`;
const SAN_TEXT_PREFIX: Record<SubjectAltNameType, string> = { dns: 'DNS', ip: 'IP Address', email: 'email', uri: 'URI' };

/** GeneralName tags (context-specific, IMPLICIT): rfc822Name [1], dNSName [2], uniformResourceIdentifier [6], iPAddress [7]. */
export const GENERAL_NAME_TAG = { email: 0x81, dns: 0x82, uri: 0x86, ip: 0x87 } as const;

const GENERAL_NAME_TYPES: Record<number, string> = {
  0xa0: 'otherName',
  0xa1: 'rfc822Name',
  0xa2: 'dNSName',
  0xa3: 'x400Address',
  0xa4: 'directoryName',
  0xa5: 'ediPartyName',
  0xa6: 'uniformResourceIdentifier',
  0xa7: 'iPAddress',
  0x80: 'otherName',
  0x83: 'x400Address',
  0x84: 'directoryName',
  0x85: 'ediPartyName',
  0x88: 'registeredID',
  0xa8: 'registeredID',
};

/**
 * Reads a GeneralNames SEQUENCE, accepting only rfc822Name, dNSName, uniformResourceIdentifier and
 * iPAddress, each checked for syntax (CaError unsupported_san otherwise). DER structure errors are
 * thrown as plain Errors for the caller to wrap.
 */
export function readGeneralNames(buf: Uint8Array, seq: Tlv): SubjectAltName[] {
  const names: SubjectAltName[] = [];
  const items = readChildren(buf, seq);
  // GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName
  if (items.length === 0) throw invalid('unsupported_san', 'the subjectAltName extension is empty');
  for (const gn of items) {
    const v = buf.subarray(gn.valueStart, gn.end);
    switch (gn.tag) {
      case GENERAL_NAME_TAG.email:
        names.push(checkSubjectAltName({ type: 'email', value: ia5(v, 'rfc822Name') }));
        break;
      case GENERAL_NAME_TAG.dns:
        names.push(checkSubjectAltName({ type: 'dns', value: ia5(v, 'dNSName') }));
        break;
      case GENERAL_NAME_TAG.uri:
        names.push(checkSubjectAltName({ type: 'uri', value: ia5(v, 'uniformResourceIdentifier') }));
        break;
      case GENERAL_NAME_TAG.ip:
        if (v.length !== 4 && v.length !== 16) {
          throw invalid('unsupported_san', `iPAddress SAN must have 4 or 16 octets, not ${v.length}`);
        }
        names.push({ type: 'ip', value: formatIpAddress(v) });
        break;
      default: {
        const name = GENERAL_NAME_TYPES[gn.tag] ?? `[tag 0x${gn.tag.toString(16)}]`;
        throw invalid('unsupported_san', `${name} SANs are not supported; use DNS, IP, email or URI names`);
      }
    }
  }
  return names;
}

function ia5(v: Uint8Array, what: string): string {
  for (let i = 0; i < v.length; i++) {
    if (v[i] > 0x7f) throw invalid('unsupported_san', `${what} SAN contains a character outside IA5String`);
  }
  return Buffer.from(v.buffer, v.byteOffset, v.length).toString('latin1');
}

const DNS_LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
// RFC 3986 section 3.1 scheme, then any visible ASCII except the characters RFC 3986 never allows.
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20\x7f-\uffff"<>\\^`{|}]+$/;

/**
 * A dNSName in the preferred name syntax (RFC 5280 4.2.1.6 -> RFC 1034 3.5, as relaxed by RFC 1123
 * 2.1), at most 253 characters; `*` is allowed only as the whole leftmost label.
 */
export function isDnsName(name: string, allowWildcard = true): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (i === 0 && label === '*' && allowWildcard && labels.length > 1) continue;
    if (!DNS_LABEL_RE.test(label)) return false;
  }
  return true;
}

/**
 * Checks one SAN value's syntax; throws CaError unsupported_san with the reason. Returns it unchanged
 * (IP addresses are checked and kept in the caller's text form).
 */
export function checkSubjectAltName(san: SubjectAltName): SubjectAltName {
  // Built only on failure: this runs for every SAN of every request.
  const shown = () => JSON.stringify(san.value.length > 256 ? `${san.value.slice(0, 256)}…` : san.value);
  switch (san.type) {
    case 'dns':
      if (!isDnsName(san.value)) throw invalid('unsupported_san', `DNS SAN ${shown()} is not a valid DNS name`);
      return san;
    case 'email': {
      // RFC 5280 4.2.1.6: an addr-spec (RFC 5321 Mailbox); we take local-part@domain with a
      // dot-atom-like local part and a DNS domain. Quoted local parts are not supported.
      const at = san.value.lastIndexOf('@');
      const local = san.value.slice(0, at);
      const domain = san.value.slice(at + 1);
      if (at <= 0 || local.length > 64 || !/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/.test(local) || !isDnsName(domain, false)) {
        throw invalid('unsupported_san', `email SAN ${shown()} is not a valid address`);
      }
      return san;
    }
    case 'uri':
      // RFC 5280 4.2.1.6: the name MUST NOT be a relative URI; it must have a scheme.
      if (!URI_RE.test(san.value)) throw invalid('unsupported_san', `URI SAN ${shown()} is not an absolute URI`);
      return san;
    case 'ip':
      if (!parseIpAddress(san.value)) throw invalid('unsupported_san', `IP SAN ${shown()} is not an IPv4 or IPv6 address`);
      return san;
    default:
      throw invalid('unsupported_san', `SAN type ${JSON.stringify((san as { type: unknown }).type)} is not supported`);
  }
}

/** Text form of an iPAddress: dotted quad, or RFC 5952 canonical IPv6 (lower case, longest zero run compressed). */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new Error('an IP address has 4 or 16 octets');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

const IPV4_RE = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

/** Parses a textual IPv4 (dotted quad, no leading zeros) or IPv6 address (RFC 4291 2.2) to its octets. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  if (IPV4_RE.test(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!text.includes(':') || text.length > 45) return undefined;
  let head = text;
  let tail4: Uint8Array | undefined;
  // An embedded IPv4 address may form the last 32 bits (RFC 4291 2.2 form 3).
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = text.slice(lastColon + 1);
    if (!IPV4_RE.test(v4)) return undefined;
    tail4 = Uint8Array.from(v4.split('.').map(Number));
    // Keep a "::" just before the IPv4 part; drop a single separating ":".
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const maxGroups = tail4 ? 6 : 8;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  const dbl = head.indexOf('::');
  if (dbl >= 0) {
    if (head.indexOf('::', dbl + 1) >= 0) return undefined;
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right) return undefined;
    // "::" stands for at least one zero group (RFC 4291 2.2 form 2).
    const missing = maxGroups - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== maxGroups) return undefined;
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail4) out.set(tail4, 12);
  return out;
}

/** One GeneralName, checked with the rules above. */
export function encodeGeneralName(n: SubjectAltName): Uint8Array {
  checkSubjectAltName(n);
  if (n.type === 'ip') return tlv(GENERAL_NAME_TAG.ip, parseIpAddress(n.value)!);
  return tlv(GENERAL_NAME_TAG[n.type], Buffer.from(n.value, 'latin1'));
}

/** The uniformResourceIdentifier GeneralName of a URL (distribution points, access locations). */
export const uriGeneralName = (url: string): Uint8Array => encodeGeneralName({ type: 'uri', value: url });

/**
 * GeneralNames DER for a list of names (checked with the same rules as CSR SANs); for the service to
 * turn a CSR's commonName into a DNS SAN when the CSR requested none.
 */
export function encodeSanDer(names: SubjectAltName[]): Uint8Array {
  if (names.length === 0) throw invalid('unsupported_san', 'a subjectAltName needs at least one name');
  return sequence(...names.map(encodeGeneralName));
}

/**
 * Browsers ignore the commonName: a CSR with only a CN that is a DNS name (with at least one dot)
 * or an IP address gets it as a subjectAltName too, as step-ca and cfssl do. Undefined otherwise.
 */
export function sanFromCommonName(cn: string | undefined): SubjectAltName | undefined {
  if (!cn) return undefined;
  if (isIP(cn)) return { type: 'ip', value: cn };
  if (cn.includes('.') && isDnsName(cn)) return { type: 'dns', value: cn.toLowerCase() };
  return undefined;
}
