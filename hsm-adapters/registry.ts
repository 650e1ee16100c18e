import { CaError } from '../src/domain/ca-error.ts';
import type { KeyStore, KeyStoreRegistry } from '../src/ports/key-store.ts';

/** Key URI scheme → key store type. */
const SCHEMES: Record<string, string> = { software: 'software', pkcs11: 'pkcs11', awskms: 'aws-kms' };
export const KEY_STORE_TYPES = ['software', 'pkcs11', 'aws-kms'] as const;

/**
 * Maps key store types and key URI schemes to the configured adapters. A type that is known but not
 * configured on this service is refused with key_store_unavailable, at CA creation rather than later.
 */
export function createKeyStoreRegistry(stores: KeyStore[]): KeyStoreRegistry & { close(): Promise<void> } {
  const byType = new Map(stores.map((s) => [s.type, s]));
  const forType = (type: string): KeyStore => {
    const s = byType.get(type);
    if (!s) {
      throw new CaError(
        'invalid_request',
        'key_store_unavailable',
        (KEY_STORE_TYPES as readonly string[]).includes(type)
          ? `key store "${type}" is not configured on this service`
          : `unknown key store "${type}"`,
      );
    }
    return s;
  };
  return {
    forType,
    forUri(keyUri) {
      const scheme = keyUri.slice(0, keyUri.indexOf(':'));
      const type = SCHEMES[scheme];
      if (!type) throw new CaError('invalid_request', 'invalid_key_uri', `key URI "${keyUri}" has no known scheme`);
      return forType(type);
    },
    async close() {
      await Promise.all(stores.map((s) => s.close()));
    },
  };
}
