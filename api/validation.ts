import { z } from 'zod';
import { invalid } from '../src/domain/ca-error.ts';

/** One problem of a request body, at a JSON pointer (RFC 6901), e.g. `/validity/days`. */
export interface FieldError {
  path: string;
  message: string;
}

/** Validates a JSON body; a body that does not fit is 400 invalid_request, naming every problem. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined) throw invalid('invalid_request', 'a JSON body is required', { errors: [{ path: '', message: 'expected a JSON body, received nothing' }] });
  const unsafe = unsafeKeys(body);
  const r = unsafe.length ? undefined : schema.safeParse(body, { reportInput: true });
  if (r?.success) return r.data;
  const errors = unsafe.length ? unsafe : fieldErrors(schema, r!.error);
  throw invalid(
    'invalid_request',
    errors
      .slice(0, 5)
      .map((e) => `${e.path || '/'}: ${e.message}`)
      .join('; '),
    { errors },
  );
}

/**
 * Keys that a JavaScript object cannot hold as data: JSON.parse makes `__proto__` an own property,
 * but copying or validating the object drops it silently (zod does), so a tag named so would vanish.
 */
function unsafeKeys(value: unknown, path: string[] = [], out: FieldError[] = []): FieldError[] {
  if (value === null || typeof value !== 'object' || path.length > 32) return out;
  for (const key of Object.keys(value)) {
    if (key === '__proto__') out.push({ path: pointer([...path, key]), message: 'the key "__proto__" cannot be held as data; use another name' });
    else unsafeKeys((value as Record<string, unknown>)[key], [...path, key], out);
  }
  return out;
}

/** JSON pointer of a zod path (RFC 6901: `~` is `~0`, `/` is `~1`). */
export const pointer = (path: readonly PropertyKey[]): string =>
  path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');

/** Each zod issue as what was expected and what was received, at its JSON pointer. */
export function fieldErrors(schema: z.ZodType, error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => {
    const at = pointer(issue.path);
    const got = 'input' in issue ? `, received ${shown(issue.input)}` : ', received nothing';
    switch (issue.code) {
      case 'invalid_type':
        return { path: at, message: `expected ${article(issue.expected)}${'input' in issue ? got : ', received nothing (the field is missing)'}` };
      case 'unrecognized_keys': {
        const known = keysAt(schema, issue.path);
        const names = issue.keys.map((k) => JSON.stringify(k)).join(', ');
        return { path: at, message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${names}${known ? `; expected only ${known.join(', ')}` : ''}` };
      }
      case 'invalid_union': {
        // The one form whose fields the input has (no unknown field in it) says best what is wrong.
        const fitting = issue.errors.filter((branch) => !branch.some((i) => i.code === 'unrecognized_keys' && i.path.length === 0));
        const plausible = fitting.filter((branch) => branch.every((i) => i.path.length > 0 && !(i.code === 'invalid_type' && !('input' in i) && issue.input !== undefined)));
        if (issue.input !== undefined && plausible.length === 1) {
          const inner = new z.ZodError(plausible[0]!.map((i) => ({ ...i, path: [...issue.path, ...i.path] })) as z.core.$ZodIssue[]);
          return fieldErrors(schema, inner)[0]!;
        }
        return { path: at, message: `${issue.message.startsWith('expected') ? issue.message : 'expected one of the documented forms'}${got}` };
      }
      case 'invalid_value':
        return { path: at, message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}` };
      case 'too_small':
      case 'too_big':
        return { path: at, message: `expected ${bound(issue)}${got}` };
      case 'invalid_format':
        return { path: at, message: `expected ${FORMATS[issue.format] ?? (!issue.message.startsWith('Invalid') ? issue.message : issue.format === 'regex' ? `a string matching ${issue.pattern}` : `a ${issue.format}`)}${got}` };
      case 'invalid_key':
        return { path: at, message: `invalid key${'input' in issue ? ` ${shown(issue.input)}` : ''}: ${issue.issues.map((i) => i.message).join('; ')}` };
      default:
        // Refinements carry their own expectation ("a cron expression").
        return { path: at, message: `expected ${issue.message}${got}` };
    }
  });
}

const FORMATS: Record<string, string> = {
  datetime: 'an RFC 3339 time with a time zone, e.g. 2027-01-31T12:00:00Z',
  uuid: 'a UUID',
  url: 'a URL',
};

const article = (type: string): string => (type === 'object' ? 'an object' : type === 'array' ? 'an array' : `a ${type}`);

function bound(issue: { code: 'too_small' | 'too_big'; origin: string; inclusive?: boolean; minimum?: unknown; maximum?: unknown }): string {
  const small = issue.code === 'too_small';
  const n = Number(small ? issue.minimum : issue.maximum);
  const rel = small ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
  switch (issue.origin) {
    case 'string':
      return `a string of ${rel} ${n} character${n === 1 ? '' : 's'}`;
    case 'array':
    case 'set':
      return `${rel} ${n} item${n === 1 ? '' : 's'}`;
    case 'object':
      return `${rel} ${n} entr${n === 1 ? 'y' : 'ies'}`;
    default:
      return `a number ${rel} ${n}`;
  }
}

/** A received value as a person reads it, short. */
function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** The fields the schema knows at `path`, when an object is expected there. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: z.ZodType | undefined = schema;
  for (const key of [...path, undefined]) {
    s = unwrap(s);
    if (key === undefined) break;
    if (s instanceof z.ZodObject) s = s.shape[String(key)] as z.ZodType | undefined;
    else if (s instanceof z.ZodRecord) s = s.valueType as z.ZodType;
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else return undefined;
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  while (s && (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault)) s = s.unwrap() as z.ZodType;
  return s;
}
