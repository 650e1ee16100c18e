import type { AuditReportFormat } from '../../domain/audit-report.ts';
import type { IssuedCertificate } from '../../domain/certificate.ts';
import { subjectAltNamesByKind, subjectAltNamesOf } from '../../x509/certificate-fields.ts';
import { sanText } from '../../x509/general-name.ts';

/** The columns of a report, in order (CSV's header; the keys of each JSON object). */
export const REPORT_COLUMNS = ['serial', 'subject', 'subjectAlternativeNames', 'notBefore', 'notAfter', 'issuedAt', 'issuedBy', 'template', 'revokedAt', 'revocationReason'] as const;

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled. */
const csvField = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * How each format begins, writes a row and ends. CSV is RFC 4180 (CRLF, a header line); the SANs in
 * one field as OpenSSL prints them, ", " between (no SAN holds ", ": URIs cannot hold a space).
 * JSON is one array of objects, a row a line, SANs by kind as the API shows them; absent values null.
 */
export const REPORT_FORMATS: Record<AuditReportFormat, { head: string; row(c: IssuedCertificate): string; separator: string; tail: string }> = {
  CSV: {
    head: REPORT_COLUMNS.join(',') + '\r\n',
    row: (c) =>
      [
        c.serial,
        c.subject,
        subjectAltNamesOf(c.der).map(sanText).join(', '),
        c.notBefore.toISOString(),
        c.notAfter.toISOString(),
        c.issuedAt.toISOString(),
        c.issuedBy ?? '',
        c.template,
        c.revokedAt?.toISOString() ?? '',
        c.revocationReason ?? '',
      ]
        .map(csvField)
        .join(',') + '\r\n',
    separator: '',
    tail: '',
  },
  JSON: {
    head: '[\n',
    row: (c) =>
      JSON.stringify({
        serial: c.serial,
        subject: c.subject,
        subjectAlternativeNames: subjectAltNamesByKind(subjectAltNamesOf(c.der)),
        notBefore: c.notBefore.toISOString(),
        notAfter: c.notAfter.toISOString(),
        issuedAt: c.issuedAt.toISOString(),
        issuedBy: c.issuedBy ?? null,
        template: c.template,
        revokedAt: c.revokedAt?.toISOString() ?? null,
        revocationReason: c.revocationReason ?? null,
      }),
    separator: ',\n',
    tail: '\n]\n',
  },
};
