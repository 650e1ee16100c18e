/** Who calls the API: a service or a person, authenticated by one of its tokens. */
export interface Principal {
  id: string;
  /** `[A-Za-z0-9._@-]{1,64}`, unique among principals that exist. */
  name: string;
  description?: string;
  status: 'ACTIVE' | 'DISABLED';
  /** Ids of the policies attached. */
  policies: string[];
  tags: Record<string, string>;
  /** Requests a second across all nodes; absent: no limit. */
  rateLimit?: RateLimit;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A token bucket: `burst` requests at once, refilled at `requestsPerSecond`. With `perCa`, each CA
 * the principal addresses (/v1/cas/{caId}/…) has a bucket of its own, and other requests share one.
 */
export interface RateLimit {
  requestsPerSecond: number;
  burst: number;
  perCa?: boolean;
}

export const PRINCIPAL_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** The bootstrap administrator's name. */
export const ADMIN_PRINCIPAL = 'admin';

/** A bearer token of a principal; only its SHA-256 is stored. */
export interface ApiToken {
  id: string;
  principalId: string;
  description?: string;
  createdAt: Date;
  expiresAt?: Date;
  /** Approximate: written at most once a minute per token and node. */
  lastUsedAt?: Date;
  deletedAt?: Date;
}

/** Tokens a principal may hold at once (rotation needs two; a few more for several deployments). */
export const MAX_TOKENS_PER_PRINCIPAL = 20;
