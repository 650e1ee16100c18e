/** A CRL to put somewhere besides the database (a directory, an S3 bucket). */
export interface CrlFile {
  caId: string;
  /** '' for the full CRL. */
  partition: string;
  crlNumber: bigint;
  /** Relative path: `{caId}.crl`, or `{caId}/{partition}.crl` for a partition. */
  path: string;
  der: Buffer;
}

/** One publication target. Throws on failure; the caller retries, logs and records the status. */
export interface CrlPublisher {
  /** Stable name shown in the CA's CRL status, e.g. "directory:/srv/crl" or "s3:bucket/prefix". */
  readonly name: string;
  publish(file: CrlFile): Promise<void>;
}
