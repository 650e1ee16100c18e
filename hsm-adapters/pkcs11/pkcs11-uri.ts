import { invalid } from '../../src/domain/ca-error.ts';

/** The parts of an RFC 7512 PKCS#11 URI that name one private key on one token. */
export interface Pkcs11KeyRef {
  token?: string;
  serial?: string;
  /** CKA_ID. */
  id?: Buffer;
  /** CKA_LABEL. */
  object?: string;
}

const PATH_ATTRS = new Set(['token', 'serial', 'manufacturer', 'model', 'id', 'object', 'type', 'library-manufacturer', 'library-description', 'library-version', 'slot-manufacturer', 'slot-description', 'slot-id']);
// pk11-pchar of RFC 7512 section 2.3: unreserved and a few sub-delimiters stay as they are.
const PLAIN = /[A-Za-z0-9\-._~:[\]@!$'()*+,=]/;

const encode = (bytes: Buffer, all = false): string =>
  [...bytes].map((b) => (!all && PLAIN.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('');

function decode(uri: string, name: string, value: string): Buffer {
  if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(value)) throw bad(uri, `attribute ${name} has a malformed %-escape`);
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '%') {
      out.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(...Buffer.from(value[i]!, 'utf8'));
  }
  return Buffer.from(out);
}

const bad = (uri: string, why: string) => invalid('invalid_key_uri', `"${uri.slice(0, 200)}" is not a usable PKCS#11 key URI: ${why}`);

/**
 * Parses `pkcs11:token=…;id=%01%02;object=…;type=private`. PINs are refused: they belong in the
 * service's configuration, never in a URI that is stored with the CA.
 */
export function parsePkcs11Uri(uri: string): Pkcs11KeyRef {
  if (!uri.startsWith('pkcs11:')) throw bad(uri, 'it does not start with "pkcs11:"');
  const [path = '', query] = uri.slice('pkcs11:'.length).split('?', 2) as [string, string | undefined];
  const ref: Pkcs11KeyRef = {};
  const seen = new Set<string>();
  for (const part of path ? path.split(';') : []) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(uri, `"${part}" is not name=value`);
    const name = part.slice(0, eq);
    const value = decode(uri, name, part.slice(eq + 1));
    if (seen.has(name)) throw bad(uri, `attribute ${name} appears twice`);
    seen.add(name);
    if (!PATH_ATTRS.has(name) && !name.startsWith('x-')) throw bad(uri, `unknown attribute ${name}`);
    if (name === 'token') ref.token = value.toString('utf8');
    else if (name === 'serial') ref.serial = value.toString('utf8');
    else if (name === 'id') ref.id = value;
    else if (name === 'object') ref.object = value.toString('utf8');
    else if (name === 'type' && value.toString() !== 'private') throw bad(uri, 'type must be private: the CA signs with a private key');
  }
  for (const q of query ? query.split('&') : []) {
    const name = q.slice(0, q.indexOf('=') >>> 0);
    if (name === 'pin-value' || name === 'pin-source') throw bad(uri, 'PINs are not accepted in key URIs; configure PRIVATECA_PKCS11_PIN_FILE instead');
  }
  if (!ref.id && ref.object === undefined) throw bad(uri, 'it names no key: give id=… or object=…');
  return ref;
}

/** The URI of a key this service generated: the token by label, the key by CKA_ID and CKA_LABEL. */
export function formatPkcs11Uri(ref: Pkcs11KeyRef): string {
  const parts: string[] = [];
  if (ref.token !== undefined) parts.push(`token=${encode(Buffer.from(ref.token))}`);
  if (ref.serial !== undefined) parts.push(`serial=${encode(Buffer.from(ref.serial))}`);
  if (ref.id) parts.push(`id=${encode(ref.id, true)}`);
  if (ref.object !== undefined) parts.push(`object=${encode(Buffer.from(ref.object))}`);
  parts.push('type=private');
  return `pkcs11:${parts.join(';')}`;
}
