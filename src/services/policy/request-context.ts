/** A value of a condition key in a request: one value, or a set (all the DNS names of a certificate). */
export type ContextValue = string | number | boolean | Date | readonly string[];

/**
 * What a policy sees of one request: the action, the resource, and the condition keys with their
 * values. Front doors (the HTTP API, later ACME) build one per request and hand it to evaluate().
 */
export interface AuthorizationRequest {
  /** `privateca:IssueCertificate` */
  action: string;
  /** `ca/{caId}`, `principal/{id}`, `policy/{id}`, `audit`, or `ca/*` for create and list */
  resource: string;
  /** Condition key values by lower-cased key name; a key without a value (or an empty set) is absent. */
  keys: ReadonlyMap<string, ContextValue>;
}

/** Condition keys from a record: names lower-cased (keys are case-insensitive), absent values and empty sets left out. */
export function contextKeys(entries: Record<string, ContextValue | undefined>, into: Map<string, ContextValue> = new Map()): Map<string, ContextValue> {
  for (const [k, v] of Object.entries(entries)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    into.set(k.toLowerCase(), v);
  }
  return into;
}

/** Tags as condition keys of a family: `{ team: 'x' }` → `privateca:PrincipalTag/team`. */
export function tagKeys(family: 'PrincipalTag' | 'ResourceTag' | 'RequestTag', tags: Readonly<Record<string, string>> | undefined, into: Map<string, ContextValue>): Map<string, ContextValue> {
  for (const [k, v] of Object.entries(tags ?? {})) into.set(`privateca:${family}/${k}`.toLowerCase(), v);
  return into;
}
