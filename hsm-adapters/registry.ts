import { CaError } from '../src/domain/ca-error.ts';
import type { KeyStore, KeyStoreDescriptor, KeyStoreRegistry } from '../src/ports/key-store.ts';

/**
 * Maps key store types and key URI schemes to the configured adapters. A type that is known but not
 * configured on this service is refused with key_store_unavailable, at CA creation rather than later.
 */
export function createKeyStoreRegistry(known: readonly Pick<KeyStoreDescriptor, 'type' | 'scheme'>[], stores: KeyStore[]): KeyStoreRegistry & { close(): Promise<void> } {
  const byType = new Map(stores.map((s) => [s.type, s]));
  const schemes = new Map(known.map((d) => [d.scheme, d.type]));
  const forType = (type: string): KeyStore => {
    const s = byType.get(type);
    if (!s) {
      throw new CaError(
        'invalid_request',
        'key_store_unavailable',
        known.some((d) => d.type === type) ? `key store "${type}" is not configured on this service` : `unknown key store "${type}"`,
      );
    }
    return s;
  };
  return {
    forType,
    forUri(keyUri) {
      const type = schemes.get(keyUri.slice(0, keyUri.indexOf(':')));
      if (!type) throw new CaError('invalid_request', 'invalid_key_uri', `key URI "${keyUri}" has no known scheme`);
      return forType(type);
    },
    async close() {
      await Promise.all(stores.map((s) => s.close()));
    },
  };
}
