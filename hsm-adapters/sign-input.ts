import { createHash } from 'node:crypto';
import type { SignInput } from '../src/ports/key-store.ts';

/** The pieces of a SignInput, in order. */
export const pieces = (data: SignInput): readonly Uint8Array[] => (data instanceof Uint8Array ? [data] : data);

/** The digest of the concatenation of the pieces, without joining them. */
export function digestOf(nodeHash: string, data: SignInput): Buffer {
  const h = createHash(nodeHash);
  for (const p of pieces(data)) h.update(p);
  return h.digest();
}
