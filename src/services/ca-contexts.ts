import { conflict, invalidState, notFound } from '../domain/ca-error.ts';
import { effectiveStatus, type Ca } from '../domain/ca.ts';
import { DEFAULT_PARTITION_SIZE, isPartitioned } from '../domain/crl-partition.ts';
import type { Clock } from '../ports/clock.ts';
import type { KeyStoreRegistry, Signer } from '../ports/key-store.ts';
import type { CaRepository } from '../ports/repositories.ts';
import { CertificateIssuer } from '../x509/certificate-issuer.ts';
import { certificatePem } from '../x509/pem.ts';
import { PartitionAllocator } from './partition-allocator.ts';

/** What signing for a CA needs, prepared once per CA certificate (cert_version). */
export interface SigningContext {
  readonly signer: Signer;
  /** The CA certificate as read once, with the prepared DER pieces of the leaves it issues. */
  readonly issuer: CertificateIssuer;
  /** The CA's own certificate then its chain: what goes beside every certificate it issues. */
  readonly chainPem: string;
}

/** A CA as this node last read it, and, once it has a certificate, what signing for it needs. */
export interface CaContext {
  readonly ca: Ca;
  readonly signing?: SigningContext;
  /** This node's numbering of the CA's certificates into CRL partitions (partitioned CAs). */
  readonly partitions?: PartitionAllocator;
}

/**
 * The per-node cache of CA contexts that issuance, CRL building and OCSP share, so that a CA's key
 * and certificate are loaded and prepared once, not per request. A node that changes a CA drops its
 * entry at once (invalidate); other nodes notice through the CA's cert_version (see
 * docs/architecture.md, "Caches and several nodes").
 */
export class CaContexts {
  readonly #contexts = new Map<string, Promise<CaContext>>();
  readonly #partitionListeners: ((caId: string) => void)[] = [];
  readonly #partitionSize: number;

  constructor(private readonly deps: { cas: Pick<CaRepository, 'get' | 'takePartitionBlock'>; keyStores: KeyStoreRegistry; clock: Clock; crlPartitionSize?: number }) {
    this.#partitionSize = deps.crlPartitionSize ?? DEFAULT_PARTITION_SIZE;
  }

  /** Told when a CA's certificates start naming a new CRL partition, which then needs its first CRL. */
  onPartitionOpened(listener: (caId: string) => void): void {
    this.#partitionListeners.push(listener);
  }

  /** Drops what is cached of a CA; the CA service calls it on every change. */
  invalidate(caId: string): void {
    this.#contexts.delete(caId);
  }

  /** The cached context, loaded on first use. 404 ca_not_found for an unknown CA. */
  get(caId: string): Promise<CaContext> {
    let c = this.#contexts.get(caId);
    if (!c) {
      c = this.#load(caId);
      this.#contexts.set(caId, c);
      c.catch(() => this.#contexts.delete(caId));
    }
    return c;
  }

  /**
   * The context of a CA that may issue now: a cached CA that is not ACTIVE is read again (another node
   * may have enabled it); 409 ca_not_active when it still is not.
   */
  async active(caId: string): Promise<CaContext & { signing: SigningContext }> {
    let ctx = await this.get(caId);
    if (ctx.ca.status !== 'ACTIVE') {
      this.invalidate(caId);
      ctx = await this.get(caId);
    }
    const status = effectiveStatus(ctx.ca, this.deps.clock.now());
    if (status !== 'ACTIVE' || !ctx.signing) throw conflict('ca_not_active', `CA ${caId} is ${status} and issues nothing`);
    return ctx as CaContext & { signing: SigningContext };
  }

  /**
   * What signing needs for `ca` as the caller just read it (the CRL updater, under its lock): the
   * cached context when it is of the same CA certificate, else a fresh one.
   */
  async signingFor(ca: Ca): Promise<SigningContext> {
    const cached = await this.get(ca.id).catch(() => undefined);
    if (cached?.signing && cached.ca.certVersion === ca.certVersion) return cached.signing;
    this.invalidate(ca.id);
    const fresh = await this.get(ca.id);
    if (!fresh.signing) throw invalidState(`CA ${ca.id} has no certificate yet`);
    return fresh.signing;
  }

  async #load(caId: string): Promise<CaContext> {
    const ca = await this.deps.cas.get(caId);
    if (!ca) throw notFound('ca_not_found', `no CA ${caId}`);
    if (!ca.certificateDer) return { ca };
    const signer = await this.deps.keyStores.forUri(ca.keyUri).getSigner(ca.keyUri);
    const signing: SigningContext = { signer, issuer: new CertificateIssuer(ca.certificateDer), chainPem: certificatePem(ca.certificateDer) + ca.chainPem };
    if (!isPartitioned(ca)) return { ca, signing };
    const partitions = new PartitionAllocator({
      partitionSize: this.#partitionSize,
      takeBlock: () => this.deps.cas.takePartitionBlock(caId),
      opened: () => this.#partitionListeners.forEach((l) => l(caId)),
    });
    return { ca, signing, partitions };
  }
}
