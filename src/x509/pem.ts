/** One PEM block: its label and its DER bytes. */
export interface PemBlock {
  label: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Strict PEM (RFC 7468): blocks with matching BEGIN/END labels and base64 bodies; anything else
 * between blocks, other than white space, makes the input invalid. Returns null when it is not PEM.
 */
export function parsePem(text: string): PemBlock[] | null {
  const blocks: PemBlock[] = [];
  let last = 0;
  for (const m of text.matchAll(BLOCK)) {
    if (text.slice(last, m.index).trim() !== '') return null;
    last = m.index + m[0].length;
    const lines = m[2]!.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    if (lines.length === 0 || !lines.every((l) => BASE64_LINE.test(l))) return null;
    const b64 = lines.join('');
    if (b64.length % 4 !== 0) return null;
    const der = Buffer.from(b64, 'base64');
    if (der.length === 0) return null;
    blocks.push({ label: m[1]!, der });
  }
  if (text.slice(last).trim() !== '') return null;
  return blocks;
}

export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + `-----END ${label}-----\n`;
}

export const certificatePem = (der: Uint8Array) => toPem(der, 'CERTIFICATE');
