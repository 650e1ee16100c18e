import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyStoreRegistry, Signer } from '../../ports/key-store.ts';
import type { AuditRepository } from '../../ports/repositories.ts';
import type { Clock } from '../../ports/clock.ts';
import { toPem } from '../../x509/pem.ts';

/** A key's id: the start of the SHA-256 of its SubjectPublicKeyInfo. */
export const auditKeyId = (spki: Uint8Array): string => createHash('sha256').update(spki).digest('hex').slice(0, 16);

/**
 * The service's audit key: an EC P-256 key in a key store like a CA key (software by default,
 * PKCS#11 when PRIVATECA_AUDIT_KEY_STORE says so), made on first start. It signs checkpoints and
 * audit reports; only its public key and id are kept in the database.
 */
export class AuditKeys {
  private current?: Promise<{ id: string; signer: Signer }>;

  constructor(private readonly deps: { audit: Pick<AuditRepository, 'auditKeys' | 'saveAuditKey'>; keyStores: KeyStoreRegistry; storeType: string; clock: Clock }) {}

  /** Makes the key when there is none. The caller holds a lock across nodes. */
  async ensure(): Promise<void> {
    if ((await this.deps.audit.auditKeys()).length > 0) return;
    const store = this.deps.keyStores.forType(this.deps.storeType);
    const { keyUri } = await store.createKey({ algorithm: 'EC_prime256v1', label: 'privateca-audit' });
    const signer = await store.getSigner(keyUri);
    await this.deps.audit.saveAuditKey({ id: auditKeyId(signer.publicKeySpki), keyUri, spki: Buffer.from(signer.publicKeySpki), createdAt: this.deps.clock.now() });
  }

  /** The current key's id and signer, from its key store. */
  signer(): Promise<{ id: string; signer: Signer }> {
    this.current ??= (async () => {
      const keys = await this.deps.audit.auditKeys();
      const key = keys[keys.length - 1];
      if (!key) throw new Error('there is no audit key yet');
      const signer = await this.deps.keyStores.forUri(key.keyUri).getSigner(key.keyUri);
      return { id: key.id, signer };
    })();
    this.current.catch(() => (this.current = undefined));
    return this.current;
  }

  /** The public key as the key store has it (not as the database says: that could be replaced), by id. */
  async publicKey(): Promise<{ id: string; key: KeyObject; pem: string }> {
    const { id, signer } = await this.signer();
    const spki = Buffer.from(signer.publicKeySpki);
    return { id, key: createPublicKey({ key: spki, format: 'der', type: 'spki' }), pem: toPem(spki, 'PUBLIC KEY') };
  }
}
