/**
 * IAM's wildcards: `*` any run of characters (none included), `?` any one character; everything else
 * literal. Compiled once per policy change into a RegExp.
 */
export function wildcardRegExp(pattern: string, options: { ignoreCase?: boolean } = {}): RegExp {
  let re = '';
  for (const c of pattern) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === LITERAL_STAR) re += '\\*';
    else if (c === LITERAL_QUESTION) re += '\\?';
    else re += c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, options.ignoreCase ? 'is' : 's');
}

export const hasWildcard = (pattern: string): boolean => pattern.includes('*') || pattern.includes('?');

// A `*` or `?` that a policy variable put into a pattern (`${*}`, or a tag value) is literal: these
// private-use characters stand for them until the pattern is compiled.
const LITERAL_STAR = '\uE000';
const LITERAL_QUESTION = '\uE001';

/** Text substituted into a wildcard pattern, its `*` and `?` kept literal. */
export const literalInPattern = (s: string): string => s.replace(/\*/g, LITERAL_STAR).replace(/\?/g, LITERAL_QUESTION);
