import type { IssuedCertificate } from '../domain/certificate.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { Queryable } from './db.ts';

/*
 * Group commit for issuance. Every certificate is committed, with its audit event, before its
 * response, but under load many commits wait on one WAL flush anyway; sending the certificates that
 * arrive while earlier statements are in flight as one multi-row statement turns N round trips, N
 * statement parses and N commits into one. Measured with bench/issue.ts (README).
 *
 * The CA check is per row, as in the single-row statement: a row whose CA is no longer ACTIVE at the
 * expected cert_version is not inserted, and its caller is told so.
 */
const INSERT_BATCH = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::text[], $11::text[],
                       $12::text[], $13::uuid[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
                       $21::text[])
    AS t(ca_id, cert_version, serial, der, subject, template, not_before, not_after, issued_at, crl_partition, issued_by,
         at, principal_id, principal_name, action, resource, outcome, source_ip, request_id, details, search_name)
), ok AS (
  SELECT input.* FROM input JOIN cas ON cas.id = input.ca_id AND cas.status = 'ACTIVE' AND cas.cert_version = input.cert_version
), cert AS (
  INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, crl_partition, issued_by, search_name)
  SELECT ca_id, serial, 'ISSUED', decode(der, 'base64'), subject, template, not_before::timestamptz, not_after::timestamptz, issued_at::timestamptz,
         crl_partition, issued_by, search_name
  FROM ok
  RETURNING ca_id, serial
), names AS (
  INSERT INTO certificate_names (ca_id, serial, name)
  SELECT n.ca_id, n.serial, n.name FROM unnest($22::uuid[], $23::text[], $24::text[]) AS n(ca_id, serial, name)
  JOIN cert ON cert.ca_id = n.ca_id AND cert.serial = n.serial
), event AS (
  INSERT INTO audit_events (at, principal_id, principal_name, action, resource, outcome, source_ip, request_id, details)
  SELECT ok.at::timestamptz, ok.principal_id, ok.principal_name, ok.action, ok.resource, ok.outcome, ok.source_ip, ok.request_id, ok.details::jsonb
  FROM ok JOIN cert ON cert.ca_id = ok.ca_id AND cert.serial = ok.serial
)
SELECT serial FROM cert`;

interface Pending {
  cert: IssuedCertificate;
  audit: AuditEvent;
  certVersion: number;
  resolve(stored: boolean): void;
  reject(e: unknown): void;
}

export class IssuedBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;

  /**
   * @param single the one-row statement, used when a batch fails so that one bad row (a serial
   *   collision, say) cannot fail the others
   * @param maxInFlight statements in flight at once; arrivals beyond wait for the next batch
   */
  constructor(
    private readonly q: Queryable,
    private readonly single: (p: Pending) => Promise<boolean>,
    private readonly maxInFlight = 4,
    private readonly maxBatch = 256,
  ) {}

  insert(cert: IssuedCertificate, audit: AuditEvent, certVersion: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ cert, audit, certVersion, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // Collect everything that arrives in this turn of the event loop.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.inFlight++;
    try {
      if (batch.length === 1) {
        const p = batch[0]!;
        await this.single(p).then(p.resolve, p.reject);
      } else {
        await this.many(batch);
      }
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private async many(batch: Pending[]): Promise<void> {
    const col = <T>(f: (p: Pending) => T) => batch.map(f);
    // The search names after the first (which is a column): (CA, serial, name) as three parallel arrays.
    const names = batch.flatMap((p) => (p.cert.names ?? []).slice(1).map((n) => [p.cert.caId, p.cert.serial, n] as const));
    let stored: Set<string>;
    try {
      const r = await this.q.query<{ serial: string }>(INSERT_BATCH, [
        col((p) => p.cert.caId),
        col((p) => p.certVersion),
        col((p) => p.cert.serial),
        col((p) => p.cert.der.toString('base64')),
        col((p) => p.cert.subject),
        col((p) => p.cert.template),
        col((p) => p.cert.notBefore.toISOString()),
        col((p) => p.cert.notAfter.toISOString()),
        col((p) => p.cert.issuedAt.toISOString()),
        col((p) => p.cert.crlPartition ?? null),
        col((p) => p.cert.issuedBy ?? null),
        col((p) => p.audit.time.toISOString()),
        col((p) => p.audit.principal?.id ?? null),
        col((p) => p.audit.principal?.name ?? null),
        col((p) => p.audit.action),
        col((p) => p.audit.resource),
        col((p) => p.audit.outcome),
        col((p) => p.audit.sourceIp ?? null),
        col((p) => p.audit.requestId ?? null),
        col((p) => JSON.stringify(p.audit.details)),
        col((p) => p.cert.names?.[0] ?? null),
        names.map((n) => n[0]),
        names.map((n) => n[1]),
        names.map((n) => n[2]),
      ]);
      stored = new Set(r.rows.map((x) => x.serial));
    } catch {
      await Promise.all(batch.map((p) => this.single(p).then(p.resolve, p.reject)));
      return;
    }
    for (const p of batch) p.resolve(stored.has(p.cert.serial));
  }
}
