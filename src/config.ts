import os from 'node:os';
import path from 'node:path';
import type { KeyStoreDescriptor } from './ports/key-store.ts';

/** The service configuration, read once from the environment and validated. */
export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  /** shared_buffers of the embedded database (PostgreSQL syntax, e.g. 32MB): its page cache, resident for good once used. */
  pgliteSharedBuffers: string;
  /** Never logged. */
  bootstrapToken?: string;
  logLevel: string;
  /** HTTP worker processes (several need PostgreSQL: PGlite belongs to one process). */
  workers: number;
  dbPoolSize: number;
  /** Where clients reach this service (CRL URLs of CAs without a baseUrl). */
  publicUrl: string;
  /** Certificates per CRL partition of partitioned CAs. */
  crlPartitionSize: number;
  /** Also write every CRL into this directory, as <caId>.crl and <caId>/<partition>.crl (PRIVATECA_CRL_DIR). */
  crlDir?: string;
  /** Also put every CRL into this S3 or S3-compatible bucket; credentials come from the AWS SDK's chain. */
  crlS3?: { bucket: string; prefix: string; region?: string; endpoint?: string; forcePathStyle: boolean };
  /** Every key store the service knows (for key URIs and the API's keyStore.type). */
  knownKeyStores: readonly KeyStoreDescriptor[];
  /** The key stores configured on this service, each with the settings its descriptor read. Secrets in them are never logged. */
  keyStores: { descriptor: KeyStoreDescriptor; settings: unknown }[];
  /** The key store of the audit key (PRIVATECA_AUDIT_KEY_STORE), one of those configured. */
  auditKeyStore: string;
  /**
   * Whether this node takes its turn sealing audit events into the chain (PRIVATECA_AUDIT_SEALER,
   * default on). Off leaves it to other nodes on the database; with no node sealing, events stay
   * unsealed (benchmarks measure issuance with and without it).
   */
  auditSealer: boolean;
  /**
   * HTTP timeouts (ms) and the connection cap of a node: the whole request head within
   * headersTimeout, the whole request within requestTimeout, an idle kept-alive connection closed
   * after keepAliveTimeout; connections past maxConnections are refused.
   */
  http: { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; maxConnections: number };
  /** How long a shutdown waits for requests in flight before it cuts their connections (PRIVATECA_SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  /** Memory for pre-signed OCSP answers, in bytes (PRIVATECA_OCSP_CACHE_MB; 0 signs every answer afresh). */
  ocspCacheBytes: number;
  /** How long a request waits for a database connection before it is answered 503 (PRIVATECA_DB_CONNECT_TIMEOUT_MS). */
  dbConnectTimeoutMs: number;
  /** When set, GET /metrics needs it as a bearer token (PRIVATECA_METRICS_TOKEN). */
  metricsToken?: string;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, not "${raw}"`);
  }
  return Number(raw);
}

/** PRIVATECA_CRL_S3_*: the S3 publication target, or undefined without a bucket. */
function crlS3Target(env: NodeJS.ProcessEnv): Config['crlS3'] {
  const bucket = env.PRIVATECA_CRL_S3_BUCKET || undefined;
  if (!bucket) {
    const stray = ['PRIVATECA_CRL_S3_PREFIX', 'PRIVATECA_CRL_S3_REGION', 'PRIVATECA_CRL_S3_ENDPOINT', 'PRIVATECA_CRL_S3_FORCE_PATH_STYLE'].find((n) => env[n]);
    if (stray) throw new ConfigError(`${stray} needs PRIVATECA_CRL_S3_BUCKET`);
    return undefined;
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError('PRIVATECA_CRL_S3_BUCKET must be a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens');
  }
  const prefix = env.PRIVATECA_CRL_S3_PREFIX ?? '';
  if (prefix.startsWith('/') || prefix.length > 512) throw new ConfigError('PRIVATECA_CRL_S3_PREFIX must not start with "/" (e.g. "crl/")');
  const endpoint = env.PRIVATECA_CRL_S3_ENDPOINT || undefined;
  if (endpoint && !/^https?:\/\/[^/?#@\s]+\/?$/.test(endpoint)) {
    throw new ConfigError('PRIVATECA_CRL_S3_ENDPOINT must be http(s)://host[:port], without credentials or a path');
  }
  const pathStyle = (env.PRIVATECA_CRL_S3_FORCE_PATH_STYLE ?? '').toLowerCase();
  if (!['', 'true', 'false'].includes(pathStyle)) throw new ConfigError('PRIVATECA_CRL_S3_FORCE_PATH_STYLE must be true or false');
  return {
    bucket,
    prefix,
    region: env.PRIVATECA_CRL_S3_REGION || env.AWS_REGION || undefined,
    endpoint,
    // S3-compatible services (MinIO, Ceph …) mostly want path-style URLs; AWS itself virtual-hosted ones.
    forcePathStyle: pathStyle ? pathStyle === 'true' : !!endpoint,
  };
}

/** Fails fast, with the variable's name, on anything it cannot use. */
export function loadConfig(env: NodeJS.ProcessEnv, knownKeyStores: readonly KeyStoreDescriptor[]): Config {
  const dataDir = path.resolve(env.PRIVATECA_DATA_DIR || './data');
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const cpus = os.availableParallelism();
  const workers = int(env, 'PRIVATECA_WORKERS', databaseUrl ? cpus : 1, 1, 64);
  if (workers > 1 && !databaseUrl) {
    throw new ConfigError('PRIVATECA_WORKERS > 1 needs DATABASE_URL: the embedded database belongs to one process');
  }
  const level = env.LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  if (env.PRIVATECA_BOOTSTRAP_TOKEN !== undefined && !/^[\x21-\x7e]{1,512}$/.test(env.PRIVATECA_BOOTSTRAP_TOKEN)) {
    throw new ConfigError('PRIVATECA_BOOTSTRAP_TOKEN must be 1 to 512 printable ASCII characters without spaces');
  }
  const keyStores = knownKeyStores.flatMap((descriptor) => {
    let settings: unknown;
    try {
      settings = descriptor.readConfig(env, { dataDir });
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
    return settings === undefined ? [] : [{ descriptor, settings }];
  });
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const publicUrl = env.PRIVATECA_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (!/^https?:\/\/[^/?#]+\/?$/.test(publicUrl)) throw new ConfigError('PRIVATECA_PUBLIC_URL must be http(s)://host[:port]');
  const pgliteSharedBuffers = env.PRIVATECA_PGLITE_SHARED_BUFFERS || '32MB';
  const sb = /^([0-9]{1,6})(kB|MB|GB)$/.exec(pgliteSharedBuffers);
  const sbBytes = sb ? Number(sb[1]) * { kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[sb[2] as 'kB' | 'MB' | 'GB'] : 0;
  if (sbBytes < 1024 ** 2 || sbBytes > 8 * 1024 ** 3) {
    throw new ConfigError(`PRIVATECA_PGLITE_SHARED_BUFFERS must be a size from 1MB to 8GB such as 32MB, not "${pgliteSharedBuffers}"`);
  }
  const crlPartitionSize = int(env, 'PRIVATECA_CRL_PARTITION_SIZE', 100_000, 1, 10_000_000);
  if (crlPartitionSize > 1000 && crlPartitionSize % 1000 !== 0) {
    throw new ConfigError('PRIVATECA_CRL_PARTITION_SIZE must be at most 1000 or a multiple of 1000');
  }
  const auditKeyStore = env.PRIVATECA_AUDIT_KEY_STORE || 'software';
  if (!keyStores.some((k) => k.descriptor.type === auditKeyStore)) {
    throw new ConfigError(`PRIVATECA_AUDIT_KEY_STORE must be a configured key store (${keyStores.map((k) => k.descriptor.type).join(', ')}), not "${auditKeyStore}"`);
  }
  const http = {
    headersTimeout: int(env, 'PRIVATECA_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
    requestTimeout: int(env, 'PRIVATECA_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
    keepAliveTimeout: int(env, 'PRIVATECA_KEEPALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
    maxConnections: int(env, 'PRIVATECA_MAX_CONNECTIONS', 4_096, 1, 1_000_000),
  };
  if (http.requestTimeout < http.headersTimeout) throw new ConfigError('PRIVATECA_REQUEST_TIMEOUT_MS must be at least PRIVATECA_HEADERS_TIMEOUT_MS');
  const metricsToken = env.PRIVATECA_METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,512}$/.test(metricsToken)) {
    throw new ConfigError('PRIVATECA_METRICS_TOKEN must be 16 to 512 printable ASCII characters without spaces');
  }
  const sealer = env.PRIVATECA_AUDIT_SEALER || 'on';
  if (sealer !== 'on' && sealer !== 'off') throw new ConfigError(`PRIVATECA_AUDIT_SEALER must be on or off, not "${sealer}"`);
  return {
    auditKeyStore,
    auditSealer: sealer === 'on',
    crlPartitionSize,
    crlDir: env.PRIVATECA_CRL_DIR ? path.resolve(env.PRIVATECA_CRL_DIR) : undefined,
    crlS3: crlS3Target(env),
    knownKeyStores,
    keyStores,
    port,
    host,
    publicUrl,
    databaseUrl,
    dataDir,
    pgliteSharedBuffers,
    bootstrapToken: env.PRIVATECA_BOOTSTRAP_TOKEN || undefined,
    logLevel: level,
    workers,
    dbPoolSize: int(env, 'PRIVATECA_DB_POOL', 16, 1, 200),
    http,
    shutdownTimeoutMs: int(env, 'PRIVATECA_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    ocspCacheBytes: int(env, 'PRIVATECA_OCSP_CACHE_MB', 128, 0, 65_536) * 1024 * 1024,
    dbConnectTimeoutMs: int(env, 'PRIVATECA_DB_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
    metricsToken,
  };
}
