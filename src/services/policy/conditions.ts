import { BlockList, isIP } from 'node:net';
import type { ConditionKeySpec, KeyType } from './condition-keys.ts';
import type { ContextValue } from './request-context.ts';
import { hasVariables, substitute } from './variables.ts';
import { literalInPattern, wildcardRegExp } from './wildcard.ts';

/*
 * Condition operators with IAM's meaning (docs/policies.md has the table):
 * - several values for one key: any may match; a negated operator (StringNotEquals…) holds when none does;
 * - a key missing from the request: false, except for negated operators (true), `…IfExists` (true) and Null;
 * - `ForAllValues:` holds when every value of the request's set matches (and when the set is empty or
 *   missing); `ForAnyValue:` when at least one does (never for an empty or missing set).
 */

type Family = 'String' | 'Numeric' | 'Date' | 'Bool' | 'Ip' | 'Null';
type Comparison = 'eq' | 'eqIgnoreCase' | 'like' | 'lt' | 'lte' | 'gt' | 'gte';

interface BaseOperator {
  family: Family;
  comparison: Comparison;
  negated: boolean;
}

const OPERATORS: Record<string, BaseOperator> = {
  StringEquals: { family: 'String', comparison: 'eq', negated: false },
  StringNotEquals: { family: 'String', comparison: 'eq', negated: true },
  StringEqualsIgnoreCase: { family: 'String', comparison: 'eqIgnoreCase', negated: false },
  StringNotEqualsIgnoreCase: { family: 'String', comparison: 'eqIgnoreCase', negated: true },
  StringLike: { family: 'String', comparison: 'like', negated: false },
  StringNotLike: { family: 'String', comparison: 'like', negated: true },
  NumericEquals: { family: 'Numeric', comparison: 'eq', negated: false },
  NumericNotEquals: { family: 'Numeric', comparison: 'eq', negated: true },
  NumericLessThan: { family: 'Numeric', comparison: 'lt', negated: false },
  NumericLessThanEquals: { family: 'Numeric', comparison: 'lte', negated: false },
  NumericGreaterThan: { family: 'Numeric', comparison: 'gt', negated: false },
  NumericGreaterThanEquals: { family: 'Numeric', comparison: 'gte', negated: false },
  DateEquals: { family: 'Date', comparison: 'eq', negated: false },
  DateNotEquals: { family: 'Date', comparison: 'eq', negated: true },
  DateLessThan: { family: 'Date', comparison: 'lt', negated: false },
  DateLessThanEquals: { family: 'Date', comparison: 'lte', negated: false },
  DateGreaterThan: { family: 'Date', comparison: 'gt', negated: false },
  DateGreaterThanEquals: { family: 'Date', comparison: 'gte', negated: false },
  Bool: { family: 'Bool', comparison: 'eq', negated: false },
  IpAddress: { family: 'Ip', comparison: 'eq', negated: false },
  NotIpAddress: { family: 'Ip', comparison: 'eq', negated: true },
  Null: { family: 'Null', comparison: 'eq', negated: false },
};

export const OPERATOR_NAMES = Object.keys(OPERATORS);

/** Which key types each family compares. */
const APPLIES_TO: Record<Family, readonly KeyType[]> = {
  String: ['string', 'ip'],
  Numeric: ['number'],
  Date: ['date'],
  Bool: ['bool'],
  Ip: ['ip'],
  Null: ['string', 'number', 'date', 'bool', 'ip'],
};

export interface ParsedOperator extends BaseOperator {
  /** As the policy wrote it, e.g. `ForAllValues:StringLike`. */
  text: string;
  quantifier?: 'ForAllValues' | 'ForAnyValue';
  ifExists: boolean;
}

/** `ForAllValues:StringLikeIfExists` → its parts; a string naming no operator → an error message. */
export function parseOperator(text: string): ParsedOperator | { error: string } {
  const m = /^(?:(ForAllValues|ForAnyValue):)?(.+?)(IfExists)?$/.exec(text);
  const base = m && OPERATORS[m[2]!];
  if (!m || !base) {
    const near = nearOperator(text);
    return { error: `unknown condition operator "${text}"${near ? `; did you mean ${near}?` : ''}` };
  }
  if (base.family === 'Null' && (m[1] || m[3])) return { error: `Null takes neither ${m[1] ? 'a ForAllValues:/ForAnyValue: prefix' : 'IfExists'}` };
  return { ...base, text, ...(m[1] ? { quantifier: m[1] as 'ForAllValues' | 'ForAnyValue' } : {}), ifExists: !!m[3] };
}

/** The operator a wrongly cased one meant: `stringlikeifexists` → `StringLikeIfExists`. */
function nearOperator(text: string): string | undefined {
  const m = /^(?:(forallvalues|foranyvalue):)?(.+?)(ifexists)?$/i.exec(text);
  if (!m) return undefined;
  const base = OPERATOR_NAMES.find((n) => n.toLowerCase() === m[2]!.toLowerCase());
  if (!base) return undefined;
  const prefix = m[1] ? (m[1].toLowerCase() === 'forallvalues' ? 'ForAllValues:' : 'ForAnyValue:') : '';
  return `${prefix}${base}${m[3] ? 'IfExists' : ''}`;
}

/** Why an operator cannot test a key (a number with StringLike, a set without ForAllValues:…), or undefined. */
export function operatorKeyProblem(op: ParsedOperator, key: ConditionKeySpec, keyName: string): string | undefined {
  if (!APPLIES_TO[op.family].includes(key.type)) {
    const suggestion = { string: 'String…', number: 'Numeric…', date: 'Date…', bool: 'Bool', ip: 'IpAddress or NotIpAddress' }[key.type];
    return `${op.text} cannot test ${keyName}, which is ${key.type === 'ip' ? 'an IP address' : `a ${key.type}`}: use ${suggestion}`;
  }
  if (key.set && op.family !== 'Null' && !op.quantifier) {
    return `${keyName} is a set of values: write ForAllValues:${op.text} (every value must match) or ForAnyValue:${op.text} (one must)`;
  }
  return undefined;
}

/** A condition value, parsed for its family once per policy change. */
type Compiled =
  | { kind: 'string'; text: string; variable: boolean; regex?: RegExp }
  | { kind: 'number'; n: number }
  | { kind: 'date'; ms: number }
  | { kind: 'bool'; b: boolean }
  | { kind: 'ip'; list: BlockList; text: string };

/** Parses one condition value for an operator; an error message when it cannot be one. */
export function compileValue(op: ParsedOperator, value: unknown): Compiled | { error: string } {
  const shown = JSON.stringify(value);
  switch (op.family) {
    case 'String': {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return { error: `a condition value must be a string, not ${shown}` };
      const text = String(value);
      const variable = hasVariables(text);
      const ci = op.comparison === 'eqIgnoreCase';
      return { kind: 'string', text, variable, ...(op.comparison === 'like' && !variable ? { regex: wildcardRegExp(text) } : {}), ...(ci && !variable ? { text: text.toLowerCase() } : {}) };
    }
    case 'Numeric': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : NaN;
      return Number.isFinite(n) ? { kind: 'number', n } : { error: `${op.text} needs a number, not ${shown}` };
    }
    case 'Date': {
      const ms = parseDate(value);
      return ms === undefined ? { error: `${op.text} needs an ISO 8601 date or epoch seconds, not ${shown}` } : { kind: 'date', ms };
    }
    case 'Bool':
    case 'Null': {
      const b = typeof value === 'boolean' ? value : typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : undefined;
      return b === undefined ? { error: `${op.text} needs true or false, not ${shown}` } : { kind: 'bool', b };
    }
    case 'Ip': {
      if (typeof value !== 'string') return { error: `${op.text} needs an IP address or CIDR block, not ${shown}` };
      const list = ipBlock(value);
      return list ? { kind: 'ip', list, text: value } : { error: `${op.text} needs an IP address or CIDR block such as 10.0.0.0/8, not ${shown}` };
    }
  }
}

function parseDate(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v * 1000 : undefined;
  if (typeof v !== 'string') return undefined;
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) return undefined;
  // A time without a zone is UTC (Date.parse would take it as the machine's local time).
  const ms = Date.parse(/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v) ? `${v}Z` : v);
  return Number.isFinite(ms) ? ms : undefined;
}

function ipBlock(text: string): BlockList | undefined {
  const [addr, bits, extra] = text.split('/');
  const family = isIP(addr ?? '');
  if (!family || extra !== undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^[0-9]{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  const list = new BlockList();
  list.addSubnet(addr!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return list;
}

/** One `operator: { key: values }` of a statement, compiled. */
export interface CompiledCondition {
  op: ParsedOperator;
  /** As the policy wrote it. */
  keyName: string;
  key: string;
  values: Compiled[];
}

/** The outcome of one condition for one request: why it failed, for the denial's detail. */
export type ConditionOutcome = { ok: true } | { ok: false; why: string };

const describeValues = (values: readonly Compiled[]) => values.map((v) => ('text' in v ? v.text.replace(/\uE000/g, '*').replace(/\uE001/g, '?') : 'n' in v ? String(v.n) : 'ms' in v ? new Date(v.ms).toISOString() : String(v.b))).join(', ');

/** Evaluates one condition against the request's keys. */
export function evaluateCondition(c: CompiledCondition, keys: ReadonlyMap<string, ContextValue>): ConditionOutcome {
  const value = keys.get(c.key);
  const missing = value === undefined;
  const fail = (why: string): ConditionOutcome => ({ ok: false, why });

  if (c.op.family === 'Null') {
    // Null: true asks for the key to be absent, false for it to be present; several values, any.
    return c.values.some((v) => (v as { b: boolean }).b === missing) ? { ok: true } : fail(missing ? `${c.keyName} is not in the request` : `${c.keyName} is in the request (${shownValue(value)})`);
  }
  if (missing) {
    if (c.op.ifExists || c.op.quantifier === 'ForAllValues' || (c.op.negated && !c.op.quantifier)) return { ok: true };
    return fail(`${c.keyName} is not in the request, so ${c.op.text} cannot hold`);
  }
  const values = resolveValues(c, keys);
  if (values === undefined) return fail(`${c.keyName} (${c.op.text} ${describeValues(c.values)}): its policy variables have no value for this principal`);
  const label = `${c.keyName} (${c.op.text} ${describeValues(values)})`;
  const matches = (v: ContextValue) => matchAny(c, values, v);
  const test = (v: ContextValue) => (c.op.negated ? !matches(v) : matches(v));
  const requestValues: ContextValue[] = Array.isArray(value) ? [...value] : [value];
  if (c.op.quantifier === 'ForAllValues') {
    const bad = requestValues.filter((v) => !test(v));
    return bad.length === 0 ? { ok: true } : fail(`${label} does not match ${bad.map(shownValue).join(', ')}`);
  }
  if (requestValues.some(test)) return { ok: true };
  return fail(`${label} does not match ${requestValues.map(shownValue).join(', ')}`);
}

function shownValue(v: ContextValue | undefined): string {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

/**
 * The condition's values with policy variables replaced. A value whose variable has no value (and
 * no default) is left out, as IAM leaves out such an element; undefined when none is left, which
 * fails the condition whatever its operator (a negated one would otherwise hold for everyone).
 */
function resolveValues(c: CompiledCondition, keys: ReadonlyMap<string, ContextValue>): Compiled[] | undefined {
  if (!c.values.some((v) => v.kind === 'string' && v.variable)) return c.values;
  const out: Compiled[] = [];
  for (const v of c.values) {
    if (v.kind !== 'string' || !v.variable) {
      out.push(v);
      continue;
    }
    const like = c.op.comparison === 'like';
    const text = substitute(v.text, keys, { literal: like ? literalInPattern : (s) => s });
    if (text === undefined) continue;
    out.push({
      kind: 'string',
      text: c.op.comparison === 'eqIgnoreCase' ? text.toLowerCase() : text,
      variable: false,
      ...(like ? { regex: wildcardRegExp(text) } : {}),
    });
  }
  return out.length ? out : undefined;
}

function matchAny(c: CompiledCondition, values: Compiled[], v: ContextValue): boolean {
  const cmp = c.op.comparison;
  switch (c.op.family) {
    case 'String': {
      const s = String(v);
      if (cmp === 'like') return values.some((x) => (x as { regex: RegExp }).regex.test(s));
      if (cmp === 'eqIgnoreCase') {
        const lower = s.toLowerCase();
        return values.some((x) => (x as { text: string }).text === lower);
      }
      return values.some((x) => (x as { text: string }).text === s);
    }
    case 'Numeric':
    case 'Date': {
      const n = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Number(v);
      return values.some((x) => compare(n, 'n' in x ? x.n : (x as { ms: number }).ms, cmp));
    }
    case 'Bool':
      return values.some((x) => (x as { b: boolean }).b === (v === true || v === 'true'));
    case 'Ip': {
      const s = String(v);
      const family = isIP(s);
      if (!family) return false;
      return values.some((x) => (x as { list: BlockList }).list.check(s, family === 4 ? 'ipv4' : 'ipv6'));
    }
    default:
      return false;
  }
}

function compare(a: number, b: number, cmp: Comparison): boolean {
  switch (cmp) {
    case 'eq':
      return a === b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
    default:
      return false;
  }
}
