/**
 * The outcome of putting one CRL into one publication target (a directory, an S3 bucket): what the
 * CA's CRL status shows, so that an operator sees a target that stopped taking CRLs.
 */
export interface CrlPublicationRecord {
  caId: string;
  /** '' for the full CRL. */
  partition: string;
  /** The publisher's stable name (CrlPublisher.name). */
  target: string;
  crlNumber: bigint;
  ok: boolean;
  /** Tries made, 1 when the first one succeeded. */
  attempts: number;
  /** The last error's message when ok is false; never holds credentials. */
  error?: string;
  /** When the last try ended. */
  at: Date;
}

export interface CrlPublicationRepository {
  /**
   * Stores the outcome for (caId, partition, target), replacing the one stored there only when its
   * CRL number is not greater: a slow publication of an older CRL never hides a newer one's outcome.
   */
  record(r: CrlPublicationRecord): Promise<void>;
  /** The latest outcome of every target of the CA, by partition then target. */
  list(caId: string): Promise<CrlPublicationRecord[]>;
}
