import { createHash } from 'node:crypto';
import type { SignInput } from '../src/ports/key-store.ts';

/** The pieces of a SignInput, in order, whichever form it has. */
export async function* piecesOf(data: SignInput): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else yield* data;
}

/** The digest of the concatenation of the pieces, without joining them. */
export async function digestOf(nodeHash: string, data: SignInput): Promise<Buffer> {
  const h = createHash(nodeHash);
  for await (const p of piecesOf(data)) h.update(p);
  return h.digest();
}
