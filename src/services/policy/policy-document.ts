import { ACTIONS, RESOURCE_PATTERN, SERVICE_PREFIX } from './actions.ts';
import { conditionKey } from './condition-keys.ts';
import { compileValue, operatorKeyProblem, parseOperator, type CompiledCondition } from './conditions.ts';
import { hasVariables, variablesIn } from './variables.ts';
import { hasWildcard, wildcardRegExp } from './wildcard.ts';

/**
 * Policy documents in the shape of IAM's: validated on write (every problem named by its JSON
 * pointer), compiled once per change into matchers that evaluate() runs per request.
 */

export interface PolicyProblem {
  /** JSON pointer into the document, e.g. `/Statement/0/Condition/StringLike`. */
  path: string;
  message: string;
}

export interface CompiledStatement {
  /** The Sid, or `#1`, `#2`… by position. */
  label: string;
  effect: 'Allow' | 'Deny';
  /** Action or NotAction patterns, matched case-insensitively against `privateca:Operation`. */
  actions: { not: boolean; patterns: RegExp[] };
  /** Resource or NotResource patterns; a pattern with policy variables is compiled per request. */
  resources: { not: boolean; patterns: (RegExp | string)[] };
  conditions: CompiledCondition[];
}

/** A validated policy, ready for evaluate(). */
export interface CompiledPolicy {
  id: string;
  name: string;
  statements: CompiledStatement[];
}

export const POLICY_VERSION = '2012-10-17';
/** Bounds on what one document may make the evaluator do. */
const MAX_DOCUMENT_CHARS = 20_000;
const MAX_STATEMENTS = 100;
const MAX_VALUES = 100;

const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const QUALIFIED_ACTIONS = ACTIONS.map((a) => SERVICE_PREFIX + a);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const ptr = (...parts: (string | number)[]) => parts.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');

/**
 * Checks a policy document and compiles it. Returns every problem found (none means it is valid);
 * the compiled policy only when there are none.
 */
export function compilePolicy(doc: unknown, meta: { id: string; name: string }): { problems: PolicyProblem[]; policy?: CompiledPolicy } {
  const problems: PolicyProblem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });
  if (!isObject(doc)) return { problems: [{ path: '', message: 'a policy document is a JSON object with Version and Statement' }] };
  if (JSON.stringify(doc).length > MAX_DOCUMENT_CHARS) problem('', `a policy document is at most ${MAX_DOCUMENT_CHARS} characters of JSON`);
  for (const k of Object.keys(doc)) {
    if (k !== 'Version' && k !== 'Statement' && k !== 'Id') problem(ptr(k), `unknown field "${k}"; a document has Version, Statement and optionally Id`);
  }
  if (doc.Version !== POLICY_VERSION) problem('/Version', `Version must be "${POLICY_VERSION}"${doc.Version === undefined ? ' (it is missing)' : `, not ${JSON.stringify(doc.Version)}`}`);
  if (doc.Id !== undefined && typeof doc.Id !== 'string') problem('/Id', 'Id is a string');

  const raw = doc.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (raw === undefined) problem('/Statement', 'Statement is missing');
  else if (list.length === 0) problem('/Statement', 'Statement needs at least one statement');
  if (list.length > MAX_STATEMENTS) problem('/Statement', `at most ${MAX_STATEMENTS} statements`);
  const statements: CompiledStatement[] = [];
  const sids = new Set<string>();
  list.forEach((s, i) => {
    const at = Array.isArray(raw) ? ptr('Statement', i) : '/Statement';
    const compiled = compileStatement(s, i, at, problem, sids);
    if (compiled) statements.push(compiled);
  });
  return problems.length ? { problems } : { problems, policy: { ...meta, statements } };
}

function compileStatement(s: unknown, index: number, at: string, problem: (path: string, message: string) => void, sids: Set<string>): CompiledStatement | undefined {
  if (!isObject(s)) {
    problem(at, 'a statement is a JSON object');
    return undefined;
  }
  let failed = false;
  const report = (path: string, message: string) => {
    failed = true;
    problem(path, message);
  };
  for (const k of Object.keys(s)) {
    if (STATEMENT_FIELDS.has(k)) continue;
    report(
      at + ptr(k),
      k === 'Principal' || k === 'NotPrincipal'
        ? `${k} is not used: a policy applies to the principals it is attached to`
        : `unknown field "${k}"; a statement has Sid, Effect, Action or NotAction, Resource or NotResource, and Condition`,
    );
  }
  let label = `#${index + 1}`;
  if (s.Sid !== undefined) {
    if (typeof s.Sid !== 'string' || !/^[A-Za-z0-9]{1,128}$/.test(s.Sid)) report(at + '/Sid', 'Sid is 1 to 128 letters and digits');
    else if (sids.has(s.Sid)) report(at + '/Sid', `Sid "${s.Sid}" is used by another statement of this policy`);
    else {
      sids.add(s.Sid);
      label = s.Sid;
    }
  }
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') report(at + '/Effect', `Effect is "Allow" or "Deny"${s.Effect === undefined ? ' (it is missing)' : `, not ${JSON.stringify(s.Effect)}`}`);
  const actions = oneOf(s, 'Action', 'NotAction', at, report, (value, path) => {
    if (value === '*') return wildcardRegExp('*');
    if (!value.toLowerCase().startsWith(SERVICE_PREFIX)) {
      report(path, `actions are named privateca:<Operation> (or "*"), not ${JSON.stringify(value)}`);
      return undefined;
    }
    const re = wildcardRegExp(value, { ignoreCase: true });
    if (!QUALIFIED_ACTIONS.some((a) => re.test(a))) {
      report(path, hasWildcard(value) ? `${JSON.stringify(value)} matches no action` : `unknown action ${JSON.stringify(value)}`);
      return undefined;
    }
    return re;
  });
  const resources = oneOf(s, 'Resource', 'NotResource', at, report, (value, path) => {
    for (const v of variablesIn(value)) if (v.problem) report(path, v.problem);
    const shape = value.replace(/\$\{[^}]*\}/g, 'x');
    if (!RESOURCE_PATTERN.test(shape)) {
      report(path, `a resource is ca/<id>, principal/<id>, policy/<id>, audit or *, with * and ? as wildcards; not ${JSON.stringify(value)}`);
      return undefined;
    }
    return hasVariables(value) ? value : wildcardRegExp(value);
  });
  const conditions = s.Condition === undefined ? [] : compileConditions(s.Condition, at + '/Condition', report);
  if (failed || !actions || !resources) return undefined;
  return { label, effect: s.Effect as 'Allow' | 'Deny', actions, resources, conditions };
}

/** Exactly one of `name` and `notName`, a string or a non-empty array of strings, each compiled by `each`. */
function oneOf<T>(
  s: Record<string, unknown>,
  name: string,
  notName: string,
  at: string,
  report: (path: string, message: string) => void,
  each: (value: string, path: string) => T | undefined,
): { not: boolean; patterns: T[] } | undefined {
  const has = s[name] !== undefined;
  const hasNot = s[notName] !== undefined;
  if (has === hasNot) {
    report(at, has ? `a statement has ${name} or ${notName}, not both` : `a statement needs ${name} or ${notName}`);
    return undefined;
  }
  const key = has ? name : notName;
  const raw = s[key];
  const values = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) report(at + ptr(key), `${key} needs at least one value`);
  const patterns: T[] = [];
  values.forEach((v, i) => {
    const path = at + ptr(key) + (Array.isArray(raw) ? ptr(i) : '');
    if (typeof v !== 'string' || v === '') {
      report(path, `${key} holds strings, not ${JSON.stringify(v)}`);
      return;
    }
    const compiled = each(v, path);
    if (compiled !== undefined) patterns.push(compiled);
  });
  return { not: !has, patterns };
}

function compileConditions(raw: unknown, at: string, report: (path: string, message: string) => void): CompiledCondition[] {
  const out: CompiledCondition[] = [];
  if (!isObject(raw)) {
    report(at, 'Condition is an object: { operator: { key: value or [values] } }');
    return out;
  }
  for (const [opText, block] of Object.entries(raw)) {
    const opPath = at + ptr(opText);
    const op = parseOperator(opText);
    if ('error' in op) {
      report(opPath, op.error);
      continue;
    }
    if (!isObject(block) || Object.keys(block).length === 0) {
      report(opPath, `${opText} takes an object of condition keys and values`);
      continue;
    }
    for (const [keyName, rawValues] of Object.entries(block)) {
      const keyPath = opPath + ptr(keyName);
      const key = conditionKey(keyName);
      if (!key) {
        report(keyPath, `unknown condition key "${keyName}"`);
        continue;
      }
      const keyProblem = operatorKeyProblem(op, key, keyName);
      if (keyProblem) {
        report(keyPath, keyProblem);
        continue;
      }
      const values = Array.isArray(rawValues) ? rawValues : [rawValues];
      if (values.length === 0 || values.length > MAX_VALUES) {
        report(keyPath, `a condition key takes 1 to ${MAX_VALUES} values`);
        continue;
      }
      const compiled = [];
      for (let i = 0; i < values.length; i++) {
        const valuePath = keyPath + (Array.isArray(rawValues) ? ptr(i) : '');
        if (typeof values[i] === 'string') for (const v of variablesIn(values[i] as string)) if (v.problem) report(valuePath, v.problem);
        const c = compileValue(op, values[i]);
        if ('error' in c) report(valuePath, c.error);
        else compiled.push(c);
      }
      if (compiled.length === values.length) out.push({ op, keyName, key: keyName.toLowerCase(), values: compiled });
    }
  }
  return out;
}
