import type { KeyAlgorithm, SigningAlgorithm } from '../domain/key-algorithm.ts';
import type { Clock } from './clock.ts';
import type { SoftwareKeyRepository } from './repositories.ts';

/**
 * What a Signer signs: one byte string, or several whose concatenation is signed (a CRL of a million
 * entries is 45 MB in pieces; joining them would cost that much memory again), given at once or as
 * an async iterable that reads them as it goes (a large CRL's entries, read back from the database
 * one piece at a time). An iterable must start again from the first piece each time it is iterated;
 * adapters iterate it at most once per signature.
 */
export type SignInput = Uint8Array | readonly Uint8Array[] | AsyncIterable<Uint8Array>;

/**
 * Signs with one private key that stays inside its key store.
 * `sign` returns the signature exactly as X.509 carries it: DER ECDSA-Sig-Value for EC keys,
 * the PKCS#1 v1.5 signature for RSA keys. Adapters whose device returns raw r||s convert in one place.
 */
export interface Signer {
  readonly keyUri: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo. */
  readonly publicKeySpki: Uint8Array;
  sign(algorithm: SigningAlgorithm, data: SignInput): Promise<Uint8Array>;
  /**
   * Synchronous signing, offered only where it is cheap and safe (in-process software keys); the
   * issuance hot path uses it to avoid a promise per certificate.
   */
  signSync?(algorithm: SigningAlgorithm, data: Uint8Array): Uint8Array;
}

/** Creates and finds keys. A key is named by a URI whose scheme picks the adapter. */
export interface KeyStore {
  /** The key store type as the API names it: software, pkcs11, aws-kms. */
  readonly type: string;
  createKey(options: { algorithm: KeyAlgorithm; label: string }): Promise<{ keyUri: string }>;
  getSigner(keyUri: string): Promise<Signer>;
  /**
   * Whether the key can sign right now and, when it cannot, why (wrong PIN, token missing, key
   * disabled...). Never throws for an outage: an outage is a status. Cheap enough for every GET of a CA.
   */
  keyStatus(keyUri: string): Promise<KeyStatus>;
  /**
   * Whether the store itself can be used now (the token present and logged in, KMS reachable):
   * what GET /readyz reports. Never throws; cheap enough for a load balancer's health check.
   */
  ready(): Promise<KeyStatus>;
  close(): Promise<void>;
}

/** What the CA object shows about its key: `reason` is safe to show and holds no secret. */
export interface KeyStatus {
  state: 'AVAILABLE' | 'UNAVAILABLE';
  reason?: string;
}

/** Optional capability: keys that can be destroyed when their CA is deleted for good. */
export interface DeletableKeyStore extends KeyStore {
  deleteKey(keyUri: string): Promise<void>;
}

export const isDeletable = (ks: KeyStore): ks is DeletableKeyStore =>
  typeof (ks as Partial<DeletableKeyStore>).deleteKey === 'function';

/** Finds the key store for a type (at CA creation) or for a key URI (afterwards). */
export interface KeyStoreRegistry {
  /** Throws CaError key_store_unavailable when the type is unknown or not configured. */
  forType(type: string): KeyStore;
  forUri(keyUri: string): KeyStore;
}

/** What a key store adapter may use from the service when it is created. */
export interface KeyStoreContext {
  /** The software key store keeps its sealed keys here. */
  softwareKeys: SoftwareKeyRepository;
  clock: Clock;
}

/**
 * How a key store adapter plugs into the service: its type (as the API names it), its key URI
 * scheme, how it reads its configuration and how it is made. Each adapter folder exports one, and
 * hsm-adapters/index.ts lists them; configuration, the API schema, the registry and the contract
 * suite all take the list from there.
 */
export interface KeyStoreDescriptor<C = unknown> {
  readonly type: string;
  /** The key URI scheme, without the colon (`software`, `pkcs11`, `awskms`). */
  readonly scheme: string;
  /**
   * Reads the store's settings from the environment: undefined when the store is not configured
   * (it is then refused at CA creation with 400 key_store_unavailable). Throws an Error whose
   * message names the variable when a setting cannot be used. Never logs a secret.
   */
  readConfig(env: NodeJS.ProcessEnv, service: { dataDir: string }): C | undefined;
  /** Fails fast at start, before anything is written, when the configuration cannot work (an unreadable KEK). */
  check?(config: C): Promise<void>;
  create(config: C, context: KeyStoreContext): Promise<KeyStore>;
}
