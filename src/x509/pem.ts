/**
 * The one PEM codec (RFC 7468). Decoding is strict: blocks with equal BEGIN and END labels, bodies of
 * canonical base64 (RFC 4648 4: padded, no non-zero pad bits) with white space allowed anywhere,
 * nothing but white space between blocks, no explanatory text and no RFC 1421 headers.
 */

/** One PEM block: its label and its DER bytes. */
export interface PemBlock {
  label: string;
  der: Buffer;
}

/** Why a text is not PEM; the message is safe to show. */
export class PemError extends Error {}

// A body holds no '-', so [^-]* stops at the END line; the labels are compared afterwards so that a
// mismatch is reported as such.
const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const WHITESPACE = /\s+/g;

/** Decodes every block of `text`; throws PemError with the reason when it is not strict PEM. */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let last = 0;
  BLOCK.lastIndex = 0;
  for (let m = BLOCK.exec(text); m; m = BLOCK.exec(text)) {
    if (text.slice(last, m.index).trim() !== '') throw new PemError('text outside the PEM blocks');
    last = m.index + m[0].length;
    if (m[1] !== m[3]) throw new PemError('PEM BEGIN and END labels differ');
    const body = m[2]!.replace(WHITESPACE, '');
    if (body.length === 0 || !BASE64.test(body)) throw new PemError('the PEM body is not valid base64');
    const der = Buffer.from(body, 'base64');
    // Node's decoder ignores non-zero pad bits; encoding again catches them.
    if (der.toString('base64') !== body) throw new PemError('the PEM body is not canonical base64');
    blocks.push({ label: m[1]!, der });
  }
  if (text.slice(last).trim() !== '') throw new PemError(blocks.length ? 'text outside the PEM blocks' : 'not PEM');
  if (blocks.length === 0) throw new PemError('not PEM');
  return blocks;
}

/** Like decodePem, but null for anything that is not PEM. */
export function parsePem(text: string): PemBlock[] | null {
  try {
    return decodePem(text);
  } catch (e) {
    if (e instanceof PemError) return null;
    throw e;
  }
}

export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + `-----END ${label}-----\n`;
}

export const certificatePem = (der: Uint8Array): string => toPem(der, 'CERTIFICATE');
export const csrPem = (der: Uint8Array): string => toPem(der, 'CERTIFICATE REQUEST');
/** The label OpenSSL 3 requires for CRLs (`X509 CRL`, RFC 7468 9), not the older `CRL`. */
export const crlPem = (der: Uint8Array): string => toPem(der, 'X509 CRL');
