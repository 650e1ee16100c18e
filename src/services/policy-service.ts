import { randomUUID } from 'node:crypto';
import { CaError, conflict, invalid, notFound } from '../domain/ca-error.ts';
import { POLICY_NAME, type Policy } from '../domain/policy.ts';
import type { Clock } from '../ports/clock.ts';
import type { PolicyRepository, Repos } from '../ports/repositories.ts';
import type { Actor } from './actor.ts';
import { auditEvent } from './audit/event.ts';
import { compilePolicy } from './policy/policy-document.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 400 invalid_policy with each problem of the document by JSON pointer (`errors`). */
function checkDocument(document: unknown): void {
  const { problems } = compilePolicy(document, { id: 'new', name: 'new' });
  if (problems.length === 0) return;
  const shown = problems.slice(0, 3).map((p) => `${p.path || '/'}: ${p.message}`).join('; ');
  throw invalid('invalid_policy', `the policy document is not valid: ${shown}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`, { errors: problems });
}

/** Policies: create, change, delete; the built-in ones cannot be changed. */
export class PolicyService {
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly deps: { repos: Pick<Repos, 'policies' | 'tx'>; clock: Clock }) {}

  /** Told after every change, so that caches of compiled policies are dropped. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async create(actor: Actor, input: { name: string; description?: string; document: unknown }): Promise<Policy> {
    if (!POLICY_NAME.test(input.name) || UUID.test(input.name)) throw invalid('invalid_request', 'a policy name is 1 to 128 of A-Z a-z 0-9 . _ + = , @ -, and not a UUID');
    checkDocument(input.document);
    const now = this.deps.clock.now();
    const policy: Policy = { id: randomUUID(), name: input.name, description: input.description, document: input.document, builtIn: false, createdAt: now, updatedAt: now };
    await this.deps.repos
      .tx(async (r) => {
        if (await r.policies.getByName(input.name)) throw conflict('policy_exists', `a policy named ${input.name} exists`);
        await r.policies.insert(policy);
        await r.audit.record(auditEvent(actor, 'CreatePolicy', `policy/${policy.id}`, { name: policy.name, description: policy.description, document: policy.document }, now));
      })
      .catch(uniqueAs(conflict('policy_exists', `a policy named ${input.name} exists`)));
    this.changed();
    return policy;
  }

  async get(id: string): Promise<Policy> {
    const p = await this.deps.repos.policies.get(id);
    if (!p) throw notFound('policy_not_found', `no policy ${id}`);
    return p;
  }

  list(options: { limit: number; afterName?: string }): Promise<Policy[]> {
    return this.deps.repos.policies.list(options);
  }

  async update(actor: Actor, id: string, input: { description?: string; document: unknown }): Promise<Policy> {
    checkDocument(input.document);
    const now = this.deps.clock.now();
    const updated = await this.deps.repos.tx(async (r) => {
      const p = await r.policies.get(id, { forUpdate: true });
      if (!p) throw notFound('policy_not_found', `no policy ${id}`);
      if (p.builtIn) throw conflict('policy_built_in', `${p.name} is built in and cannot be changed; make a policy of your own from its document`);
      const next: Policy = { ...p, document: input.document, description: input.description ?? p.description, updatedAt: now };
      await r.policies.save(next);
      await r.audit.record(auditEvent(actor, 'UpdatePolicy', `policy/${id}`, { name: p.name, previousDocument: p.document, document: next.document }, now));
      return next;
    });
    this.changed();
    return updated;
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.repos.tx(async (r) => {
      const p = await r.policies.get(id, { forUpdate: true });
      if (!p) throw notFound('policy_not_found', `no policy ${id}`);
      if (p.builtIn) throw conflict('policy_built_in', `${p.name} is built in and cannot be deleted`);
      const n = await r.policies.attachments(id);
      if (n > 0) throw conflict('policy_in_use', `${p.name} is attached to ${n} principal${n === 1 ? '' : 's'}; detach it first`);
      await r.policies.remove(id);
      await r.audit.record(auditEvent(actor, 'DeletePolicy', `policy/${id}`, { name: p.name }, now));
    });
    this.changed();
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

/**
 * The ids of policies named by id or by name (names are never UUID-shaped), in order, without
 * repeats; 400 policy_not_found naming those that do not exist.
 */
export async function resolvePolicies(policies: Pick<PolicyRepository, 'existing' | 'getByName'>, refs: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  const missing: string[] = [];
  const byId = refs.filter((r) => UUID.test(r)).map((r) => r.toLowerCase());
  const found = new Set(await policies.existing(byId));
  for (const ref of refs) {
    if (UUID.test(ref)) {
      if (found.has(ref.toLowerCase())) ids.push(ref.toLowerCase());
      else missing.push(ref);
    } else {
      const p = await policies.getByName(ref);
      if (p) ids.push(p.id);
      else missing.push(ref);
    }
  }
  if (missing.length) throw invalid('policy_not_found', `no policy ${missing.map((m) => JSON.stringify(m)).join(', ')}`);
  return [...new Set(ids)];
}

/** A unique violation (two creations racing for one name) answered as `error`. */
export const uniqueAs =
  (error: CaError) =>
  (e: unknown): never => {
    if ((e as { code?: string }).code === '23505') throw error;
    throw e;
  };
