import { randomUUID } from 'node:crypto';
import { conflict, invalid, notFound } from '../domain/ca-error.ts';
import { ADMINISTRATOR_ACCESS } from '../domain/policy.ts';
import { MAX_TOKENS_PER_PRINCIPAL, type ApiToken, type Principal, type RateLimit } from '../domain/principal.ts';
import type { Clock } from '../ports/clock.ts';
import type { Repos } from '../ports/repositories.ts';
import type { Actor } from './actor.ts';
import { auditEvent } from './audit/event.ts';
import { hashToken, newToken } from './auth-service.ts';
import { resolvePolicies, uniqueAs } from './policy-service.ts';

export interface CreatePrincipalInput {
  name: string;
  description?: string;
  /** Policy ids, or names. */
  policies?: string[];
  tags?: Record<string, string>;
  rateLimit?: RateLimitInput;
}

/** A rate limit as the API takes it: burst defaults to a second's worth of requests. */
export interface RateLimitInput {
  requestsPerSecond: number;
  burst?: number;
  perCa?: boolean;
}

const rateLimit = (r: RateLimitInput): RateLimit => ({
  requestsPerSecond: r.requestsPerSecond,
  burst: r.burst ?? Math.max(1, Math.ceil(r.requestsPerSecond)),
  ...(r.perCa ? { perCa: true } : {}),
});

export interface UpdatePrincipalInput {
  description?: string;
  status?: 'ACTIVE' | 'DISABLED';
  policies?: string[];
  tags?: Record<string, string>;
  /** null removes the limit. */
  rateLimit?: RateLimitInput | null;
}

/**
 * Principals and their tokens. Nothing may leave the service without an ACTIVE principal that holds
 * AdministratorAccess and a token that works: such a change is 409 lockout_prevented.
 */
export class PrincipalService {
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly deps: { repos: Repos; clock: Clock }) {}

  /** Told after every change to a principal or a token (the authentication cache drops what it holds). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async create(actor: Actor, input: CreatePrincipalInput): Promise<Principal> {
    const now = this.deps.clock.now();
    const taken = conflict('principal_exists', `a principal named ${input.name} exists`);
    const principal = await this.deps.repos
      .tx(async (r) => {
        if (await r.principals.getByName(input.name)) throw taken;
        const p: Principal = {
          id: randomUUID(),
          name: input.name,
          description: input.description,
          status: 'ACTIVE',
          policies: await resolvePolicies(r.policies, input.policies ?? []),
          tags: input.tags ?? {},
          ...(input.rateLimit ? { rateLimit: rateLimit(input.rateLimit) } : {}),
          createdAt: now,
          updatedAt: now,
        };
        await r.principals.insert(p);
        await r.audit.record(auditEvent(actor, 'CreatePrincipal', `principal/${p.id}`, { name: p.name, description: p.description, policies: p.policies, tags: p.tags, rateLimit: p.rateLimit }, now));
        return p;
      })
      .catch(uniqueAs(taken));
    this.changed();
    return principal;
  }

  async get(id: string): Promise<Principal> {
    const p = await this.deps.repos.principals.get(id);
    if (!p) throw notFound('principal_not_found', `no principal ${id}`);
    return p;
  }

  list(options: { limit: number; afterName?: string }): Promise<Principal[]> {
    return this.deps.repos.principals.list(options);
  }

  async update(actor: Actor, id: string, input: UpdatePrincipalInput): Promise<Principal> {
    const now = this.deps.clock.now();
    const updated = await this.deps.repos.tx(async (r) => {
      await r.principals.lockAdministrators();
      const p = await r.principals.get(id, { forUpdate: true });
      if (!p) throw notFound('principal_not_found', `no principal ${id}`);
      const next: Principal = {
        ...p,
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.status ? { status: input.status } : {}),
        ...(input.tags ? { tags: input.tags } : {}),
        ...(input.policies ? { policies: await resolvePolicies(r.policies, input.policies) } : {}),
        updatedAt: now,
      };
      if (input.rateLimit === null) delete next.rateLimit;
      else if (input.rateLimit) next.rateLimit = rateLimit(input.rateLimit);
      await r.principals.save(next);
      await this.preventLockout(r, now);
      await r.audit.record(
        auditEvent(actor, 'UpdatePrincipal', `principal/${id}`, { name: p.name, changed: { ...input, ...(input.policies ? { policies: next.policies } : {}) }, previous: { status: p.status, policies: p.policies, tags: p.tags, rateLimit: p.rateLimit } }, now),
      );
      return next;
    });
    this.changed();
    return updated;
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.repos.tx(async (r) => {
      await r.principals.lockAdministrators();
      const p = await r.principals.get(id, { forUpdate: true });
      if (!p) throw notFound('principal_not_found', `no principal ${id}`);
      await r.principals.remove(id, now);
      await this.preventLockout(r, now);
      await r.audit.record(auditEvent(actor, 'DeletePrincipal', `principal/${id}`, { name: p.name }, now));
    });
    this.changed();
  }

  /** A new token of the principal; its secret is in the answer only (the service keeps its hash). */
  async createToken(actor: Actor, principalId: string, input: { description?: string; expiresAt?: Date }): Promise<{ token: ApiToken; secret: string }> {
    const now = this.deps.clock.now();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw invalid('invalid_expiry', 'expiresAt must be in the future');
    const secret = newToken();
    const token: ApiToken = { id: randomUUID(), principalId, description: input.description, createdAt: now, expiresAt: input.expiresAt };
    await this.deps.repos.tx(async (r) => {
      const p = await r.principals.get(principalId, { forUpdate: true });
      if (!p) throw notFound('principal_not_found', `no principal ${principalId}`);
      const live = (await r.tokens.list(principalId)).filter((t) => !t.expiresAt || t.expiresAt > now);
      if (live.length >= MAX_TOKENS_PER_PRINCIPAL) throw conflict('token_limit', `principal ${p.name} has ${live.length} tokens, the most it may have; delete one first`);
      await r.tokens.insert(token, hashToken(secret));
      await r.audit.record(
        auditEvent(actor, 'CreateToken', `principal/${principalId}`, { name: p.name, tokenId: token.id, description: token.description, expiresAt: token.expiresAt?.toISOString() ?? null }, now),
      );
    });
    this.changed();
    return { token, secret };
  }

  async listTokens(principalId: string): Promise<ApiToken[]> {
    await this.get(principalId);
    return this.deps.repos.tokens.list(principalId);
  }

  async deleteToken(actor: Actor, principalId: string, tokenId: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.repos.tx(async (r) => {
      await r.principals.lockAdministrators();
      const p = await r.principals.get(principalId);
      if (!p) throw notFound('principal_not_found', `no principal ${principalId}`);
      if (!(await r.tokens.remove(principalId, tokenId, now))) throw notFound('token_not_found', `principal ${p.name} has no token ${tokenId}`);
      await this.preventLockout(r, now);
      await r.audit.record(auditEvent(actor, 'DeleteToken', `principal/${principalId}`, { name: p.name, tokenId }, now));
    });
    this.changed();
  }

  /**
   * Within the transaction of a change, after it: at least one ACTIVE principal must still hold
   * AdministratorAccess and a token that works, or the change is refused (and rolled back). The
   * administrators lock serialises such changes, so two of them cannot each leave the other last.
   */
  private async preventLockout(r: Repos, now: Date): Promise<void> {
    if ((await r.principals.countAbleAdministrators(ADMINISTRATOR_ACCESS, now)) > 0) return;
    throw conflict('lockout_prevented', 'this would leave no ACTIVE principal with AdministratorAccess and a valid token; give another principal AdministratorAccess and a token first');
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
