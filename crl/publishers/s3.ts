import type { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import type { CrlFile, CrlPublisher } from '../../src/ports/crl-publisher.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';

export interface S3PublisherOptions {
  bucket: string;
  /** Put before each file's path as is, e.g. "crl/" gives "crl/<caId>.crl". */
  prefix?: string;
  /** Else the SDK's chain (AWS_REGION, the shared config file). */
  region?: string;
  /** An S3-compatible service (MinIO, Ceph, R2 …) instead of AWS. */
  endpoint?: string;
  /** Path-style URLs (http://host/bucket/key), which most S3-compatible services want. */
  forcePathStyle?: boolean;
}

type Sdk = typeof import('@aws-sdk/client-s3');

/**
 * Puts CRLs into an S3 or S3-compatible bucket as `<prefix><file.path>`, Content-Type
 * application/pkix-crl. Credentials come from the SDK's standard chain (environment, shared files,
 * SSO, web identity, container and instance roles), never from our configuration. The SDK is loaded
 * and the client made on the first publish, so a service without an S3 target never loads it.
 */
export class S3Publisher implements CrlPublisher, ObjectStore {
  readonly name: string;
  private client?: Promise<{ sdk: Sdk; client: S3Client }>;

  constructor(private readonly options: S3PublisherOptions) {
    if (!options.bucket) throw new Error('S3Publisher needs a bucket');
    this.name = `s3:${options.bucket}/${options.prefix ?? ''}`;
  }

  async publish(file: CrlFile): Promise<void> {
    const key = `${this.options.prefix ?? ''}${file.path}`;
    try {
      const { sdk, client } = await this.connect();
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: file.der,
          ContentLength: file.der.length,
          ContentType: 'application/pkix-crl',
        }),
      );
    } catch (e) {
      throw new Error(`putting CRL s3://${this.options.bucket}/${key}: ${(e as Error).message || (e as Error).name}`, { cause: e });
    }
  }

  /** Any object under the prefix, streamed (an audit report of a million certificates is not held in memory). */
  async put(path: string, body: AsyncIterable<Uint8Array>, length: number, contentType: string): Promise<void> {
    const key = `${this.options.prefix ?? ''}${path}`;
    try {
      const { sdk, client } = await this.connect();
      await client.send(new sdk.PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: Readable.from(body), ContentLength: length, ContentType: contentType }));
    } catch (e) {
      throw new Error(`putting s3://${this.options.bucket}/${key}: ${(e as Error).message || (e as Error).name}`, { cause: e });
    }
  }

  /** Closes the client's connections, if it was ever made. */
  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) (await c.catch(() => undefined))?.client.destroy();
  }

  private connect(): Promise<{ sdk: Sdk; client: S3Client }> {
    this.client ??= import('@aws-sdk/client-s3').then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: this.options.region,
        endpoint: this.options.endpoint,
        forcePathStyle: this.options.forcePathStyle,
        // publishToTargets retries with its own backoff and counts the tries it records.
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
        // Checksums only where S3 requires them: several S3-compatible services reject the SDK's
        // default CRC32 trailers on PutObject. SigV4 and TLS already cover the upload.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    }));
    this.client.catch(() => {
      this.client = undefined;
    });
    return this.client;
  }
}
