import { evaluateCondition } from './conditions.ts';
import type { CompiledPolicy, CompiledStatement } from './policy-document.ts';
import type { AuthorizationRequest } from './request-context.ts';
import { substitute } from './variables.ts';
import { literalInPattern, wildcardRegExp } from './wildcard.ts';

/** The answer for one request, and why. */
export interface Decision {
  allowed: boolean;
  reason: 'allowed' | 'explicit_deny' | 'no_allow';
  /** The statement that decided (allowed, explicit_deny), or the Allow that came closest (no_allow). */
  policy?: string;
  statement?: string;
  /** A sentence a person can act on: for a near miss, the condition that failed. */
  detail: string;
}

/**
 * IAM's evaluation, a pure function: an explicit Deny wins; otherwise any Allow allows; otherwise
 * the request is denied. A statement applies when its Action (or NotAction) and Resource (or
 * NotResource) match and all its conditions hold.
 */
export function evaluate(policies: readonly CompiledPolicy[], request: AuthorizationRequest): Decision {
  const action = request.action;
  let allow: { policy: CompiledPolicy; statement: CompiledStatement } | undefined;
  let nearMiss: { policy: CompiledPolicy; statement: CompiledStatement; why: string } | undefined;
  for (const policy of policies) {
    for (const statement of policy.statements) {
      if (statement.effect === 'Allow' && allow) continue;
      if (!matchesAction(statement, action) || !matchesResource(statement, request)) continue;
      let why: string | undefined;
      for (const c of statement.conditions) {
        const outcome = evaluateCondition(c, request.keys);
        if (!outcome.ok) {
          why = outcome.why;
          break;
        }
      }
      if (why !== undefined) {
        if (statement.effect === 'Allow') nearMiss ??= { policy, statement, why };
        continue;
      }
      if (statement.effect === 'Deny') {
        return {
          allowed: false,
          reason: 'explicit_deny',
          policy: policy.name,
          statement: statement.label,
          detail: `${action} on ${request.resource} is denied by policy ${policy.name}, statement ${statement.label}`,
        };
      }
      allow = { policy, statement };
    }
  }
  if (allow) return { allowed: true, reason: 'allowed', policy: allow.policy.name, statement: allow.statement.label, detail: `allowed by policy ${allow.policy.name}, statement ${allow.statement.label}` };
  if (nearMiss) {
    return {
      allowed: false,
      reason: 'no_allow',
      policy: nearMiss.policy.name,
      statement: nearMiss.statement.label,
      detail: `${action} on ${request.resource} is not allowed: ${nearMiss.why} (policy ${nearMiss.policy.name}, statement ${nearMiss.statement.label} allows it only then)`,
    };
  }
  return { allowed: false, reason: 'no_allow', detail: `no policy of this principal allows ${action} on ${request.resource}` };
}

function matchesAction(s: CompiledStatement, action: string): boolean {
  const hit = s.actions.patterns.some((p) => p.test(action));
  return s.actions.not ? !hit : hit;
}

function matchesResource(s: CompiledStatement, request: AuthorizationRequest): boolean {
  let hit = false;
  for (const p of s.resources.patterns) {
    if (typeof p === 'string') {
      // Policy variables are resolved per request; one without a value matches nothing.
      const pattern = substitute(p, request.keys, { literal: literalInPattern });
      if (pattern !== undefined && cachedPattern(pattern).test(request.resource)) hit = true;
    } else if (p.test(request.resource)) {
      hit = true;
    }
    if (hit) break;
  }
  return s.resources.not ? !hit : hit;
}

/** Resource patterns after variable substitution, compiled once each (a few per principal). */
const patterns = new Map<string, RegExp>();
function cachedPattern(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) {
    if (patterns.size > 10_000) patterns.clear();
    re = wildcardRegExp(pattern);
    patterns.set(pattern, re);
  }
  return re;
}
