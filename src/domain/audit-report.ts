/**
 * An audit report, as AWS Private CA's: every certificate a CA issued up to the report's creation,
 * as CSV or a JSON array, stored in parts and signed with the audit key.
 */
export type AuditReportFormat = 'JSON' | 'CSV';
export type AuditReportStatus = 'CREATING' | 'SUCCESS' | 'FAILED';

export interface AuditReport {
  id: string;
  caId: string;
  format: AuditReportFormat;
  status: AuditReportStatus;
  createdAt: Date;
  /** The principal that asked for it. */
  requestedBy?: string;
  heartbeatAt: Date;
  completedAt?: Date;
  /** Certificates in the report. */
  rows?: number;
  /** Bytes of content. */
  size?: number;
  parts?: number;
  sha256?: Buffer;
  /** DER ECDSA signature over the content's SHA-256, with the audit key `keyId`. */
  signature?: Buffer;
  keyId?: string;
  /** The content's key in the S3 bucket when it was copied there, or why it was not. */
  s3Key?: string;
  s3Error?: string;
  /** Why a FAILED report failed. */
  error?: string;
}

export const REPORT_CONTENT_TYPE: Record<AuditReportFormat, string> = { CSV: 'text/csv; charset=utf-8; header=present', JSON: 'application/json' };
