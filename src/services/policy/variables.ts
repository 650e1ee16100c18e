import type { ContextValue } from './request-context.ts';

/**
 * Policy variables (IAM's syntax): `${privateca:PrincipalName}`, `${privateca:PrincipalTag/team}`,
 * with an optional default, `${privateca:PrincipalTag/team, 'none'}`, and `${*}`, `${?}`, `${$}` for a
 * literal `*`, `?`, `$`. They may stand in Resource and in condition values.
 */
const VARIABLE = /\$\{([^}]*)\}/g;

/** The variable names a string uses, with the problems of each (for validation). */
export function variablesIn(text: string): { name: string; problem?: string }[] {
  const out: { name: string; problem?: string }[] = [];
  for (const m of text.matchAll(VARIABLE)) {
    const inner = m[1]!.trim();
    if (inner === '*' || inner === '?' || inner === '$') continue;
    const name = inner.replace(/\s*,\s*'[^']*'\s*$/, '');
    const lower = name.toLowerCase();
    const ok = lower === 'privateca:principalname' || (lower.startsWith('privateca:principaltag/') && lower.length > 'privateca:principaltag/'.length);
    out.push({ name, ...(ok ? {} : { problem: `policy variable \${${name}} is not one of \${privateca:PrincipalName}, \${privateca:PrincipalTag/<key>}` }) });
  }
  return out;
}

export const hasVariables = (text: string): boolean => text.includes('${');

/**
 * Replaces the variables of `text` from the request's keys. `escapeWildcards` writes a substituted
 * `*` or `?` so that it stays literal in a wildcard pattern. Undefined when a variable has no value
 * and no default: the element using it then matches nothing, as IAM does.
 */
export function substitute(text: string, keys: ReadonlyMap<string, ContextValue>, options: { literal: (s: string) => string }): string | undefined {
  let missing = false;
  const out = text.replace(VARIABLE, (_all, raw: string) => {
    const inner = raw.trim();
    if (inner === '*' || inner === '?' || inner === '$') return options.literal(inner);
    const d = /^(.*?)\s*,\s*'([^']*)'\s*$/.exec(inner);
    const name = (d ? d[1]! : inner).toLowerCase();
    const v = keys.get(name);
    if (typeof v === 'string') return options.literal(v);
    if (d) return options.literal(d[2]!);
    missing = true;
    return '';
  });
  return missing ? undefined : out;
}
