/*
 * The console's only way to the service: the public /v1 API of docs/api.md, with the signed-in
 * principal's token. The token lives in sessionStorage (this tab, until it is closed or the user
 * signs out), never in a URL or a cookie.
 */

const TOKEN_KEY = 'privateca.token';

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: { path: string; message: string }[];
  [k: string]: unknown;
}

/** A request the API refused: its problem+json, whose `detail` the console shows as it is. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }
  get status(): number {
    return this.problem.status;
  }
  get code(): string | undefined {
    return this.problem.code;
  }
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Called when the service says the token is no longer good (401): the app goes back to sign-in. */
let onUnauthorized: () => void = () => {};
export const whenUnauthorized = (f: () => void) => {
  onUnauthorized = f;
};

export async function api<T = unknown>(method: string, path: string, body?: unknown, options: { accept?: string; token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
  const t = options.token ?? token.get();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok) {
    const problem: Problem = type.includes('json') ? await res.json() : { status: res.status, detail: await res.text() };
    problem.status ??= res.status;
    if (res.status === 401 && !options.token) onUnauthorized();
    throw new ApiError(problem);
  }
  return (type.includes('json') ? res.json() : res.text()) as Promise<T>;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Subject {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
  state?: string;
  locality?: string;
}

export interface Ca {
  id: string;
  type: 'ROOT' | 'SUBORDINATE';
  status: string;
  subject: Subject;
  /** The CA certificate's issuer; absent before it has a certificate. */
  issuer?: Subject;
  keyAlgorithm: string;
  signingAlgorithm: string;
  keyStore: { type: string; status: string; reason?: string };
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  revocation: {
    crl: { enabled: boolean; baseUrl?: string; schedule?: string; validityHours?: number; partitioned?: boolean };
    ocsp: { enabled: boolean; baseUrl?: string; validityHours?: number };
  };
  tags: Record<string, string>;
  createdAt: string;
  restorableUntil?: string;
  warnings?: string[];
}

export interface CertificateItem {
  serial: string;
  status: string;
  subject: string;
  subjectAlternativeNames: Record<string, string[]>;
  template: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  revokedAt?: string;
  revocationReason?: string;
  certificate?: string;
}

export interface CrlStatus {
  crlNumber: string;
  thisUpdate: string;
  nextUpdate: string;
  revokedCount: number;
  url: string;
  targets: { target: string; partition: string; crlNumber: string; ok: boolean; attempts: number; error?: string; at: string }[];
}

export interface Check {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/** Which of these actions the signed-in principal may take (POST /v1/authorize), in order. */
export async function allowed(checks: Check[]): Promise<boolean[]> {
  if (checks.length === 0) return [];
  const r = await api<{ results: { allowed: boolean }[] }>('POST', '/v1/authorize', { checks: checks.map((c) => ({ ...c, action: `privateca:${c.action}` })) });
  return r.results.map((x) => x.allowed);
}

export const REVOCATION_REASONS = [
  ['UNSPECIFIED', 'Unspecified'],
  ['KEY_COMPROMISE', 'Key compromise'],
  ['CERTIFICATE_AUTHORITY_COMPROMISE', 'CA compromise'],
  ['AFFILIATION_CHANGED', 'Affiliation changed'],
  ['SUPERSEDED', 'Superseded'],
  ['CESSATION_OF_OPERATION', 'Cessation of operation'],
  ['PRIVILEGE_WITHDRAWN', 'Privilege withdrawn'],
  ['A_A_COMPROMISE', 'AA compromise'],
] as const;

/** The key algorithms of CAs and of keys the service generates (docs/api.md). */
export const KEY_ALGORITHMS = ['EC_prime256v1', 'EC_secp384r1', 'EC_secp521r1', 'RSA_2048', 'RSA_3072', 'RSA_4096'] as const;

/** Bytes from base64 (a PKCS#12 from the API, the body of a PEM). */
export const fromBase64 = (b64: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** The bytes of a binary answer (an audit report's DER signature), with the same token and errors as api(). */
export async function apiBytes(path: string): Promise<Uint8Array<ArrayBuffer>> {
  const t = token.get();
  const res = await fetch(path, { headers: { accept: '*/*', ...(t ? { authorization: `Bearer ${t}` } : {}) }, credentials: 'omit', cache: 'no-store' });
  if (!res.ok) {
    const type = res.headers.get('content-type') ?? '';
    const problem: Problem = type.includes('json') ? await res.json() : { status: res.status, detail: await res.text() };
    problem.status ??= res.status;
    throw new ApiError(problem);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** Every page of a list, for the few lists a person reads whole (principals, policies, CAs); at most `max` items. */
export async function all<T>(path: string, max = 1000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: Page<T> = await api<Page<T>>('GET', `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && out.length < max);
  return out;
}

export interface Principal {
  id: string;
  name: string;
  description?: string;
  status: 'ACTIVE' | 'DISABLED';
  policies: string[];
  tags: Record<string, string>;
  rateLimit?: { requestsPerSecond: number; burst?: number; perCa?: boolean };
  createdAt: string;
  updatedAt: string;
}

export interface Policy {
  id: string;
  name: string;
  description?: string;
  document: unknown;
  builtIn: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Token {
  id: string;
  description?: string;
  createdAt: string;
  expiresAt?: string | null;
  lastUsedAt?: string | null;
}

export interface Decision {
  allowed: boolean;
  reason: 'allowed' | 'explicit_deny' | 'no_allow';
  statement?: string;
  policy?: string;
  detail: string;
}

/** GET /v1/cas/{caId}/certificate-stats: the dashboard's figures for one CA. */
export interface CertificateStats {
  caId: string;
  at: string;
  issued: number;
  expired: number;
  revoked: number;
  expiringWithin30Days: number;
  hourly: { start: string; count: number }[];
  daily: { start: string; count: number }[];
}

/** GET /v1/cas/{caId}/ocsp: the CA's OCSP responder. */
export interface OcspStatus {
  enabled: boolean;
  url: string | null;
  validityHours: number;
  responderKeyStore: 'software' | 'ca';
  responder: { serial: string; notBefore: string; notAfter: string; subject: string } | null;
}

export interface AuditReport {
  id: string;
  caId: string;
  format: 'JSON' | 'CSV';
  status: 'CREATING' | 'SUCCESS' | 'FAILED';
  createdAt: string;
  rows?: number;
  sha256?: string;
  completedAt?: string;
}
