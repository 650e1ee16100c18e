import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { CaError } from '../domain/ca-error.ts';
import type { Clock } from '../ports/clock.ts';
import type { ApiToken, Repos } from '../ports/repositories.ts';

/** How long a looked-up token is trusted without asking the database again. */
const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;

export const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** A new API token: 32 random bytes, base64url, with a prefix that secret scanners recognise. */
export const newToken = (): string => 'pca_' + randomBytes(32).toString('base64url');

/**
 * Bearer tokens. Only their SHA-256 is stored: tokens are 256-bit random values, so a slow
 * password hash would add nothing but latency to every request.
 */
export class AuthService {
  private readonly cache = new Map<string, { token: ApiToken | undefined; until: number }>();

  constructor(private readonly deps: { repos: Repos; clock: Clock }) {}

  async authenticate(bearer: string | undefined): Promise<ApiToken> {
    if (!bearer) throw new CaError('unauthenticated', 'unauthenticated', 'an Authorization: Bearer token is required');
    const key = hashToken(bearer);
    const k = key.toString('base64');
    const now = this.deps.clock.now().getTime();
    let hit = this.cache.get(k);
    if (!hit || hit.until < now) {
      const token = await this.deps.repos.tokens.findByHash(key);
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      hit = { token: token && !token.revokedAt ? token : undefined, until: now + CACHE_MS };
      this.cache.set(k, hit);
    }
    if (!hit.token) throw new CaError('unauthenticated', 'unauthenticated', 'the bearer token is not valid');
    return hit.token;
  }

  /**
   * On an empty database, creates the administrator with `token` (or a random one) and returns the
   * token; returns undefined when principals exist already. The caller holds a lock across nodes.
   */
  async bootstrap(token?: string): Promise<string | undefined> {
    const { repos, clock } = this.deps;
    if ((await repos.tokens.count()) > 0) return undefined;
    const value = token ?? newToken();
    const now = clock.now();
    await repos.tx(async (r) => {
      const admin: ApiToken = { id: randomUUID(), name: 'administrator', role: 'admin', createdAt: now };
      await r.tokens.insert(admin, hashToken(value));
      await r.audit.record({ at: now, actor: 'system', action: 'principal.bootstrap', detail: { tokenId: admin.id, name: admin.name } });
    });
    return value;
  }
}
