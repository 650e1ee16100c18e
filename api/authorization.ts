import type { TLSSocket } from 'node:tls';
import { CaError } from '../src/domain/ca-error.ts';
import type { Ca } from '../src/domain/ca.ts';
import type { Clock } from '../src/ports/clock.ts';
import type { Caller } from '../src/services/auth-service.ts';
import { qualified, type ActionName } from '../src/services/policy/actions.ts';
import { evaluate, type Decision } from '../src/services/policy/evaluate.ts';
import type { CompiledPolicy } from '../src/services/policy/policy-document.ts';
import { contextKeys, tagKeys, type ContextValue } from '../src/services/policy/request-context.ts';
import type { Req, Res } from './http.ts';

type Keys = Record<string, ContextValue | undefined>;

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** 403 access_denied, with the action, the resource and why (docs/api.md). */
export function accessDenied(decision: Decision, action: string, resource: string): CaError {
  return new CaError('forbidden', 'access_denied', decision.detail, {
    extra: { action, resource, reason: decision.reason, ...(decision.statement ? { statement: decision.statement } : {}), ...(decision.policy ? { policy: decision.policy } : {}) },
  });
}

/** The address a request came from, IPv4-mapped IPv6 written as IPv4. */
export const sourceIp = (req: Req): string => (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

/**
 * The HTTP front door's side of authorization: it builds each request's context (the keys every
 * request has, then those of the route) and asks the pure evaluator (src/services/policy) for the
 * caller's decision. Every /v1 route calls one of these before it acts.
 */
export class Authorizer {
  constructor(private readonly deps: { clock: Clock; cas: (id: string) => Promise<Ca | undefined> }) {}

  /** The keys every request has: source address, time, transport, the principal's name and tags. */
  baseKeys(req: Req, res: Res, principal: Caller['principal'] = res.locals.caller.principal): Map<string, ContextValue> {
    const now = this.deps.clock.now();
    const keys = contextKeys({
      'privateca:SourceIp': sourceIp(req),
      'privateca:CurrentTime': now,
      'privateca:CurrentHour': now.getUTCHours(),
      'privateca:CurrentDayOfWeek': WEEKDAYS[now.getUTCDay()],
      'privateca:SecureTransport': (req.socket as Partial<TLSSocket>).encrypted === true,
      'privateca:PrincipalName': principal.name,
    });
    return tagKeys('PrincipalTag', principal.tags, keys);
  }

  /** The decision for the caller (or, simulating, for `as`), without acting on it. */
  decide(req: Req, res: Res, action: ActionName, resource: string, keys: Keys = {}, options: { tags?: Record<string, string>; as?: { principal: Caller['principal']; policies: readonly CompiledPolicy[] } } = {}): Decision {
    const who = options.as ?? res.locals.caller;
    const all = contextKeys(keys, this.baseKeys(req, res, who.principal));
    if (options.tags) tagKeys('ResourceTag', options.tags, all);
    return evaluate(who.policies, { action: qualified(action), resource, keys: all });
  }

  /** 403 access_denied unless the caller may do `action` on `resource`. */
  require(req: Req, res: Res, action: ActionName, resource: string, keys?: Keys, tags?: Record<string, string>): void {
    const d = this.decide(req, res, action, resource, keys, { tags });
    if (!d.allowed) throw accessDenied(d, qualified(action), resource);
  }

  /**
   * Loads what the request names. One that does not exist is `notFound` only to a caller who may
   * describe it; to anyone else it is 403, as an existing one would be, so that ids cannot be probed.
   * `notFound` makes the error only when it is needed (an Error costs its stack trace).
   */
  async visible<T>(req: Req, res: Res, action: ActionName, resource: string, describe: ActionName, load: () => Promise<T | undefined>, notFound: () => CaError): Promise<T> {
    const found = await load();
    if (found !== undefined) return found;
    const mayDescribe = this.decide(req, res, describe, resource);
    if (mayDescribe.allowed) throw notFound();
    const mayAct = this.decide(req, res, action, resource);
    throw mayAct.allowed ? accessDenied(mayDescribe, qualified(describe), resource) : accessDenied(mayAct, qualified(action), resource);
  }

  /** The CA of a ca/{caId} route, after checking `action` on it with its tags as ResourceTag keys. */
  async ca(req: Req, res: Res, action: ActionName, caId: string, keys?: Keys, load: (id: string) => Promise<Ca | undefined> = this.deps.cas): Promise<Ca> {
    const resource = `ca/${caId}`;
    const ca = await this.visible(req, res, action, resource, 'DescribeCertificateAuthority', () => load(caId), () => new CaError('not_found', 'ca_not_found', `no CA ${caId}`));
    this.require(req, res, action, resource, keys, ca.tags);
    return ca;
  }
}

/** The tags a request sets, as RequestTag condition keys. */
export function requestTags(tags: Record<string, string> | undefined): Keys {
  const out: Keys = {};
  for (const [k, v] of Object.entries(tags ?? {})) out[`privateca:RequestTag/${k}`] = v;
  return out;
}
