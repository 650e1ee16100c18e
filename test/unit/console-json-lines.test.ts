import { describe, expect, it } from 'vitest';
import { lineAt, lineOfPointer, parseJson } from '../../api/console/src/json-lines.ts';
import { compilePolicy } from '../../src/services/policy/policy-document.ts';

/*
 * The policy editor's pointer-to-line mapping (api/console/src/json-lines.ts), fed with the pointers
 * the service's own policy checker reports, so that what the API names is what the editor marks.
 */

const text = `{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": "privateca:ListCertificates", "Resource": "*" },
    {
      "Effect": "Allow",
      "Action": ["privateca:IssueCertificate", "privateca:IssueCertificat"],
      "Resource": "ca/*",
      "Condition": {
        "StringEquals": { "privateca:Templat": "EndEntityServerAuthCertificate/V1" },
        "NumericLessThan": { "privateca:ValidityDays": 90 }
      },
      "Colour": "blue"
    },
    {
      "Action": "privateca:GetCertificate",
      "Resource": "ca/*"
    }
  ]
}`;

const lineOfText = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('the policy editor: JSON pointer to line', () => {
  it('ok/every problem the service reports for a document is placed at the line that holds it', () => {
    const { problems } = compilePolicy(JSON.parse(text), { id: 't', name: 't' });
    const at = new Map(problems.map((p) => [p.path, lineOfPointer(text, p.path)]));
    // The checker reports these four; each lands on the line a person would point at.
    expect(at.get('/Statement/1/Action/1')).toBe(lineOfText('IssueCertificat"'));
    expect(at.get('/Statement/1/Condition/StringEquals/privateca:Templat')).toBe(lineOfText('privateca:Templat"'));
    expect(at.get('/Statement/1/Colour')).toBe(lineOfText('"Colour"'));
    // A missing field points at the statement it is missing from.
    const missing = problems.find((p) => p.path.startsWith('/Statement/2'))!;
    expect(missing).toBeDefined();
    expect(lineOfPointer(text, missing.path)).toBe(lineOfText('"Action": "privateca:GetCertificate"') - 1);
    expect(problems.length).toBe(4);
  });

  it('ok/pointers with escapes and to the whole document', () => {
    const doc = '{\n  "a/b": {\n    "c~d": [\n      1,\n      2\n    ]\n  }\n}';
    expect(lineOfPointer(doc, '')).toBe(1);
    expect(lineOfPointer(doc, '/a~1b')).toBe(2);
    expect(lineOfPointer(doc, '/a~1b/c~0d')).toBe(3);
    expect(lineOfPointer(doc, '/a~1b/c~0d/1')).toBe(5);
    expect(lineOfPointer(doc, '/a~1b/nothing/deeper')).toBe(2);
    expect(lineAt(doc, doc.length)).toBe(8);
  });

  it('fail/text that is not JSON: its first error, at its line; comments and trailing commas are not JSON', () => {
    const bad = '{\n  "Version": "2012-10-17",\n  "Statement": [],\n}';
    const r = parseJson(bad);
    expect('problem' in r && r.problem.line).toBe(4);
    const comment = parseJson('{\n  // a comment\n  "a": 1\n}');
    expect('problem' in comment && comment.problem.line).toBe(2);
    expect(parseJson('{"a": [1, 2]}')).toEqual({ value: { a: [1, 2] } });
    expect(lineOfPointer('{\n  "a": ', '/a')).toBe(2);
  });
});
