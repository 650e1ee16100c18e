import { describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/services/policy/actions.ts';
import { compilePolicy, POLICY_VERSION, type PolicyProblem } from '../../src/services/policy/policy-document.ts';

/*
 * Validation of policy documents: every kind of invalid document is reported at its JSON pointer
 * with a message a person can act on; several problems are all reported; a valid document compiles.
 */

const META = { id: 'p-1', name: 'test-policy' };
const BASE: Record<string, unknown> = { Effect: 'Allow', Action: 'privateca:IssueCertificate', Resource: 'ca/*' };

/** A statement from BASE with `patch` applied; a field set to undefined in the patch is removed. */
function stmt(patch: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...BASE, ...patch };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}
const doc = (...statements: Record<string, unknown>[]) => ({ Version: POLICY_VERSION, Statement: statements });
const withCondition = (Condition: unknown) => doc(stmt({ Condition }));
const problemsOf = (d: unknown): PolicyProblem[] => compilePolicy(d, META).problems;

interface InvalidCase {
  name: string;
  doc: unknown;
  path: string;
  message: RegExp;
}

/** Each of these documents has exactly one problem, at `path`. */
const INVALID: InvalidCase[] = [
  // the document
  { name: 'fail/not an object: a string', doc: 'Allow everything', path: '', message: /JSON object with Version and Statement/ },
  { name: 'fail/not an object: an array', doc: [doc(stmt())], path: '', message: /JSON object/ },
  { name: 'fail/not an object: null', doc: null, path: '', message: /JSON object/ },
  { name: 'fail/Version missing', doc: { Statement: [stmt()] }, path: '/Version', message: /Version must be "2012-10-17" \(it is missing\)/ },
  { name: 'fail/Version wrong', doc: { Version: '2008-10-17', Statement: [stmt()] }, path: '/Version', message: /Version must be "2012-10-17", not "2008-10-17"/ },
  { name: 'fail/Version not a string', doc: { Version: 2012, Statement: [stmt()] }, path: '/Version', message: /not 2012/ },
  { name: 'fail/unknown top-level field', doc: { ...doc(stmt()), Statements: [] }, path: '/Statements', message: /unknown field "Statements"/ },
  { name: 'fail/unknown top-level field with ~ and / escaped in the pointer', doc: { ...doc(stmt()), 'a~b/c': 1 }, path: '/a~0b~1c', message: /unknown field "a~b\/c"/ },
  { name: 'fail/Id not a string', doc: { ...doc(stmt()), Id: 5 }, path: '/Id', message: /Id is a string/ },
  { name: 'fail/Statement missing', doc: { Version: POLICY_VERSION }, path: '/Statement', message: /Statement is missing/ },
  { name: 'fail/Statement empty array', doc: { Version: POLICY_VERSION, Statement: [] }, path: '/Statement', message: /at least one statement/ },
  { name: 'fail/Statement a string', doc: { Version: POLICY_VERSION, Statement: 'Allow' }, path: '/Statement', message: /a statement is a JSON object/ },
  { name: 'fail/Statement a number', doc: { Version: POLICY_VERSION, Statement: 42 }, path: '/Statement', message: /a statement is a JSON object/ },
  { name: 'fail/Statement null', doc: { Version: POLICY_VERSION, Statement: null }, path: '/Statement', message: /a statement is a JSON object/ },
  { name: 'fail/a statement of the array is not an object', doc: { Version: POLICY_VERSION, Statement: [stmt(), 'Deny'] }, path: '/Statement/1', message: /a statement is a JSON object/ },
  { name: 'fail/a statement of the array is an array', doc: { Version: POLICY_VERSION, Statement: [[stmt()]] }, path: '/Statement/0', message: /a statement is a JSON object/ },
  // statement fields
  { name: 'fail/unknown statement field', doc: doc(stmt({ Actions: 'privateca:*' })), path: '/Statement/0/Actions', message: /unknown field "Actions"; a statement has Sid, Effect/ },
  { name: 'fail/Principal refused', doc: doc(stmt({ Principal: { AWS: '*' } })), path: '/Statement/0/Principal', message: /Principal is not used: a policy applies to the principals it is attached to/ },
  { name: 'fail/NotPrincipal refused', doc: doc(stmt({ NotPrincipal: '*' })), path: '/Statement/0/NotPrincipal', message: /NotPrincipal is not used/ },
  { name: 'fail/Effect missing', doc: doc(stmt({ Effect: undefined })), path: '/Statement/0/Effect', message: /Effect is "Allow" or "Deny" \(it is missing\)/ },
  { name: 'fail/Effect wrong case (allow)', doc: doc(stmt({ Effect: 'allow' })), path: '/Statement/0/Effect', message: /Effect is "Allow" or "Deny", not "allow"/ },
  { name: 'fail/Effect wrong case (DENY)', doc: doc(stmt({ Effect: 'DENY' })), path: '/Statement/0/Effect', message: /not "DENY"/ },
  { name: 'fail/Effect not a string', doc: doc(stmt({ Effect: true })), path: '/Statement/0/Effect', message: /not true/ },
  // Action / NotAction
  { name: 'fail/both Action and NotAction', doc: doc(stmt({ NotAction: 'privateca:RevokeCertificate' })), path: '/Statement/0', message: /Action or NotAction, not both/ },
  { name: 'fail/neither Action nor NotAction', doc: doc(stmt({ Action: undefined })), path: '/Statement/0', message: /needs Action or NotAction/ },
  { name: 'fail/Action empty array', doc: doc(stmt({ Action: [] })), path: '/Statement/0/Action', message: /Action needs at least one value/ },
  { name: 'fail/NotAction empty array', doc: doc(stmt({ Action: undefined, NotAction: [] })), path: '/Statement/0/NotAction', message: /NotAction needs at least one value/ },
  { name: 'fail/non-string action in an array', doc: doc(stmt({ Action: ['privateca:GetCertificate', 7] })), path: '/Statement/0/Action/1', message: /Action holds strings, not 7/ },
  { name: 'fail/non-string action alone', doc: doc(stmt({ Action: { name: 'x' } })), path: '/Statement/0/Action', message: /Action holds strings/ },
  { name: 'fail/empty-string action', doc: doc(stmt({ Action: '' })), path: '/Statement/0/Action', message: /Action holds strings, not ""/ },
  { name: 'fail/action without privateca:', doc: doc(stmt({ Action: 'IssueCertificate' })), path: '/Statement/0/Action', message: /actions are named privateca:<Operation> \(or "\*"\), not "IssueCertificate"/ },
  { name: 'fail/action of another service', doc: doc(stmt({ Action: ['privateca:GetCertificate', 's3:GetObject'] })), path: '/Statement/0/Action/1', message: /privateca:<Operation>.*"s3:GetObject"/ },
  { name: 'fail/unknown action', doc: doc(stmt({ Action: 'privateca:IssueCertificates' })), path: '/Statement/0/Action', message: /unknown action "privateca:IssueCertificates"/ },
  { name: 'fail/unknown action in NotAction', doc: doc(stmt({ Action: undefined, NotAction: 'privateca:Nope' })), path: '/Statement/0/NotAction', message: /unknown action "privateca:Nope"/ },
  { name: 'fail/wildcard matching no action (privateca:Foo*)', doc: doc(stmt({ Action: 'privateca:Foo*' })), path: '/Statement/0/Action', message: /"privateca:Foo\*" matches no action/ },
  { name: 'fail/? wildcard matching no action', doc: doc(stmt({ Action: ['privateca:Get*', 'privateca:?ssue'] })), path: '/Statement/0/Action/1', message: /"privateca:\?ssue" matches no action/ },
  // Resource / NotResource
  { name: 'fail/both Resource and NotResource', doc: doc(stmt({ NotResource: 'audit' })), path: '/Statement/0', message: /Resource or NotResource, not both/ },
  { name: 'fail/neither Resource nor NotResource', doc: doc(stmt({ Resource: undefined })), path: '/Statement/0', message: /needs Resource or NotResource/ },
  { name: 'fail/Resource empty array', doc: doc(stmt({ Resource: [] })), path: '/Statement/0/Resource', message: /Resource needs at least one value/ },
  { name: 'fail/bad resource shape: an ARN', doc: doc(stmt({ Resource: 'arn:aws:acm-pca:us-east-1:123:certificate-authority/x' })), path: '/Statement/0/Resource', message: /a resource is ca\/<id>, principal\/<id>, policy\/<id>, audit or \*/ },
  { name: 'fail/bad resource shape: ca/ without an id', doc: doc(stmt({ Resource: ['audit', 'ca/'] })), path: '/Statement/0/Resource/1', message: /not "ca\/"/ },
  { name: 'fail/bad resource shape: unknown kind', doc: doc(stmt({ Resource: undefined, NotResource: 'certificate/1' })), path: '/Statement/0/NotResource', message: /a resource is ca\/<id>/ },
  { name: 'fail/non-string resource', doc: doc(stmt({ Resource: ['ca/*', null] })), path: '/Statement/0/Resource/1', message: /Resource holds strings, not null/ },
  // Sid
  { name: 'fail/bad Sid characters', doc: doc(stmt({ Sid: 'allow-issue' })), path: '/Statement/0/Sid', message: /Sid is 1 to 128 letters and digits/ },
  { name: 'fail/empty Sid', doc: doc(stmt({ Sid: '' })), path: '/Statement/0/Sid', message: /Sid is 1 to 128 letters and digits/ },
  { name: 'fail/Sid over 128 characters', doc: doc(stmt({ Sid: 'a'.repeat(129) })), path: '/Statement/0/Sid', message: /1 to 128/ },
  { name: 'fail/Sid not a string', doc: doc(stmt({ Sid: 1 })), path: '/Statement/0/Sid', message: /Sid is 1 to 128/ },
  { name: 'fail/duplicate Sid', doc: doc(stmt({ Sid: 'Issue' }), stmt({ Sid: 'Revoke', Action: 'privateca:RevokeCertificate' }), stmt({ Sid: 'Issue', Effect: 'Deny' })), path: '/Statement/2/Sid', message: /Sid "Issue" is used by another statement/ },
  // Condition: shape and operators
  { name: 'fail/Condition not an object: a string', doc: withCondition('StringEquals'), path: '/Statement/0/Condition', message: /Condition is an object: \{ operator: \{ key: value or \[values\] \} \}/ },
  { name: 'fail/Condition not an object: an array', doc: withCondition([{ StringEquals: { 'privateca:CommonName': 'x' } }]), path: '/Statement/0/Condition', message: /Condition is an object/ },
  { name: 'fail/Condition null', doc: withCondition(null), path: '/Statement/0/Condition', message: /Condition is an object/ },
  { name: 'fail/unknown operator', doc: withCondition({ StringEqual: { 'privateca:CommonName': 'x' } }), path: '/Statement/0/Condition/StringEqual', message: /^unknown condition operator "StringEqual"$/ },
  { name: 'fail/unknown operator with an unknown prefix', doc: withCondition({ 'ForEachValue:StringLike': { 'privateca:DnsNames': 'x' } }), path: '/Statement/0/Condition/ForEachValue:StringLike', message: /unknown condition operator/ },
  { name: 'fail/wrong-case operator: did you mean', doc: withCondition({ stringequals: { 'privateca:CommonName': 'x' } }), path: '/Statement/0/Condition/stringequals', message: /unknown condition operator "stringequals"; did you mean StringEquals\?/ },
  { name: 'fail/wrong-case operator with a prefix: did you mean', doc: withCondition({ 'ForAnyValue:stringlike': { 'privateca:DnsNames': 'x' } }), path: '/Statement/0/Condition/ForAnyValue:stringlike', message: /did you mean ForAnyValue:StringLike\?/ },
  { name: 'fail/wrong-case operator with IfExists: did you mean', doc: withCondition({ numericlessthanIfExists: { 'privateca:ValidityDays': 1 } }), path: '/Statement/0/Condition/numericlessthanIfExists', message: /did you mean NumericLessThanIfExists\?/ },
  { name: 'fail/NullIfExists', doc: withCondition({ NullIfExists: { 'privateca:CommonName': 'true' } }), path: '/Statement/0/Condition/NullIfExists', message: /Null takes neither IfExists/ },
  { name: 'fail/ForAllValues:Null', doc: withCondition({ 'ForAllValues:Null': { 'privateca:DnsNames': 'true' } }), path: '/Statement/0/Condition/ForAllValues:Null', message: /Null takes neither a ForAllValues:\/ForAnyValue: prefix/ },
  { name: 'fail/ForAnyValue:Null', doc: withCondition({ 'ForAnyValue:Null': { 'privateca:DnsNames': 'true' } }), path: '/Statement/0/Condition/ForAnyValue:Null', message: /Null takes neither a ForAllValues/ },
  { name: 'fail/operator block not an object', doc: withCondition({ StringEquals: 'privateca:CommonName' }), path: '/Statement/0/Condition/StringEquals', message: /StringEquals takes an object of condition keys and values/ },
  { name: 'fail/operator block an array', doc: withCondition({ StringLike: ['x'] }), path: '/Statement/0/Condition/StringLike', message: /StringLike takes an object/ },
  { name: 'fail/operator block empty', doc: withCondition({ Bool: {} }), path: '/Statement/0/Condition/Bool', message: /Bool takes an object of condition keys and values/ },
  // Condition: keys
  { name: 'fail/unknown condition key', doc: withCondition({ StringEquals: { 'aws:username': 'alice' } }), path: '/Statement/0/Condition/StringEquals/aws:username', message: /unknown condition key "aws:username"/ },
  { name: 'fail/unknown privateca: condition key', doc: withCondition({ StringEquals: { 'privateca:SubjectName': 'x' } }), path: '/Statement/0/Condition/StringEquals/privateca:SubjectName', message: /unknown condition key "privateca:SubjectName"/ },
  { name: 'fail/tag key without a tag name (/ escaped as ~1)', doc: withCondition({ StringEquals: { 'privateca:PrincipalTag/': 'x' } }), path: '/Statement/0/Condition/StringEquals/privateca:PrincipalTag~1', message: /unknown condition key "privateca:PrincipalTag\/"/ },
  { name: 'fail/StringLike on privateca:ValidityDays', doc: withCondition({ StringLike: { 'privateca:ValidityDays': '3*' } }), path: '/Statement/0/Condition/StringLike/privateca:ValidityDays', message: /StringLike cannot test privateca:ValidityDays, which is a number: use Numeric/ },
  { name: 'fail/NumericLessThan on privateca:CommonName', doc: withCondition({ NumericLessThan: { 'privateca:CommonName': 5 } }), path: '/Statement/0/Condition/NumericLessThan/privateca:CommonName', message: /NumericLessThan cannot test privateca:CommonName, which is a string: use String/ },
  { name: 'fail/IpAddress on privateca:CommonName', doc: withCondition({ IpAddress: { 'privateca:CommonName': '10.0.0.0/8' } }), path: '/Statement/0/Condition/IpAddress/privateca:CommonName', message: /IpAddress cannot test privateca:CommonName, which is a string/ },
  { name: 'fail/Bool on privateca:Template', doc: withCondition({ Bool: { 'privateca:Template': 'true' } }), path: '/Statement/0/Condition/Bool/privateca:Template', message: /Bool cannot test privateca:Template, which is a string/ },
  { name: 'fail/DateLessThan on privateca:SecureTransport', doc: withCondition({ DateLessThan: { 'privateca:SecureTransport': '2025-01-01' } }), path: '/Statement/0/Condition/DateLessThan/privateca:SecureTransport', message: /cannot test privateca:SecureTransport, which is a bool: use Bool/ },
  { name: 'fail/NumericEquals on a tag key (path escapes /)', doc: withCondition({ NumericEquals: { 'privateca:PrincipalTag/level': 3 } }), path: '/Statement/0/Condition/NumericEquals/privateca:PrincipalTag~1level', message: /cannot test privateca:PrincipalTag\/level, which is a string/ },
  { name: 'fail/Numeric on a set key (ForAllValues:NumericEquals on privateca:DnsNames)', doc: withCondition({ 'ForAllValues:NumericEquals': { 'privateca:DnsNames': 1 } }), path: '/Statement/0/Condition/ForAllValues:NumericEquals/privateca:DnsNames', message: /cannot test privateca:DnsNames/ },
  { name: 'fail/Date on a set key (ForAnyValue:DateEquals on privateca:IpAddresses)', doc: withCondition({ 'ForAnyValue:DateEquals': { 'privateca:IpAddresses': '2025-01-01' } }), path: '/Statement/0/Condition/ForAnyValue:DateEquals/privateca:IpAddresses', message: /cannot test privateca:IpAddresses.*use IpAddress or NotIpAddress/ },
  { name: 'fail/set key without ForAllValues/ForAnyValue (privateca:DnsNames)', doc: withCondition({ StringLike: { 'privateca:DnsNames': '*.example.com' } }), path: '/Statement/0/Condition/StringLike/privateca:DnsNames', message: /privateca:DnsNames is a set of values: write ForAllValues:StringLike .* or ForAnyValue:StringLike/ },
  { name: 'fail/set key without a prefix (privateca:IpAddresses with IpAddress)', doc: withCondition({ IpAddress: { 'privateca:IpAddresses': '10.0.0.0/8' } }), path: '/Statement/0/Condition/IpAddress/privateca:IpAddresses', message: /is a set of values: write ForAllValues:IpAddress/ },
  { name: 'fail/set key without a prefix, IfExists (privateca:EmailAddresses)', doc: withCondition({ StringEqualsIfExists: { 'privateca:EmailAddresses': 'a@example.com' } }), path: '/Statement/0/Condition/StringEqualsIfExists/privateca:EmailAddresses', message: /is a set of values/ },
  { name: 'fail/set key without a prefix, negated (privateca:Uris)', doc: withCondition({ StringNotLike: { 'PRIVATECA:uris': 'spiffe://*' } }), path: '/Statement/0/Condition/StringNotLike/PRIVATECA:uris', message: /PRIVATECA:uris is a set of values/ },
  // Condition: values
  { name: 'fail/bad numeric value', doc: withCondition({ NumericLessThan: { 'privateca:ValidityDays': 'ninety' } }), path: '/Statement/0/Condition/NumericLessThan/privateca:ValidityDays', message: /NumericLessThan needs a number, not "ninety"/ },
  { name: 'fail/bad numeric value in an array', doc: withCondition({ NumericEquals: { 'privateca:ValidityDays': [30, '6O'] } }), path: '/Statement/0/Condition/NumericEquals/privateca:ValidityDays/1', message: /needs a number, not "6O"/ },
  { name: 'fail/bad date value', doc: withCondition({ DateLessThan: { 'privateca:CurrentTime': 'next tuesday' } }), path: '/Statement/0/Condition/DateLessThan/privateca:CurrentTime', message: /DateLessThan needs an ISO 8601 date or epoch seconds, not "next tuesday"/ },
  { name: 'fail/impossible date value', doc: withCondition({ DateGreaterThan: { 'privateca:CurrentTime': ['2025-01-01T00:00:00Z', '2025-13-45'] } }), path: '/Statement/0/Condition/DateGreaterThan/privateca:CurrentTime/1', message: /ISO 8601 date or epoch seconds, not "2025-13-45"/ },
  { name: 'fail/bad bool value', doc: withCondition({ Bool: { 'privateca:SecureTransport': 'yes' } }), path: '/Statement/0/Condition/Bool/privateca:SecureTransport', message: /Bool needs true or false, not "yes"/ },
  { name: 'fail/bad Null value', doc: withCondition({ Null: { 'privateca:CommonName': 1 } }), path: '/Statement/0/Condition/Null/privateca:CommonName', message: /Null needs true or false, not 1/ },
  { name: 'fail/bad ip value', doc: withCondition({ IpAddress: { 'privateca:SourceIp': '10.0.0.256' } }), path: '/Statement/0/Condition/IpAddress/privateca:SourceIp', message: /IpAddress needs an IP address or CIDR block such as 10\.0\.0\.0\/8, not "10\.0\.0\.256"/ },
  { name: 'fail/bad CIDR prefix', doc: withCondition({ NotIpAddress: { 'privateca:SourceIp': ['10.0.0.0/8', '10.0.0.0/33'] } }), path: '/Statement/0/Condition/NotIpAddress/privateca:SourceIp/1', message: /not "10\.0\.0\.0\/33"/ },
  { name: 'fail/bad IPv6 CIDR prefix', doc: withCondition({ 'ForAllValues:IpAddress': { 'privateca:IpAddresses': '2001:db8::/129' } }), path: '/Statement/0/Condition/ForAllValues:IpAddress/privateca:IpAddresses', message: /IP address or CIDR block/ },
  { name: 'fail/ip value not a string', doc: withCondition({ IpAddress: { 'privateca:SourceIp': 10 } }), path: '/Statement/0/Condition/IpAddress/privateca:SourceIp', message: /IpAddress needs an IP address or CIDR block, not 10/ },
  { name: 'fail/string value not a string', doc: withCondition({ StringEquals: { 'privateca:CommonName': { a: 1 } } }), path: '/Statement/0/Condition/StringEquals/privateca:CommonName', message: /a condition value must be a string/ },
  { name: 'fail/no values', doc: withCondition({ StringEquals: { 'privateca:CommonName': [] } }), path: '/Statement/0/Condition/StringEquals/privateca:CommonName', message: /a condition key takes 1 to 100 values/ },
  { name: 'fail/too many values (101)', doc: withCondition({ StringEquals: { 'privateca:CommonName': Array.from({ length: 101 }, (_, i) => `n${i}`) } }), path: '/Statement/0/Condition/StringEquals/privateca:CommonName', message: /a condition key takes 1 to 100 values/ },
  // policy variables
  { name: 'fail/unknown policy variable in Resource', doc: doc(stmt({ Resource: 'principal/${aws:username}' })), path: '/Statement/0/Resource', message: /policy variable \$\{aws:username\} is not one of \$\{privateca:PrincipalName\}, \$\{privateca:PrincipalTag\/<key>\}/ },
  { name: 'fail/unknown policy variable in a Resource array', doc: doc(stmt({ Resource: ['ca/*', 'ca/${privateca:ResourceTag/team}'] })), path: '/Statement/0/Resource/1', message: /policy variable \$\{privateca:ResourceTag\/team\} is not one of/ },
  { name: 'fail/unknown policy variable in NotResource', doc: doc(stmt({ Resource: undefined, NotResource: 'ca/${privateca:PrincipalTag/}' })), path: '/Statement/0/NotResource', message: /policy variable \$\{privateca:PrincipalTag\/\} is not one of/ },
  { name: 'fail/unknown policy variable in a condition value', doc: withCondition({ StringEquals: { 'privateca:CommonName': ['a', '${privateca:CommonName}'] } }), path: '/Statement/0/Condition/StringEquals/privateca:CommonName/1', message: /policy variable \$\{privateca:CommonName\} is not one of/ },
  { name: 'fail/unknown policy variable with a default', doc: withCondition({ StringLike: { 'privateca:CommonName': "${aws:username, 'x'}.*" } }), path: '/Statement/0/Condition/StringLike/privateca:CommonName', message: /policy variable \$\{aws:username\} is not one of/ },
  // bounds
  {
    name: 'fail/document over 20,000 characters',
    doc: withCondition({ StringEquals: { 'privateca:CommonName': 'x'.repeat(20_001) } }),
    path: '',
    message: /a policy document is at most 20000 characters of JSON/,
  },
  { name: 'fail/over 100 statements', doc: doc(...Array.from({ length: 101 }, () => stmt())), path: '/Statement', message: /at most 100 statements/ },
];

describe('invalid documents: one problem each, at its JSON pointer', () => {
  it.each(INVALID)('$name', ({ doc: d, path, message }) => {
    const result = compilePolicy(d, META);
    expect(result.policy).toBeUndefined();
    expect(result.problems, JSON.stringify(result.problems)).toHaveLength(1);
    expect(result.problems[0]!.path).toBe(path);
    expect(result.problems[0]!.message).toMatch(message);
  });
});

describe('statement paths: object form vs array form', () => {
  const cases: { name: string; statement: Record<string, unknown>; field: string; message: RegExp }[] = [
    { name: 'Effect', statement: stmt({ Effect: 'Permit' }), field: '/Effect', message: /not "Permit"/ },
    { name: 'Action', statement: stmt({ Action: 'privateca:Nope' }), field: '/Action', message: /unknown action/ },
    { name: 'Resource', statement: stmt({ Resource: 'bucket/x' }), field: '/Resource', message: /a resource is/ },
    { name: 'Sid', statement: stmt({ Sid: 'a b' }), field: '/Sid', message: /letters and digits/ },
    { name: 'Condition key', statement: stmt({ Condition: { StringEquals: { 'privateca:Nope': 'x' } } }), field: '/Condition/StringEquals/privateca:Nope', message: /unknown condition key/ },
    { name: 'both Action and NotAction', statement: stmt({ NotAction: '*' }), field: '', message: /not both/ },
  ];
  it.each(cases)('fail/single statement object: $name at /Statement…', ({ statement, field, message }) => {
    const problems = problemsOf({ Version: POLICY_VERSION, Statement: statement });
    expect(problems).toEqual([{ path: `/Statement${field}`, message: expect.stringMatching(message) }]);
  });
  it.each(cases)('fail/statement array, second statement: $name at /Statement/1…', ({ statement, field, message }) => {
    const problems = problemsOf(doc(stmt(), statement));
    expect(problems).toEqual([{ path: `/Statement/1${field}`, message: expect.stringMatching(message) }]);
  });
});

describe('several problems in one document', () => {
  it('fail/every problem is reported with its own path', () => {
    const problems = problemsOf({
      Version: '2012-10-18',
      Extra: true,
      Statement: [
        { Sid: 'One', Effect: 'allow', Action: 'privateca:IssueCertificate', Resource: 'ca/*' },
        { Sid: 'One', Effect: 'Deny', Action: ['privateca:Foo*', 'ec2:RunInstances'], Resource: ['ca/*', 'bucket/x'], Principal: '*' },
        {
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: {
            StringLike: { 'privateca:DnsNames': '*.example.com', 'privateca:Nope': 'x' },
            NumericLessThan: { 'privateca:ValidityDays': 'many' },
            stringequals: { 'privateca:CommonName': 'x' },
          },
        },
        'not a statement',
      ],
    });
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/Version',
        '/Extra',
        '/Statement/0/Effect',
        '/Statement/1/Sid',
        '/Statement/1/Principal',
        '/Statement/1/Action/0',
        '/Statement/1/Action/1',
        '/Statement/1/Resource/1',
        '/Statement/2/Condition/StringLike/privateca:DnsNames',
        '/Statement/2/Condition/StringLike/privateca:Nope',
        '/Statement/2/Condition/NumericLessThan/privateca:ValidityDays',
        '/Statement/2/Condition/stringequals',
        '/Statement/3',
      ]),
    );
    expect(problems).toHaveLength(13);
    expect(new Set(paths).size).toBe(paths.length);
    expect(problems.find((p) => p.path === '/Statement/1/Sid')!.message).toMatch(/Sid "One" is used by another statement/);
    expect(problems.find((p) => p.path === '/Statement/1/Action/0')!.message).toMatch(/matches no action/);
    expect(problems.find((p) => p.path === '/Statement/1/Action/1')!.message).toMatch(/privateca:<Operation>/);
    expect(problems.find((p) => p.path === '/Statement/2/Condition/stringequals')!.message).toMatch(/did you mean StringEquals\?/);
  });

  it('fail/two problems in one condition key: both values reported', () => {
    const problems = problemsOf(withCondition({ IpAddress: { 'privateca:SourceIp': ['nope', '10.0.0.0/8', '1.2.3.4/40'] } }));
    expect(problems.map((p) => p.path)).toEqual(['/Statement/0/Condition/IpAddress/privateca:SourceIp/0', '/Statement/0/Condition/IpAddress/privateca:SourceIp/2']);
  });

  it('fail/an oversized document with another problem reports both', () => {
    const problems = problemsOf({ Version: '1', Statement: [stmt({ Condition: { StringEquals: { 'privateca:CommonName': 'x'.repeat(20_001) } } })] });
    expect(problems.map((p) => p.path).sort()).toEqual(['', '/Version']);
  });
});

describe('valid documents', () => {
  it('ok/a full document reports no problems and compiles every statement', () => {
    const d = {
      Version: POLICY_VERSION,
      Id: 'issuers',
      Statement: [
        {
          Sid: 'IssueOwnNames',
          Effect: 'Allow',
          Action: ['privateca:IssueCertificate', 'privateca:Get*', 'PRIVATECA:describecertificateauthority'],
          Resource: ['ca/${privateca:PrincipalTag/team}-*', "ca/${privateca:PrincipalTag/env, 'dev'}/*", 'ca/lit${*}${?}${$}'],
          Condition: {
            'ForAllValues:StringLike': { 'privateca:DnsNames': '*.${privateca:PrincipalTag/team}.internal' },
            'ForAnyValue:IpAddress': { 'PRIVATECA:ipaddresses': ['10.0.0.0/8', '2001:db8::/32', '192.168.0.1'] },
            StringEqualsIfExists: { 'privateca:Template': 'EndEntityServerAuthCertificate/V1', 'privateca:PrincipalTag/Team': '${privateca:PrincipalName}' },
            NumericLessThanEquals: { 'privateca:ValidityDays': ['397', 90.5] },
            DateGreaterThan: { 'privateca:CurrentTime': ['2025-01-01', '2025-01-01T00:00:00.5+01:00', 1735689600, '1735689600'] },
            Bool: { 'privateca:SecureTransport': [true, 'FALSE'] },
            Null: { 'privateca:CommonName': 'false', 'privateca:DnsNames': false },
            'ForAllValues:NumericGreaterThan': { 'privateca:ValidityDays': 0 },
            'ForAnyValue:StringNotEqualsIgnoreCase': { 'privateca:EmailAddresses': 'root@example.com' },
          },
        },
        { Effect: 'Deny', NotAction: 'privateca:Describe*', NotResource: ['audit', 'principal/${privateca:PrincipalName}'] },
        { Sid: 'Everything', Effect: 'Allow', Action: '*', Resource: '*' },
      ],
    };
    const { problems, policy } = compilePolicy(d, META);
    expect(problems).toEqual([]);
    expect(policy).toBeDefined();
    expect(policy!.id).toBe(META.id);
    expect(policy!.name).toBe(META.name);
    expect(policy!.statements.map((s) => [s.label, s.effect])).toEqual([
      ['IssueOwnNames', 'Allow'],
      ['#2', 'Deny'],
      ['Everything', 'Allow'],
    ]);
    expect(policy!.statements[0]!.conditions).toHaveLength(11);
    expect(policy!.statements[1]!.actions.not).toBe(true);
    expect(policy!.statements[1]!.resources.not).toBe(true);
  });

  it('ok/a single statement object compiles', () => {
    const { problems, policy } = compilePolicy({ Version: POLICY_VERSION, Statement: stmt() }, META);
    expect(problems).toEqual([]);
    expect(policy!.statements).toHaveLength(1);
    expect(policy!.statements[0]!.label).toBe('#1');
  });

  it('ok/exactly 100 statements is within the bound', () => {
    expect(problemsOf(doc(...Array.from({ length: 100 }, () => stmt())))).toEqual([]);
  });

  it('ok/exactly 100 values for one key is within the bound', () => {
    expect(problemsOf(withCondition({ StringEquals: { 'privateca:CommonName': Array.from({ length: 100 }, (_, i) => `n${i}`) } }))).toEqual([]);
  });

  it('ok/a document just under 20,000 characters is within the bound', () => {
    const d = withCondition({ StringEquals: { 'privateca:CommonName': '' } });
    const room = 20_000 - JSON.stringify(d).length;
    expect(problemsOf(withCondition({ StringEquals: { 'privateca:CommonName': 'x'.repeat(room) } }))).toEqual([]);
  });

  it('ok/every action of the list is accepted by name, and * and privateca:* too', () => {
    expect(problemsOf(doc(stmt({ Action: ACTIONS.map((a) => `privateca:${a}`) }), stmt({ Action: '*' }), stmt({ Action: 'privateca:*' })))).toEqual([]);
  });

  it('ok/every resource shape is accepted', () => {
    expect(problemsOf(doc(stmt({ Resource: ['*', 'audit', 'ca/*', 'ca/1234????-*', 'principal/alice', 'policy/p-1', 'principal/${privateca:PrincipalName}'] })))).toEqual([]);
  });

  it('ok/condition key and variable names in any case', () => {
    expect(
      problemsOf(
        withCondition({
          StringEquals: { 'PRIVATECA:COMMONNAME': '${PRIVATECA:principalname}', 'privateca:resourcetag/Env': "${privateca:principaltag/ENV, 'x'}" },
          'ForAllValues:StringLike': { 'privateca:dnsnames': '*' },
        }),
      ),
    ).toEqual([]);
  });
});
