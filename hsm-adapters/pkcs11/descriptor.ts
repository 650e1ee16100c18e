import path from 'node:path';
import type { KeyStoreDescriptor } from '../../src/ports/key-store.ts';
import { Pkcs11KeyStore, pinReader } from './pkcs11-key-store.ts';

/** PRIVATECA_PKCS11_*: the module, the token by label or serial, and the PIN from the environment or a file. */
export interface Pkcs11KeyStoreConfig {
  module: string;
  tokenLabel?: string;
  tokenSerial?: string;
  /** Never logged or stored. */
  pin?: string;
  pinFile?: string;
  sessions: number;
  syncSign: boolean;
}

const SETTINGS = ['PRIVATECA_PKCS11_TOKEN_LABEL', 'PRIVATECA_PKCS11_TOKEN_SERIAL', 'PRIVATECA_PKCS11_PIN', 'PRIVATECA_PKCS11_PIN_FILE', 'PRIVATECA_PKCS11_SESSIONS', 'PRIVATECA_PKCS11_SIGN'];

/** Keys on a PKCS#11 token (an HSM), configured by PRIVATECA_PKCS11_MODULE. */
export const pkcs11KeyStore: KeyStoreDescriptor<Pkcs11KeyStoreConfig> = {
  type: 'pkcs11',
  scheme: 'pkcs11',
  readConfig(env) {
    const module = env.PRIVATECA_PKCS11_MODULE || undefined;
    if (!module) {
      const stray = SETTINGS.find((n) => env[n]);
      if (stray) throw new Error(`${stray} needs PRIVATECA_PKCS11_MODULE (the path of the PKCS#11 library)`);
      return undefined;
    }
    if (!path.isAbsolute(module)) throw new Error('PRIVATECA_PKCS11_MODULE must be an absolute path to the PKCS#11 library (.so)');
    const tokenLabel = env.PRIVATECA_PKCS11_TOKEN_LABEL || undefined;
    const tokenSerial = env.PRIVATECA_PKCS11_TOKEN_SERIAL || undefined;
    if (!tokenLabel && !tokenSerial) throw new Error('PRIVATECA_PKCS11_MODULE needs PRIVATECA_PKCS11_TOKEN_LABEL or PRIVATECA_PKCS11_TOKEN_SERIAL');
    const pin = env.PRIVATECA_PKCS11_PIN || undefined;
    const pinFile = env.PRIVATECA_PKCS11_PIN_FILE ? path.resolve(env.PRIVATECA_PKCS11_PIN_FILE) : undefined;
    if (!pin === !pinFile) throw new Error('PRIVATECA_PKCS11_MODULE needs exactly one of PRIVATECA_PKCS11_PIN and PRIVATECA_PKCS11_PIN_FILE');
    const sign = env.PRIVATECA_PKCS11_SIGN || 'async';
    if (sign !== 'async' && sign !== 'sync') throw new Error('PRIVATECA_PKCS11_SIGN must be async or sync');
    const sessions = env.PRIVATECA_PKCS11_SESSIONS || '8';
    if (!/^[0-9]{1,3}$/.test(sessions) || Number(sessions) < 1 || Number(sessions) > 256) {
      throw new Error(`PRIVATECA_PKCS11_SESSIONS must be an integer from 1 to 256, not "${sessions}"`);
    }
    return { module, tokenLabel, tokenSerial, pin, pinFile, sessions: Number(sessions), syncSign: sign === 'sync' };
  },
  async create(c) {
    return new Pkcs11KeyStore({
      modulePath: c.module,
      tokenLabel: c.tokenLabel,
      tokenSerial: c.tokenSerial,
      maxSessions: c.sessions,
      syncSign: c.syncSign,
      readPin: pinReader(c),
    });
  },
};
