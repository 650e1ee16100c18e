/** The closed set of error kinds; only api/errors.ts maps them to HTTP status codes. */
export type CaErrorKind =
  | 'invalid_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'not_acceptable'
  | 'conflict'
  | 'invalid_state'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

/**
 * An error whose `code` is stable and machine-readable and whose `detail` is safe to show to the
 * caller. Anything that is not a CaError is an internal error and is never shown. `extra` holds
 * further members of the problem document (the `errors` of a validation failure, say), equally safe.
 */
export class CaError extends Error {
  readonly kind: CaErrorKind;
  readonly code: string;
  readonly detail: string;
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Seconds after which a retry may succeed (the Retry-After of a 429 or 503). */
  readonly retryAfter?: number;

  constructor(kind: CaErrorKind, code: string, detail: string, options?: { cause?: unknown; extra?: Record<string, unknown>; retryAfter?: number }) {
    super(`${code}: ${detail}`, options);
    this.name = 'CaError';
    this.kind = kind;
    this.code = code;
    this.detail = detail;
    if (options?.extra) this.extra = options.extra;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

export const invalid = (code: string, detail: string, extra?: Record<string, unknown>) => new CaError('invalid_request', code, detail, { extra });
export const notFound = (code: string, detail: string) => new CaError('not_found', code, detail);
export const conflict = (code: string, detail: string) => new CaError('conflict', code, detail);
/** The resource is in a state that does not allow the operation (docs/api.md: 409 invalid_state). */
export const invalidState = (detail: string) => new CaError('invalid_state', 'invalid_state', detail);
export const unavailable = (code: string, detail: string) => new CaError('unavailable', code, detail);

/** How long a client waits before retrying a request refused for a database outage. */
const DATABASE_RETRY_AFTER_S = 2;
/** The database cannot be reached (stopped, restarting, network): 503 with Retry-After, logged once per outage, not per request. */
export const databaseUnavailable = (cause?: unknown) =>
  new CaError('unavailable', 'database_unavailable', 'the database cannot be reached; retry shortly', { cause, retryAfter: DATABASE_RETRY_AFTER_S });
export const isDatabaseUnavailable = (e: unknown): boolean => e instanceof CaError && e.code === 'database_unavailable';
