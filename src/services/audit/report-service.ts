import { createHash, randomUUID } from 'node:crypto';
import { conflict, notFound } from '../../domain/ca-error.ts';
import { REPORT_CONTENT_TYPE, type AuditReport, type AuditReportFormat } from '../../domain/audit-report.ts';
import type { IssuedCertificate } from '../../domain/certificate.ts';
import type { Clock } from '../../ports/clock.ts';
import type { ObjectStore } from '../../ports/object-store.ts';
import type { Repos } from '../../ports/repositories.ts';
import type { Actor } from '../actor.ts';
import { uniqueAs } from '../policy-service.ts';
import type { AuditKeys } from './audit-keys.ts';
import { auditEvent } from './event.ts';
import { REPORT_FORMATS } from './report-format.ts';

/** Certificates read per query. Larger pages are no faster once reading overlaps formatting, and cost memory: measured on 200,000, +24 MB of RSS at 250 or 500 a page, +100 MB at 1,000 (bench/audit-report.ts). */
const PAGE = 500;
/** Content is stored in parts of about this size. */
const PART_BYTES = 1 << 18;
/** A report in the making writes its heartbeat this often… */
const HEARTBEAT_MS = 5_000;
/** …and one whose heartbeat is older was lost with its node. */
const STALE_MS = 60_000;

const EXTENSION: Record<AuditReportFormat, string> = { CSV: 'csv', JSON: 'json' };

/**
 * Audit reports: every certificate a CA issued up to the report's creation, streamed from the
 * database a page at a time into parts of about 1 MiB (memory stays flat whatever the CA's size),
 * then signed with the audit key over the parts as stored, and copied to the S3 bucket when one is
 * configured. The report is made in the background on the node that was asked; its heartbeat tells
 * the other nodes whether it is still alive.
 */
export class AuditReportService {
  private readonly running = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly deps: {
      repos: Pick<Repos, 'auditReports' | 'certificates' | 'tx'>;
      keys: Pick<AuditKeys, 'signer'>;
      clock: Clock;
      /** Where a copy of each report goes (the S3 bucket), if anywhere. */
      objectStore?: ObjectStore;
      onError: (e: unknown, report: AuditReport) => void;
    },
  ) {}

  /** Starts a report (its row and its audit event in one transaction); 409 while another is in the making for the CA. */
  async create(actor: Actor, caId: string, format: AuditReportFormat): Promise<AuditReport> {
    const { repos, clock } = this.deps;
    const now = clock.now();
    await repos.auditReports.failStale(caId, new Date(now.getTime() - STALE_MS), now, 'the node making it stopped before it was done');
    const report: AuditReport = { id: randomUUID(), caId, format, status: 'CREATING', createdAt: now, heartbeatAt: now, ...(actor.id === 'system' ? {} : { requestedBy: actor.name }) };
    const busy = conflict('request_in_progress', `CA ${caId} has an audit report in the making; ask again when it is done`);
    await repos
      .tx(async (r) => {
        await r.auditReports.insert(report);
        await r.audit.record(auditEvent(actor, 'CreateAuditReport', `ca/${caId}`, { reportId: report.id, format }, now));
      })
      .catch(uniqueAs(busy));
    const job = this.make(report).finally(() => this.running.delete(job));
    this.running.add(job);
    return report;
  }

  /** A report; one whose node stopped making it shows as FAILED. */
  async get(caId: string, id: string): Promise<AuditReport> {
    const { repos, clock } = this.deps;
    let report = await repos.auditReports.get(caId, id);
    if (!report) throw notFound('audit_report_not_found', `CA ${caId} has no audit report ${id}`);
    const now = clock.now();
    if (report.status === 'CREATING' && now.getTime() - report.heartbeatAt.getTime() > STALE_MS) {
      await repos.auditReports.failStale(caId, new Date(now.getTime() - STALE_MS), now, 'the node making it stopped before it was done');
      report = (await repos.auditReports.get(caId, id))!;
    }
    return report;
  }

  /** A finished report's content, read from the database one part at a time. */
  async content(caId: string, id: string): Promise<{ report: AuditReport & { size: number }; contentType: string; parts: AsyncIterable<Buffer> }> {
    const report = await this.ready(caId, id);
    return { report, contentType: REPORT_CONTENT_TYPE[report.format], parts: this.deps.repos.auditReports.parts(id) };
  }

  /** A finished report and its signature. */
  async ready(caId: string, id: string): Promise<AuditReport & { signature: Buffer; size: number }> {
    const report = await this.get(caId, id);
    if (report.status !== 'SUCCESS') {
      throw conflict('audit_report_not_ready', report.status === 'FAILED' ? `audit report ${id} failed: ${report.error}` : `audit report ${id} is still being made; its status turns SUCCESS when it is done`);
    }
    return report as AuditReport & { signature: Buffer; size: number };
  }

  /** Stops the reports in the making (they end FAILED) and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.running]);
  }

  private async make(report: AuditReport): Promise<void> {
    const { repos, clock } = this.deps;
    const sha256 = createHash('sha256');
    const counts = { rows: 0, parts: 0, size: 0 };
    let beat = clock.now().getTime();
    // Each part is stored (one insert in flight while the next part is made), hashed and fed to the
    // signature on its way: the signature covers exactly the parts stored, in order, and the content
    // is never held in memory. An EC key store digests before it takes a session, so nothing of the
    // key store is held while the report is made.
    const stored = async function* (this: AuditReportService): AsyncGenerator<Buffer> {
      let inFlight: Promise<void> | undefined;
      for await (const part of this.formatted(report, counts)) {
        const insert = repos.auditReports.appendPart(report.id, counts.parts++, part);
        insert.catch(() => {}); // awaited below
        await inFlight;
        inFlight = insert;
        sha256.update(part);
        counts.size += part.length;
        const now = clock.now();
        if (now.getTime() - beat >= HEARTBEAT_MS) {
          beat = now.getTime();
          await repos.auditReports.heartbeat(report.id, now);
        }
        yield part;
      }
      await inFlight;
    }.call(this);
    try {
      const { id: keyId, signer } = await this.deps.keys.signer();
      // A generator is iterated once; the signer iterates its input at most once (SignInput).
      const signature = Buffer.from(await signer.sign('SHA256WITHECDSA', stored));
      const { rows, parts, size } = counts;
      await repos.auditReports.complete(report.id, { completedAt: clock.now(), rows, size, parts, sha256: sha256.digest(), signature, keyId });
      await this.copyToObjectStore(report, size, signature);
    } catch (e) {
      await repos.auditReports.fail(report.id, clock.now(), (e as Error).message).catch(() => {});
      this.deps.onError(e, report);
    }
  }

  /**
   * The content in parts of about PART_BYTES: the certificates issued up to the report's creation, a
   * page at a time by serial, the next page read while this one is formatted.
   */
  private async *formatted(report: AuditReport, counts: { rows: number }): AsyncGenerator<Buffer> {
    const format = REPORT_FORMATS[report.format];
    const read = (afterSerial?: string) => {
      const p = this.deps.repos.certificates.list(report.caId, { limit: PAGE, afterSerial, issuedUpTo: report.createdAt });
      p.catch(() => {}); // awaited below, unless the report stops first
      return p;
    };
    // Text until a part is full, then one Buffer of it: no Buffer a page, no copy to join them.
    let pending = format.head;
    for (let next: ReturnType<typeof read> | undefined = read(); next; ) {
      const page: IssuedCertificate[] = await next;
      next = page.length === PAGE ? read(page[page.length - 1]!.serial) : undefined;
      if (this.stopping) throw new Error('the service stopped before the report was done');
      for (const c of page) pending += (counts.rows++ ? format.separator : '') + format.row(c);
      if (!next) pending += format.tail;
      // Characters, not bytes: a part holds PART_BYTES to 4 × PART_BYTES bytes of UTF-8.
      if (pending.length >= PART_BYTES || !next) {
        yield Buffer.from(pending, 'utf8');
        pending = '';
      }
    }
  }

  /** The content and its signature into the bucket, as AWS Private CA puts them: audit-report/{caId}/{id}.{csv|json}. */
  private async copyToObjectStore(report: AuditReport, size: number, signature: Buffer): Promise<void> {
    const store = this.deps.objectStore;
    if (!store) return;
    const key = `audit-report/${report.caId}/${report.id}.${EXTENSION[report.format]}`;
    try {
      await store.put(key, this.deps.repos.auditReports.parts(report.id), size, REPORT_CONTENT_TYPE[report.format]);
      await store.put(`${key}.sig`, once(signature), signature.length, 'application/octet-stream');
      await this.deps.repos.auditReports.noteS3(report.id, { key });
    } catch (e) {
      await this.deps.repos.auditReports.noteS3(report.id, { error: (e as Error).message });
      this.deps.onError(e, report);
    }
  }
}

function once(b: Buffer): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      yield b;
    },
  };
}
