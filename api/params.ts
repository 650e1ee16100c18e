import { invalid } from '../src/domain/ca-error.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * CA ids are UUIDs, which compare case-insensitively (RFC 4122 3): an upper-case one names the same
 * CA and is returned in the canonical lower case. Anything else is 400 invalid_id.
 */
export function caId(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalid('invalid_id', 'a CA id is a UUID, e.g. 0b4e7f3c-5d2a-4c1e-9f6b-2a8d3e4f5a6b');
  return value.toLowerCase();
}

/** ?limit= (default 100, 1..1000) and ?cursor= (opaque, from nextCursor). */
export function page<C>(query: Record<string, unknown>, decode: (raw: unknown) => C): { limit: number; after?: C } {
  const l = query.limit;
  let limit = 100;
  if (l !== undefined) {
    if (typeof l !== 'string' || !/^[0-9]{1,4}$/.test(l) || Number(l) < 1 || Number(l) > 1000) {
      throw invalid('invalid_limit', 'limit is an integer from 1 to 1000');
    }
    limit = Number(l);
  }
  const c = query.cursor;
  if (c === undefined) return { limit };
  if (typeof c !== 'string' || c.length > 512) throw invalid('invalid_cursor', 'cursor must be a value from nextCursor');
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
  } catch {
    throw invalid('invalid_cursor', 'cursor must be a value from nextCursor');
  }
  try {
    return { limit, after: decode(raw) };
  } catch {
    throw invalid('invalid_cursor', 'cursor must be a value from nextCursor');
  }
}

export const encodeCursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A path id that must be a UUID (principals, policies, tokens): lower-cased; anything else is 400 invalid_id. */
export function uuid(value: unknown, what: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalid('invalid_id', `a ${what} id is a UUID`);
  return value.toLowerCase();
}
