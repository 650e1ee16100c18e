import { randomBytes } from 'node:crypto';
import { invalid } from './ca-error.ts';

/**
 * A new serial: 16 bytes (128 bits) from the CSPRNG. The first byte is drawn again while it is zero so
 * that the magnitude is always 16 octets (32 hex digits) and its DER encoding minimal; DER adds a 00
 * octet when the high bit is set, giving at most 17 octets, within RFC 5280's 20.
 */
export function newSerial(): Buffer {
  const b = randomBytes(16);
  while (b[0] === 0) b[0] = randomBytes(1)[0]!;
  return b;
}

export const serialHex = (magnitude: Uint8Array): string => Buffer.from(magnitude).toString('hex');

/**
 * Parses a serial from a URL or body: hex, upper or lower case, optionally colon-separated octets;
 * returns the canonical lowercase hex without leading zero octets.
 */
export function parseSerial(input: string): string {
  const compact = input.includes(':') ? parseColon(input) : input;
  if (!/^[0-9a-fA-F]{2,40}$/.test(compact) || compact.length % 2 !== 0) {
    throw invalid('invalid_serial', 'a serial is hex, two digits per octet, at most 20 octets');
  }
  let hex = compact.toLowerCase();
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex;
}

function parseColon(input: string): string {
  const parts = input.split(':');
  if (parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw invalid('invalid_serial', 'a colon-separated serial has two hex digits per octet');
  }
  return parts.join('');
}
