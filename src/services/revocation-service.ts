import { conflict, invalidState, notFound } from '../domain/ca-error.ts';
import type { IssuedCertificate } from '../domain/certificate.ts';
import type { RevocationReason } from '../domain/revocation-reason.ts';
import type { Clock } from '../ports/clock.ts';
import type { Repos } from '../ports/repositories.ts';
import type { Actor } from './actor.ts';
import { auditEvent } from './audit/event.ts';

/** Told after a revocation commits (the CRL updater publishes soon after). */
export type RevocationListener = (caId: string, cert: IssuedCertificate) => void;

/** Revocation: a row update, whose cost does not grow with the number already revoked. */
export class RevocationService {
  private readonly listeners: RevocationListener[] = [];

  constructor(private readonly deps: { repos: Repos; clock: Clock }) {}

  onRevoked(listener: RevocationListener): void {
    this.listeners.push(listener);
  }

  async revoke(actor: Actor, caId: string, serial: string, reason: RevocationReason): Promise<IssuedCertificate> {
    const now = this.deps.clock.now();
    const at = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const revoked = await this.deps.repos.tx(async (r) => {
      const ca = await r.cas.get(caId);
      if (!ca) throw notFound('ca_not_found', `no CA ${caId}`);
      if (ca.status === 'DELETED') throw invalidState(`CA ${caId} is DELETED; restore it to revoke its certificates`);
      if (!(await r.certificates.revoke(caId, serial, at, reason))) {
        const cert = await r.certificates.get(caId, serial);
        if (!cert) throw notFound('certificate_not_found', `CA ${caId} issued no certificate with serial ${serial}`);
        throw conflict('already_revoked', `certificate ${serial} was revoked at ${cert.revokedAt?.toISOString()}`);
      }
      await r.audit.record(auditEvent(actor, 'RevokeCertificate', `ca/${caId}`, { serial, reason, revokedAt: at.toISOString() }, now));
      return (await r.certificates.get(caId, serial))!;
    });
    for (const l of this.listeners) l(caId, revoked);
    return revoked;
  }
}
