import path from 'node:path';
import type { KeyStoreDescriptor } from '../../src/ports/key-store.ts';
import { loadKek } from './kek.ts';
import { SoftwareKeyStore } from './software-key-store.ts';

/** PRIVATECA_KEK (base64, takes precedence) or PRIVATECA_KEK_FILE (default `<data dir>/kek`). */
export interface SoftwareKeyStoreConfig {
  /** Never logged. */
  kek?: string;
  kekFile: string;
}

/** Keys generated in this process, sealed under a key-encryption key from outside the database. Always configured. */
export const softwareKeyStore: KeyStoreDescriptor<SoftwareKeyStoreConfig> = {
  type: 'software',
  scheme: 'software',
  readConfig(env, { dataDir }) {
    const kek = env.PRIVATECA_KEK || undefined;
    if (kek !== undefined && Buffer.from(kek, 'base64').length !== 32) throw new Error('PRIVATECA_KEK must be 32 bytes in base64 (44 characters)');
    return { kek, kekFile: path.resolve(env.PRIVATECA_KEK_FILE || path.join(dataDir, 'kek')) };
  },
  async check(config) {
    await loadKek({ env: config.kek, file: config.kekFile });
  },
  async create(config, { softwareKeys, clock }) {
    return new SoftwareKeyStore({ kek: await loadKek({ env: config.kek, file: config.kekFile }), keys: softwareKeys, clock });
  },
};
