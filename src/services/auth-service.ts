import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { CaError } from '../domain/ca-error.ts';
import { ADMIN_PRINCIPAL, type Principal } from '../domain/principal.ts';
import { ADMINISTRATOR_ACCESS, BUILT_IN_POLICIES, type Policy } from '../domain/policy.ts';
import type { Clock } from '../ports/clock.ts';
import type { Credential, Repos } from '../ports/repositories.ts';
import { SYSTEM_ACTOR } from './actor.ts';
import { auditEvent } from './audit/event.ts';
import { compilePolicy, type CompiledPolicy } from './policy/policy-document.ts';

/**
 * How long a looked-up token is trusted without asking the database again: a deleted or expired
 * token, a disabled principal, a changed policy take effect on every node within this (docs/api.md
 * promises 5 s). Expiry itself is checked on every request.
 */
const CACHE_MS = 4_000;
const CACHE_MAX = 10_000;
/** How often the approximate lastUsedAt of the tokens used is written. */
const TOUCH_MS = 30_000;

export const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** A new API token: 32 random bytes, base64url, with a prefix that secret scanners recognise. */
export const newToken = (): string => 'pca_' + randomBytes(32).toString('base64url');

/** An authenticated caller: the principal, the token it used, and its policies compiled. */
export interface Caller {
  principal: Principal;
  tokenId: string;
  policies: readonly CompiledPolicy[];
}

/**
 * A refused credential, with why: 401 unauthenticated. `known` is set when the token names a real
 * (deleted, expired or disabled) one, which is worth an audit record.
 */
export class Unauthenticated extends CaError {
  constructor(
    detail: string,
    readonly known?: { tokenId: string; principalId: string; principalName: string; why: 'token_deleted' | 'token_expired' | 'principal_disabled' | 'principal_deleted' },
  ) {
    super('unauthenticated', 'unauthenticated', detail);
  }
}

/**
 * Bearer tokens of principals. Only their SHA-256 is stored: tokens are 256-bit random values, so a
 * slow password hash would add nothing but latency to every request. Policies are compiled once per
 * change (by updatedAt), not per request.
 */
export class AuthService {
  private readonly cache = new Map<string, { credential: Credential | undefined; until: number }>();
  private readonly compiled = new Map<string, { updatedAt: number; policy: CompiledPolicy | undefined }>();
  private readonly used = new Set<string>();
  private touchTimer?: NodeJS.Timeout;

  constructor(private readonly deps: { repos: Pick<Repos, 'tokens' | 'principals' | 'policies' | 'tx' | 'audit'>; clock: Clock }) {}

  async authenticate(bearer: string | undefined): Promise<Caller> {
    if (!bearer) throw new Unauthenticated('an Authorization: Bearer token is required');
    const key = hashToken(bearer);
    const k = key.toString('base64');
    const now = this.deps.clock.now().getTime();
    let hit = this.cache.get(k);
    if (!hit || hit.until < now) {
      const credential = await this.deps.repos.tokens.findCredential(key);
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      hit = { credential, until: now + CACHE_MS };
      this.cache.set(k, hit);
    }
    const c = hit.credential;
    if (!c) throw new Unauthenticated('the bearer token is not valid');
    const known = (why: NonNullable<Unauthenticated['known']>['why']) => ({ tokenId: c.token.id, principalId: c.principal.id, principalName: c.principal.name, why });
    if (c.token.deletedAt) throw new Unauthenticated('the bearer token was deleted', known('token_deleted'));
    if (c.token.expiresAt && c.token.expiresAt.getTime() <= now) throw new Unauthenticated(`the bearer token expired at ${c.token.expiresAt.toISOString()}`, known('token_expired'));
    if (c.principal.deletedAt) throw new Unauthenticated('the principal of this token was deleted', known('principal_deleted'));
    if (c.principal.status !== 'ACTIVE') throw new Unauthenticated(`principal ${c.principal.name} is disabled`, known('principal_disabled'));
    this.noteUse(c.token.id);
    return { principal: c.principal, tokenId: c.token.id, policies: this.compile(c.policies) };
  }

  /** The policies compiled, each once per change; one that no longer compiles grants nothing. */
  compile(policies: readonly Policy[]): CompiledPolicy[] {
    const out: CompiledPolicy[] = [];
    for (const p of policies) {
      const updatedAt = p.updatedAt.getTime();
      let c = this.compiled.get(p.id);
      if (!c || c.updatedAt !== updatedAt) {
        c = { updatedAt, policy: compilePolicy(p.document, { id: p.id, name: p.name }).policy };
        this.compiled.set(p.id, c);
      }
      if (c.policy) out.push(c.policy);
    }
    return out;
  }

  /** Forgets every cached credential: this node just changed a token, a principal or a policy. */
  invalidate(): void {
    this.cache.clear();
  }

  private noteUse(tokenId: string): void {
    this.used.add(tokenId);
    if (this.touchTimer) return;
    this.touchTimer = setTimeout(() => void this.flushUse(), TOUCH_MS);
    this.touchTimer.unref();
  }

  /** Writes lastUsedAt of the tokens used since the last time (best effort: it is approximate). */
  async flushUse(): Promise<void> {
    clearTimeout(this.touchTimer);
    this.touchTimer = undefined;
    const ids = [...this.used];
    this.used.clear();
    await this.deps.repos.tokens.touch(ids, this.deps.clock.now()).catch(() => {});
  }

  /**
   * At every start, under a lock across nodes: the built-in policies are made current; on an empty
   * database the administrator `admin` (AdministratorAccess) is created with `token` (or a random one,
   * which is returned); a database from before principals existed gets `admin` for its tokens.
   */
  async bootstrap(token?: string): Promise<string | undefined> {
    const { repos, clock } = this.deps;
    const now = clock.now();
    return repos.tx(async (r) => {
      for (const p of BUILT_IN_POLICIES) await r.policies.upsertBuiltIn({ ...p, builtIn: true, createdAt: now, updatedAt: now });
      if ((await r.principals.list({ limit: 1 })).length > 0) return undefined;
      const admin: Principal = {
        id: randomUUID(),
        name: ADMIN_PRINCIPAL,
        description: 'the bootstrap administrator',
        status: 'ACTIVE',
        policies: [ADMINISTRATOR_ACCESS],
        tags: {},
        createdAt: now,
        updatedAt: now,
      };
      const legacy = (await r.tokens.count()) > 0;
      await r.principals.insert(admin);
      if (legacy) {
        const adopted = await r.tokens.adoptOrphans(admin.id);
        await r.audit.record(auditEvent(SYSTEM_ACTOR, 'Bootstrap', `principal/${admin.id}`, { name: admin.name, policies: admin.policies, adoptedTokens: adopted }, now));
        return undefined;
      }
      const value = token ?? newToken();
      const tokenId = randomUUID();
      await r.tokens.insert({ id: tokenId, principalId: admin.id, description: 'bootstrap token', createdAt: now }, hashToken(value));
      await r.audit.record(auditEvent(SYSTEM_ACTOR, 'Bootstrap', `principal/${admin.id}`, { name: admin.name, policies: admin.policies, tokenId }, now));
      return value;
    });
  }
}
