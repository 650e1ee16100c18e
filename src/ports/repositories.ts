import type { AuditCheckpoint, AuditEvent } from '../domain/audit-event.ts';
import type { AuditReport } from '../domain/audit-report.ts';
import type { Ca } from '../domain/ca.ts';
import type { IssuedCertificate, CertificateStatus } from '../domain/certificate.ts';
import type { RevocationReason } from '../domain/revocation-reason.ts';
import type { Policy } from '../domain/policy.ts';
import type { ApiToken, Principal } from '../domain/principal.ts';

export interface CaRepository {
  insert(ca: Ca): Promise<void>;
  get(id: string, options?: { forUpdate?: boolean }): Promise<Ca | undefined>;
  /** Keyset pagination by (createdAt, id). */
  list(options: { limit: number; after?: { createdAt: Date; id: string } }): Promise<Ca[]>;
  /** Every CA's id and updatedAt: a cheap way for a node to notice changes made by others. */
  listVersions(): Promise<{ id: string; updatedAt: Date }[]>;
  /** Writes every mutable field of the CA. */
  save(ca: Ca): Promise<void>;
  /** Takes the CA's next block of CRL partition numbers; returns its index (0, 1, …). */
  takePartitionBlock(id: string): Promise<number>;
  /** Deleted CAs whose restore window has passed. */
  listPurgeable(now: Date): Promise<Ca[]>;
  remove(id: string): Promise<void>;
}

export interface CertificateListOptions {
  status?: CertificateStatus;
  q?: string;
  expiresBefore?: Date;
  expiresAfter?: Date;
}

export interface CertificateRepository {
  /**
   * Stores an issued certificate and its audit event in one statement, only while the CA is ACTIVE
   * and still at `certVersion` (no other node imported a new CA certificate meanwhile).
   * Returns false when that condition failed and nothing was stored.
   */
  insertIssued(cert: IssuedCertificate, audit: AuditEvent, expect: { certVersion: number }): Promise<boolean>;
  get(caId: string, serial: string): Promise<IssuedCertificate | undefined>;
  /**
   * By serial; `issuedUpTo` keeps those issued at or before that time (an audit report's cut); `q`
   * keeps those with a name (CN or SAN, case-insensitive) or a serial starting with it;
   * `expiresBefore`/`expiresAfter` compare notAfter.
   */
  list(caId: string, options: CertificateListOptions & { limit: number; afterSerial?: string; issuedUpTo?: Date }): Promise<IssuedCertificate[]>;
  /**
   * Marks an ISSUED certificate REVOKED; false when it was not ISSUED. Other nodes are told at commit
   * (NOTIFY on REVOCATION_CHANNEL, payload `{caId}:{serial}`) so that their OCSP answers follow.
   */
  revoke(caId: string, serial: string, at: Date, reason: RevocationReason): Promise<boolean>;
  /** What an OCSP answer needs of one certificate, and nothing else; undefined when the CA never issued it. */
  status(caId: string, serial: string): Promise<CertificateStatusRecord | undefined>;
  /**
   * The CA's certificates counted at `now` (ISSUED ones as valid or expired, those of them expiring
   * by `expiringBy`, and REVOKED ones), and those issued from `issuedFrom` up to `now` per UTC hour.
   */
  statistics(caId: string, at: { now: Date; expiringBy: Date; issuedFrom: Date }): Promise<CertificateCounts>;
}

export interface CertificateCounts {
  /** ISSUED and notAfter after now. */
  issued: number;
  /** ISSUED and notAfter at or before now. */
  expired: number;
  revoked: number;
  /** ISSUED and notAfter after now, at or before expiringBy. */
  expiring: number;
  /** Issued per UTC hour, by the hour's start; hours without any are left out. */
  issuedPerHour: { start: Date; count: number }[];
}

/** The channel on which the database tells every node of a revocation (payload `{caId}:{serial}`). */
export const REVOCATION_CHANNEL = 'privateca_revoked';

export interface CertificateStatusRecord {
  status: CertificateStatus;
  revokedAt?: Date;
  revocationReason?: RevocationReason;
}

/** A delegated OCSP responder certificate that a CA issued to itself, and where its key is. */
export interface OcspResponderRecord {
  caId: string;
  serial: string;
  keyUri: string;
  certificateDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  createdAt: Date;
}

export interface OcspResponderRepository {
  /** The responder with the latest notAfter. */
  latest(caId: string): Promise<OcspResponderRecord | undefined>;
  insert(record: OcspResponderRecord): Promise<void>;
}

export interface IdempotencyRecord {
  caId: string;
  token: string;
  csrSha256: Buffer;
  serial: string;
  createdAt: Date;
}

export interface IdempotencyRepository {
  get(caId: string, token: string, options?: { forUpdate?: boolean }): Promise<IdempotencyRecord | undefined>;
  /** Inserts, or replaces a record older than `replaceBefore`; throws on a fresher one (unique violation). */
  put(record: IdempotencyRecord, replaceBefore: Date): Promise<boolean>;
}

/** An audit event as stored: its row id (the insertion order) and, once sealed, its seq and hash. */
export interface StoredAuditEvent extends AuditEvent {
  id: string;
  seq?: number;
  hash?: Buffer;
}

export interface AuditQuery {
  action?: string;
  /** Principal ids (a name is resolved to every principal that ever had it). */
  principalIds?: string[];
  resource?: string;
  outcome?: 'SUCCESS' | 'DENIED';
  since?: Date;
  until?: Date;
  limit: number;
  /** Newest first: events with a smaller row id than this. */
  beforeId?: string;
}

export interface AuditRepository {
  /** Writes one event; inside a transaction, with the change it records. */
  record(event: AuditEvent): Promise<void>;
  list(query: AuditQuery): Promise<StoredAuditEvent[]>;
  /** The chain's head: the highest seq and its hash; undefined before the first event is sealed. */
  head(): Promise<{ seq: number; hash: Buffer } | undefined>;
  /** Committed events not in the chain yet, in the order they were written. */
  unsealed(limit: number): Promise<StoredAuditEvent[]>;
  /** Gives events their seq and hash, in one statement; returns how many it sealed (only unsealed ones are). */
  seal(seals: { id: string; seq: number; hash: Buffer }[]): Promise<number>;
  /** The first and last seq of the chain (audit_chain); undefined before the first seal. */
  chainBounds(): Promise<{ first: number; last: number } | undefined>;
  /** The events the chain places at seqs after `afterSeq` up to `toSeq`, as stored, by their seq. */
  sealedRange(afterSeq: number, toSeq: number): Promise<StoredAuditEvent[]>;
  /** Events that carry a seq but that the chain does not place (rows added behind its back), by seq. */
  strays(limit: number): Promise<StoredAuditEvent[]>;
  countUnsealed(): Promise<number>;
  saveCheckpoint(c: AuditCheckpoint): Promise<void>;
  latestCheckpoint(): Promise<AuditCheckpoint | undefined>;
  /** Every checkpoint, smallest first (what verification narrows damage with). */
  checkpoints(): Promise<AuditCheckpoint[]>;
  /** The key that signs checkpoints and reports (one today; checkpoints name theirs by id). */
  auditKeys(): Promise<{ id: string; keyUri: string; spki: Buffer; createdAt: Date }[]>;
  saveAuditKey(key: { id: string; keyUri: string; spki: Buffer; createdAt: Date }): Promise<void>;
}

/** What authentication reads for a bearer token: the token, its principal and the principal's policies. */
export interface Credential {
  token: ApiToken;
  principal: Principal & { deletedAt?: Date };
  policies: Policy[];
}

export interface TokenRepository {
  insert(token: ApiToken, tokenHash: Buffer): Promise<void>;
  /** The token with this hash, deleted or not, with its principal (deleted or not) and the principal's policies. */
  findCredential(tokenHash: Buffer): Promise<Credential | undefined>;
  /** The principal's tokens that are not deleted, oldest first. */
  list(principalId: string): Promise<ApiToken[]>;
  /** Marks the token deleted; false when the principal has no such token (or it is deleted already). */
  remove(principalId: string, tokenId: string, at: Date): Promise<boolean>;
  /** Records that these tokens were used at `at` (approximately: never moves lastUsedAt back). */
  touch(tokenIds: string[], at: Date): Promise<void>;
  /** Gives every token without a principal (made before principals existed) to this principal. */
  adoptOrphans(principalId: string): Promise<number>;
  /** Tokens in the database, deleted ones included (an empty database has none). */
  count(): Promise<number>;
}

export interface PrincipalRepository {
  insert(p: Principal): Promise<void>;
  /** A principal that is not deleted. */
  get(id: string, options?: { forUpdate?: boolean }): Promise<Principal | undefined>;
  getByName(name: string): Promise<Principal | undefined>;
  /** Keyset pagination by name. */
  list(options: { limit: number; afterName?: string }): Promise<Principal[]>;
  /** Writes description, status, tags, updatedAt and the attached policies. */
  save(p: Principal): Promise<void>;
  /** Marks the principal deleted and detaches its policies; its name is free again. */
  remove(id: string, at: Date): Promise<void>;
  /** ACTIVE principals, not deleted, with this policy attached and a token that is neither deleted nor expired at `now`. */
  countAbleAdministrators(policyId: string, now: Date): Promise<number>;
  /** Every principal, deleted ones included, that ever had this name (audit queries by name). */
  idsNamed(name: string): Promise<string[]>;
  /** Serialises changes that could lock every administrator out (PostgreSQL advisory lock for the transaction). */
  lockAdministrators(): Promise<void>;
}

export interface PolicyRepository {
  insert(p: Policy): Promise<void>;
  get(id: string, options?: { forUpdate?: boolean }): Promise<Policy | undefined>;
  getByName(name: string): Promise<Policy | undefined>;
  /** Those of these ids that exist. */
  existing(ids: readonly string[]): Promise<string[]>;
  /** Keyset pagination by name. */
  list(options: { limit: number; afterName?: string }): Promise<Policy[]>;
  save(p: Policy): Promise<void>;
  remove(id: string): Promise<void>;
  /** Principals (not deleted) that have the policy attached. */
  attachments(id: string): Promise<number>;
  /** Inserts or refreshes a built-in policy. */
  upsertBuiltIn(p: Policy): Promise<void>;
}

export interface SoftwareKeyRecord {
  id: string;
  algorithm: string;
  spki: Buffer;
  wrappedKey: Buffer;
  kekId: string;
  createdAt: Date;
}

export interface SoftwareKeyRepository {
  insert(record: SoftwareKeyRecord): Promise<void>;
  get(id: string): Promise<SoftwareKeyRecord | undefined>;
  remove(id: string): Promise<void>;
}

/** A CRL as stored: the latest one of a CA (partition '' is the full CRL). */
export interface StoredCrl {
  caId: string;
  partition: string;
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  revokedCount: number;
  der: Buffer;
}

/**
 * A page of revoked certificates as the database packs it into one string, so that a page costs no
 * object per entry (at a million entries, the per-row objects were most of a CRL build's heap).
 * Entries are separated by ';', each `<serial hex>,<revocation time in whole epoch seconds>,<reason>`
 * where reason is the RFC 5280 CRLReason code, or -1 for a reason the service does not know.
 * RevokedEntriesWriter.addPacked (src/x509/crl-encoder.ts) reads it.
 */
export interface RevokedPage {
  /** Entries in `packed`. */
  count: number;
  /** The page's highest serial, where the next page starts; '' for an empty page. */
  lastSerial: string;
  packed: string;
}

export interface CrlRepository {
  /** Takes the CA's next CRL number; it is never handed out again, even if the build fails. */
  nextNumber(caId: string): Promise<bigint>;
  /** Revoked certificates not yet expired at `at`, by serial, after `afterSerial` (of one partition when given). */
  revokedPage(caId: string, options: { afterSerial: string; limit: number; notExpiredAt: Date; partition?: string }): Promise<RevokedPage>;
  /**
   * Stores one piece of a CRL being built (seq from 0). Pieces are invisible to readers until
   * commitCrl makes their CRL the latest; pieces of a build that dies are removed by a later commit.
   */
  savePart(caId: string, partition: string, crlNumber: bigint, seq: number, bytes: Uint8Array): Promise<void>;
  /** One stored piece of a CRL, committed or still being built; undefined when there is none. */
  readPart(caId: string, partition: string, crlNumber: bigint, seq: number): Promise<Uint8Array | undefined>;
  /**
   * Stores the CRL's remaining pieces and makes it the CA's latest, in one transaction, unless a
   * newer one is there already. Removes older CRLs' pieces except the previous CRL's (readers may be
   * fetching it). Returns false when a newer CRL won.
   */
  commitCrl(crl: Omit<StoredCrl, 'der'>, last: { seq: number; bytes: Uint8Array }[], partCount: number, audit?: AuditEvent): Promise<boolean>;
  /** The latest CRL's DER joined from its pieces if its number is crlNumber, else undefined (a newer one is stored). */
  read(caId: string, partition: string, crlNumber: bigint): Promise<Buffer | undefined>;
  /** The latest CRL with its DER joined from its pieces. */
  latest(caId: string, partition: string): Promise<StoredCrl | undefined>;
  /** The latest CRL's number and times, without its bytes. */
  latestInfo(caId: string, partition: string): Promise<Omit<StoredCrl, 'der'> | undefined>;
  /** Per CA, over its latest CRLs (every partition): the oldest thisUpdate, the bytes and the entries (metrics). */
  summaries(): Promise<{ caId: string; oldestThisUpdate: Date; bytes: number; entries: number }[]>;
}

/** Audit reports and their content, in parts. */
export interface AuditReportRepository {
  /** Throws a unique violation while the CA has another report CREATING. */
  insert(report: AuditReport): Promise<void>;
  get(caId: string, id: string): Promise<AuditReport | undefined>;
  /** Marks the CA's CREATING reports whose heartbeat is older than `before` FAILED; how many. */
  failStale(caId: string, before: Date, at: Date, error: string): Promise<number>;
  heartbeat(id: string, at: Date): Promise<void>;
  appendPart(id: string, seq: number, bytes: Uint8Array): Promise<void>;
  /** The content's parts in order, read one at a time (never all at once). */
  parts(id: string): AsyncIterable<Buffer>;
  complete(id: string, done: Required<Pick<AuditReport, 'completedAt' | 'rows' | 'size' | 'parts' | 'sha256' | 'signature' | 'keyId'>>): Promise<void>;
  fail(id: string, at: Date, error: string): Promise<void>;
  /** The S3 copy's outcome. */
  noteS3(id: string, outcome: { key: string } | { error: string }): Promise<void>;
}

/** Token buckets shared by every node (rate limits). */
export interface RateBucketRepository {
  /**
   * Refills the bucket `key` (created full) at `requestsPerSecond` up to `burst`, and takes up to
   * `want` whole tokens from it, atomically: how many it took and what is left.
   */
  take(key: string, requestsPerSecond: number, burst: number, want: number): Promise<{ granted: number; tokens: number }>;
}

export interface Repos {
  cas: CaRepository;
  certificates: CertificateRepository;
  idempotency: IdempotencyRepository;
  audit: AuditRepository;
  auditReports: AuditReportRepository;
  tokens: TokenRepository;
  principals: PrincipalRepository;
  policies: PolicyRepository;
  softwareKeys: SoftwareKeyRepository;
  crls: CrlRepository;
  rateBuckets: RateBucketRepository;
  ocspResponders: OcspResponderRepository;
  /** Runs fn with repositories bound to one transaction. */
  tx<T>(fn: (r: Repos) => Promise<T>): Promise<T>;
  /** True when the database answers (for /healthz). */
  ping(): Promise<boolean>;
}
