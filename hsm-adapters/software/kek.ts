import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The key-encryption key of the software key store, and a fingerprint that names it. */
export interface Kek {
  key: Buffer;
  id: string;
}

const fingerprint = (key: Buffer) =>
  createHash('sha256').update('privateca-kek-id\0').update(key).digest('hex').slice(0, 16);

function decode(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== 32 || key.toString('base64') !== trimmed) {
    throw new Error(`${where} must hold 32 bytes in base64 (44 characters)`);
  }
  return key;
}

/**
 * Reads the KEK from PRIVATECA_KEK (base64) or from a file, creating the file with mode 0600 and a
 * fresh random key when it does not exist. A file that others can read is refused: it guards every
 * software CA key.
 */
export async function loadKek(options: { env?: string; file: string }): Promise<Kek> {
  if (options.env) {
    const key = decode(options.env, 'PRIVATECA_KEK');
    return { key, id: fingerprint(key) };
  }
  await mkdir(path.dirname(options.file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(options.file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = await stat(options.file);
  if ((st.mode & 0o077) !== 0) {
    throw new Error(`key-encryption key file ${options.file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const key = decode(await readFile(options.file, 'utf8'), `key-encryption key file ${options.file}`);
  return { key, id: fingerprint(key) };
}
