/**
 * One entry of the audit log: who did (or was refused) what to which resource, when, from where.
 * `details` holds what an auditor needs (serial, subject, names, template, validity, reason, changed
 * fields) and never a secret (no token, PIN, passphrase or key material).
 */
export interface AuditEvent {
  time: Date;
  /** The principal, or undefined for the service's own jobs. `id` may be missing on events from before principals existed. */
  principal?: { id?: string; name: string };
  /** `privateca:IssueCertificate`, `privateca:Authenticate` (a refused token), `privateca:Bootstrap`… */
  action: string;
  /** `ca/{caId}`, `principal/{id}`, `policy/{id}`, `audit`, `ca/*`… */
  resource: string;
  outcome: 'SUCCESS' | 'DENIED';
  sourceIp?: string;
  requestId?: string;
  details: Record<string, unknown>;
}

/** An event in the hash chain: its position and its chain hash. */
export interface SealedEvent extends AuditEvent {
  seq: number;
  hash: Buffer;
}

/** A signed statement of the chain's length and head: what tampering must get past. */
export interface AuditCheckpoint {
  /** Events covered: seq 1 to size. */
  size: number;
  /** The hash of event `size`. */
  hash: Buffer;
  time: Date;
  /** Which audit key signed it. */
  keyId: string;
  /** DER ECDSA (P-256, SHA-256) over the checkpoint's text (src/services/audit/canonical.ts). */
  signature: Buffer;
}
