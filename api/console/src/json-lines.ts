import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';

/*
 * Where in a JSON text a JSON pointer points: the policy editor puts the API's invalid_policy errors
 * (each named by its pointer into the document) at the line a person wrote. jsonc-parser (the parser
 * of VS Code's JSON support) keeps each node's offset; we only walk its tree.
 */

/** 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The pointer's segments (RFC 6901: `~1` is `/`, `~0` is `~`). */
const segments = (pointer: string): string[] => (pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')));

/**
 * The line of what `pointer` names: a member's key line, an array element's first line. A pointer to
 * something absent (a missing field) stops at the deepest part that exists: the object it is missing
 * from. undefined when the text does not parse to a tree.
 */
export function lineOfPointer(text: string, pointer: string): number | undefined {
  const root = parseTree(text, [], { disallowComments: true });
  if (!root) return undefined;
  let node: Node = root;
  let offset = root.offset;
  for (const seg of segments(pointer)) {
    let next: Node | undefined;
    if (node.type === 'object') {
      const member = node.children?.find((p) => p.children?.[0]?.value === seg);
      if (member) {
        offset = member.offset;
        next = member.children?.[1];
      }
    } else if (node.type === 'array' && /^\d+$/.test(seg)) {
      next = node.children?.[Number(seg)];
      if (next) offset = next.offset;
    }
    if (!next) break;
    node = next;
  }
  return lineAt(text, offset);
}

export interface SyntaxProblem {
  line: number;
  message: string;
}

/** The text as JSON, or the first syntax error with its line (strict JSON: no comments, no trailing commas). */
export function parseJson(text: string): { value: unknown } | { problem: SyntaxProblem } {
  const errors: ParseError[] = [];
  parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  if (errors.length) {
    const e = errors[0]!;
    return { problem: { line: lineAt(text, e.offset), message: `${describe(printParseErrorCode(e.error))} (line ${lineAt(text, e.offset)})` } };
  }
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { problem: { line: 1, message: (e as Error).message } };
  }
}

const WORDS: Record<string, string> = {
  InvalidSymbol: 'a character that has no place in JSON',
  InvalidNumberFormat: 'a number that is not written as JSON writes numbers',
  PropertyNameExpected: 'a field name in double quotes was expected',
  ValueExpected: 'a value was expected',
  ColonExpected: 'a colon was expected after the field name',
  CommaExpected: 'a comma was expected',
  CloseBraceExpected: 'a closing } was expected',
  CloseBracketExpected: 'a closing ] was expected',
  EndOfFileExpected: 'nothing more was expected after the document',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'a comment is not closed',
  UnexpectedEndOfString: 'a string is not closed',
  UnexpectedEndOfNumber: 'a number ends too early',
  InvalidUnicode: 'an invalid \\u escape',
  InvalidEscapeCharacter: 'an invalid escape in a string',
  InvalidCharacter: 'a character that must be escaped in a string',
};
const describe = (code: string) => WORDS[code] ?? code;
