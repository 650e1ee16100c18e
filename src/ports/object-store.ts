/** A place to keep copies of what the service makes (audit reports in an S3 bucket). */
export interface ObjectStore {
  /** Stable name for logs and status, e.g. "s3:bucket/prefix". */
  readonly name: string;
  /** Stores `body` (its pieces in order, `length` bytes in all) under `key`. Throws on failure. */
  put(key: string, body: AsyncIterable<Uint8Array>, length: number, contentType: string): Promise<void>;
}
