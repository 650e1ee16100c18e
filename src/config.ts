import os from 'node:os';
import path from 'node:path';

/** The service configuration, read once from the environment and validated. */
export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  kekFile: string;
  /** base64; takes precedence over kekFile. Never logged. */
  kek?: string;
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
  /** The PKCS#11 key store (PRIVATECA_PKCS11_*), when a module is configured. The PIN is never logged. */
  pkcs11?: { module: string; tokenLabel?: string; tokenSerial?: string; pin?: string; pinFile?: string; sessions: number; syncSign: boolean };
  /** The AWS KMS key store, configured when AWS_REGION or AWS_DEFAULT_REGION is set; the rest comes from the AWS chain. */
  awsKms?: { region: string };
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

/** PRIVATECA_PKCS11_*: module, token by label or serial, and the PIN from the environment or a file. */
function pkcs11Store(env: NodeJS.ProcessEnv): Config['pkcs11'] {
  const names = ['PRIVATECA_PKCS11_TOKEN_LABEL', 'PRIVATECA_PKCS11_TOKEN_SERIAL', 'PRIVATECA_PKCS11_PIN', 'PRIVATECA_PKCS11_PIN_FILE', 'PRIVATECA_PKCS11_SESSIONS', 'PRIVATECA_PKCS11_SIGN'];
  const module = env.PRIVATECA_PKCS11_MODULE || undefined;
  if (!module) {
    const stray = names.find((n) => env[n]);
    if (stray) throw new ConfigError(`${stray} needs PRIVATECA_PKCS11_MODULE (the path of the PKCS#11 library)`);
    return undefined;
  }
  if (!path.isAbsolute(module)) throw new ConfigError('PRIVATECA_PKCS11_MODULE must be an absolute path to the PKCS#11 library (.so)');
  const tokenLabel = env.PRIVATECA_PKCS11_TOKEN_LABEL || undefined;
  const tokenSerial = env.PRIVATECA_PKCS11_TOKEN_SERIAL || undefined;
  if (!tokenLabel && !tokenSerial) throw new ConfigError('PRIVATECA_PKCS11_MODULE needs PRIVATECA_PKCS11_TOKEN_LABEL or PRIVATECA_PKCS11_TOKEN_SERIAL');
  const pin = env.PRIVATECA_PKCS11_PIN || undefined;
  const pinFile = env.PRIVATECA_PKCS11_PIN_FILE ? path.resolve(env.PRIVATECA_PKCS11_PIN_FILE) : undefined;
  if (!pin === !pinFile) throw new ConfigError('PRIVATECA_PKCS11_MODULE needs exactly one of PRIVATECA_PKCS11_PIN and PRIVATECA_PKCS11_PIN_FILE');
  const sign = env.PRIVATECA_PKCS11_SIGN || 'async';
  if (sign !== 'async' && sign !== 'sync') throw new ConfigError('PRIVATECA_PKCS11_SIGN must be async or sync');
  return { module, tokenLabel, tokenSerial, pin, pinFile, sessions: int(env, 'PRIVATECA_PKCS11_SESSIONS', 8, 1, 256), syncSign: sign === 'sync' };
}

/** Fails fast, with the variable's name, on anything it cannot use. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
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
  const kek = env.PRIVATECA_KEK || undefined;
  if (kek !== undefined && Buffer.from(kek, 'base64').length !== 32) {
    throw new ConfigError('PRIVATECA_KEK must be 32 bytes in base64 (44 characters)');
  }
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const publicUrl = env.PRIVATECA_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (!/^https?:\/\/[^/?#]+\/?$/.test(publicUrl)) throw new ConfigError('PRIVATECA_PUBLIC_URL must be http(s)://host[:port]');
  const crlPartitionSize = int(env, 'PRIVATECA_CRL_PARTITION_SIZE', 100_000, 1, 10_000_000);
  if (crlPartitionSize > 1000 && crlPartitionSize % 1000 !== 0) {
    throw new ConfigError('PRIVATECA_CRL_PARTITION_SIZE must be at most 1000 or a multiple of 1000');
  }
  return {
    crlPartitionSize,
    crlDir: env.PRIVATECA_CRL_DIR ? path.resolve(env.PRIVATECA_CRL_DIR) : undefined,
    crlS3: crlS3Target(env),
    pkcs11: pkcs11Store(env),
    awsKms: env.AWS_REGION || env.AWS_DEFAULT_REGION ? { region: (env.AWS_REGION || env.AWS_DEFAULT_REGION)! } : undefined,
    port,
    host,
    publicUrl,
    databaseUrl,
    dataDir,
    kekFile: path.resolve(env.PRIVATECA_KEK_FILE || path.join(dataDir, 'kek')),
    kek,
    bootstrapToken: env.PRIVATECA_BOOTSTRAP_TOKEN || undefined,
    logLevel: level,
    workers,
    dbPoolSize: int(env, 'PRIVATECA_DB_POOL', 16, 1, 200),
  };
}
