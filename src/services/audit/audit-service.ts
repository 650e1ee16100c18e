import { createPublicKey } from 'node:crypto';
import type { AuditCheckpoint, AuditEvent } from '../../domain/audit-event.ts';
import type { AuditQuery, Repos, StoredAuditEvent } from '../../ports/repositories.ts';
import type { Clock } from '../../ports/clock.ts';
import type { AuditKeys } from './audit-keys.ts';
import { sealedEvents, verifyAuditChain, type VerifyResult } from './verifier.ts';

/**
 * Reading the audit log, and recording what no service change records: denials (403) and refused
 * tokens that name real ones (401). Changes record their own events in their transactions.
 */
export class AuditService {
  constructor(private readonly deps: { repos: Pick<Repos, 'audit' | 'principals'>; keys: AuditKeys; clock: Clock }) {}

  /** A denied request's event, or a refused credential's: written on its own, nothing having changed. */
  record(event: AuditEvent): Promise<void> {
    return this.deps.repos.audit.record(event);
  }

  /** Newest first. `principal` is an id, or a name (every principal that ever had it). */
  async list(query: Omit<AuditQuery, 'principalIds'> & { principal?: string }): Promise<StoredAuditEvent[]> {
    const { principal, ...rest } = query;
    if (principal === undefined) return this.deps.repos.audit.list(rest);
    const ids = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(principal) ? [principal.toLowerCase()] : await this.deps.repos.principals.idsNamed(principal);
    return ids.length ? this.deps.repos.audit.list({ ...rest, principalIds: ids }) : [];
  }

  latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    return this.deps.repos.audit.latestCheckpoint();
  }

  /** The whole chain and the latest checkpoint's signature, checked with the audit key from its key store. */
  async verify(): Promise<VerifyResult> {
    const { audit } = this.deps.repos;
    const checkpoints = await audit.checkpoints();
    const current = await this.deps.keys.publicKey();
    // Keys other than the current one are known by the public key recorded when they were made.
    const recorded = new Map((await audit.auditKeys()).map((k) => [k.id, createPublicKey({ key: k.spki, format: 'der', type: 'spki' })]));
    return verifyAuditChain({
      read: () => sealedEvents(audit),
      checkpoints,
      publicKey: (id) => (id === current.id ? current.key : recorded.get(id)),
    });
  }
}
