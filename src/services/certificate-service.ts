import { notFound } from '../domain/ca-error.ts';
import type { IssuedCertificate } from '../domain/certificate.ts';
import type { Clock } from '../ports/clock.ts';
import type { CertificateListOptions, CertificateRepository } from '../ports/repositories.ts';
import type { CaContexts } from './ca-contexts.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Issuance in one UTC hour or day, from its start. */
export interface IssuanceBucket {
  start: Date;
  count: number;
}

/** A CA's certificates counted at `at` (the console's dashboard). */
export interface CertificateStatistics {
  caId: string;
  at: Date;
  /** ISSUED and still valid. */
  issued: number;
  /** ISSUED and past notAfter. */
  expired: number;
  revoked: number;
  /** ISSUED, valid, and notAfter within 30 days. */
  expiringWithin30Days: number;
  /** The last 24 UTC hours, oldest first; the last is the current hour, so far. */
  hourly: IssuanceBucket[];
  /** The last 30 UTC days, oldest first; the last is today, so far. */
  daily: IssuanceBucket[];
}

/** `count` buckets of `size` ms, the last one holding `now`, each with what `perHour` holds in it. */
function buckets(perHour: readonly IssuanceBucket[], now: Date, size: number, count: number): IssuanceBucket[] {
  const last = Math.floor(now.getTime() / size) * size;
  const first = last - (count - 1) * size;
  const out = Array.from({ length: count }, (_, i) => ({ start: new Date(first + i * size), count: 0 }));
  for (const h of perHour) {
    const i = Math.floor((h.start.getTime() - first) / size);
    if (i >= 0 && i < count) out[i]!.count += h.count;
  }
  return out;
}

/** Reads of issued certificates, with the chain that goes beside them. */
export class CertificateService {
  constructor(private readonly deps: { certificates: Pick<CertificateRepository, 'get' | 'list' | 'statistics'>; contexts: Pick<CaContexts, 'get'>; clock: Clock }) {}

  /** The chain returned beside the CA's certificates: its own certificate, then its chain ('' before it has one). 404 for an unknown CA. */
  async chain(caId: string): Promise<string> {
    return (await this.deps.contexts.get(caId)).signing?.chainPem ?? '';
  }

  async get(caId: string, serial: string): Promise<{ cert: IssuedCertificate; chain: string }> {
    const chain = await this.chain(caId);
    const cert = await this.deps.certificates.get(caId, serial);
    if (!cert) throw notFound('certificate_not_found', `CA ${caId} issued no certificate with serial ${serial}`);
    return { cert, chain };
  }

  /** A page of the CA's certificates by serial, filtered and searched as `options` say; 404 for an unknown CA. */
  async list(caId: string, options: CertificateListOptions & { limit: number; afterSerial?: string }): Promise<IssuedCertificate[]> {
    await this.deps.contexts.get(caId);
    return this.deps.certificates.list(caId, options);
  }

  /**
   * The CA's certificates by state at `now`, and their issuance per UTC hour (24) and day (30); 404
   * for an unknown CA. Days are whole hours (UTC), so one per-hour count serves both.
   */
  async statistics(caId: string, now: Date = this.deps.clock.now()): Promise<CertificateStatistics> {
    await this.deps.contexts.get(caId);
    const issuedFrom = new Date(Math.floor(now.getTime() / DAY) * DAY - 29 * DAY);
    const c = await this.deps.certificates.statistics(caId, { now, expiringBy: new Date(now.getTime() + 30 * DAY), issuedFrom });
    return {
      caId,
      at: now,
      issued: c.issued,
      expired: c.expired,
      revoked: c.revoked,
      expiringWithin30Days: c.expiring,
      hourly: buckets(c.issuedPerHour, now, HOUR, 24),
      daily: buckets(c.issuedPerHour, now, DAY, 30),
    };
  }
}
