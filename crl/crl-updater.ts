import { conflict, invalidState, notFound } from '../src/domain/ca-error.ts';
import { crlUrl, type Ca } from '../src/domain/ca.ts';
import { DEFAULT_PARTITION_SIZE, isPartitioned, partitionsOf } from '../src/domain/crl-partition.ts';
import type { AuditEvent } from '../src/domain/audit-event.ts';
import type { Clock } from '../src/ports/clock.ts';
import type { JobLock } from '../src/ports/job-lock.ts';
import type { Signer } from '../src/ports/key-store.ts';
import type { Repos, StoredCrl } from '../src/ports/repositories.ts';
import { prepareCrlIssuer } from '../src/x509/crl-encoder.ts';
import type { IssuerCertificate } from '../src/x509/issuer.ts';
import { buildCrl } from './crl-builder.ts';
import { crlFileRef, type QueuedCrl } from './publish-targets.ts';

const HOUR = 3_600_000;

/** A CRL just published: what was stored, without its bytes. */
export type PublishedCrl = Omit<StoredCrl, 'der'> & { derBytes: number };

/**
 * Publishes a CA's CRLs, as Boulder's crl/updater does: lock → take the next number → build each CRL
 * (crl-builder.ts) → commit it → hand it to the publication targets. One node at a time per CA
 * (JobLock); the number is taken before the build, so a build that dies never leaves a number to be
 * used again.
 */
export class CrlUpdater {
  constructor(
    private readonly deps: {
      repos: Pick<Repos, 'cas' | 'crls'>;
      /** The CA's signer and certificate, as the CA contexts of src/services keep them. */
      signing: { signingFor(ca: Ca): Promise<{ signer: Signer; issuer: { certificate: IssuerCertificate } }> };
      clock: Clock;
      lock: JobLock;
      /** Where clients reach the service: the CRL URL base of CAs without a baseUrl. */
      publicUrl: string;
      /** Certificates per partition of partitioned CAs (as issuance numbers them). */
      crlPartitionSize?: number;
      /** Where each stored CRL also goes (directory, S3), in the background: a CrlTargetQueue. */
      targets?: { enqueue(crl: QueuedCrl): void };
    },
  ) {}

  /**
   * Publishes a new CRL now. With `unlessSince`, does nothing when another node already published
   * one at or after that time (several nodes firing on the same cron tick make one CRL); with
   * `auditEvent`, records it with the full CRL's commit.
   */
  async publish(caId: string, options: { unlessSince?: Date; auditEvent?: (crl: PublishedCrl) => AuditEvent } = {}): Promise<PublishedCrl | undefined> {
    return this.deps.lock.run(`crl:${caId}`, async () => {
      const { repos } = this.deps;
      const ca = await repos.cas.get(caId);
      if (!ca) throw notFound('ca_not_found', `no CA ${caId}`);
      if (!ca.revocation.crl.enabled) throw conflict('crl_disabled', `CA ${caId} does not publish CRLs`);
      if (!ca.certificateDer || ca.status === 'PENDING_CERTIFICATE') throw invalidState(`CA ${caId} has no certificate yet, so no CRL`);
      if (options.unlessSince) {
        const last = await repos.crls.latestInfo(caId, '');
        if (last && last.thisUpdate >= options.unlessSince) return undefined;
      }
      const crlNumber = await repos.crls.nextNumber(ca.id);
      const thisUpdate = new Date(Math.floor(this.deps.clock.now().getTime() / 1000) * 1000);
      const nextUpdate = new Date(thisUpdate.getTime() + ca.revocation.crl.validityHours * HOUR);
      const { signer, issuer } = await this.deps.signing.signingFor(ca);
      const crlIssuer = prepareCrlIssuer(issuer.certificate, ca.signingAlgorithm);
      // The full CRL, then for a partitioned CA every partition's, all under one CRL number.
      const partitions = isPartitioned(ca) ? partitionsOf(ca, this.deps.crlPartitionSize ?? DEFAULT_PARTITION_SIZE) : [];
      let full: PublishedCrl | undefined;
      for (const partition of ['', ...partitions]) {
        const target = { caId, partition, crlNumber, thisUpdate, nextUpdate, issuingDistributionPointUrl: partition ? crlUrl(ca, this.deps.publicUrl, partition) : undefined };
        const built = await buildCrl({ crls: repos.crls, target, issuer: crlIssuer, signer, signingAlgorithm: ca.signingAlgorithm });
        const published: PublishedCrl = { caId, partition, crlNumber, thisUpdate, nextUpdate, revokedCount: built.revokedCount, derBytes: built.derBytes };
        // A publication someone asked for is on record, in the transaction that makes the full CRL current.
        await repos.crls.commitCrl(published, built.unstored, built.partCount, partition === '' ? options.auditEvent?.(published) : undefined);
        // The extra targets (directory, S3) take whole files: the queue reads it back when it publishes it.
        this.deps.targets?.enqueue({ ...crlFileRef(published), load: () => repos.crls.read(caId, partition, crlNumber) });
        full ??= published;
      }
      return full;
    });
  }
}
