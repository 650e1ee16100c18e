import { describe, expect, it } from 'vitest';
import { evaluate, type Decision } from '../../src/services/policy/evaluate.ts';
import { compilePolicy, type CompiledPolicy } from '../../src/services/policy/policy-document.ts';
import { contextKeys, tagKeys, type AuthorizationRequest, type ContextValue } from '../../src/services/policy/request-context.ts';

/*
 * The policy evaluator against IAM's semantics: every condition operator (match, non-match, missing
 * key, IfExists, ForAllValues:/ForAnyValue:), wildcards, NotAction/NotResource, Deny over Allow,
 * policy variables, the case rules, and the detail of a decision.
 */

const CA = 'ca/12345678-aaaa-bbbb-cccc-1234567890ab';
const OTHER_CA = 'ca/87654321-aaaa-bbbb-cccc-1234567890ab';
const ISSUE = 'privateca:IssueCertificate';

type Statement = Record<string, unknown>;
type Keys = Record<string, ContextValue | undefined>;

let policyCount = 0;
/** Compiles a document of these statements; a test that builds an invalid one is a bug of the test. */
function policy(statements: Statement | Statement[], name = `policy${++policyCount}`): CompiledPolicy {
  const { problems, policy: compiled } = compilePolicy({ Version: '2012-10-17', Statement: statements }, { id: `id-${name}`, name });
  if (!compiled) throw new Error(`test policy ${name} does not compile: ${JSON.stringify(problems)}`);
  return compiled;
}

interface RequestOptions {
  action?: string;
  resource?: string;
  keys?: Keys;
  principalTags?: Record<string, string>;
  resourceTags?: Record<string, string>;
  requestTags?: Record<string, string>;
}

/** A request as the front doors build one: contextKeys for the keys, tagKeys for the tags. */
function request(o: RequestOptions = {}): AuthorizationRequest {
  const keys = contextKeys(o.keys ?? {});
  tagKeys('PrincipalTag', o.principalTags, keys);
  tagKeys('ResourceTag', o.resourceTags, keys);
  tagKeys('RequestTag', o.requestTags, keys);
  return { action: o.action ?? ISSUE, resource: o.resource ?? CA, keys };
}

function expectDecision(d: Decision, allowed: boolean, reason: Decision['reason'] = allowed ? 'allowed' : 'no_allow'): void {
  expect(d.allowed, d.detail).toBe(allowed);
  expect(d.reason, d.detail).toBe(reason);
}

/** An Allow of IssueCertificate on every CA under one condition block. */
const allowIf = (Condition: Record<string, unknown>): CompiledPolicy =>
  policy({ Sid: 'AllowIf', Effect: 'Allow', Action: ISSUE, Resource: 'ca/*', Condition });

interface ConditionCase {
  name: string;
  condition: Record<string, unknown>;
  keys: Keys;
  allowed: boolean;
}

const label = (allowed: boolean, text: string) => `${allowed ? 'ok' : 'fail'}/${text}`;
const show = (v: ContextValue | undefined): string =>
  v === undefined ? 'missing' : v instanceof Date ? v.toISOString() : Array.isArray(v) ? `[${v.join(', ')}]` : JSON.stringify(v);

/** A single-valued key: `hit` satisfies `op` against `values`, `miss` does not (for negated operators too). */
interface SingleSpec {
  op: string;
  key: string;
  values: unknown;
  hit: ContextValue;
  miss: ContextValue;
  negated?: boolean;
  /** Numeric, Date and Bool keys: also ForAllValues:/ForAnyValue: on the single key. */
  quantified?: boolean;
}

function singleCases(s: SingleSpec): ConditionCase[] {
  const c = (op: string, value: ContextValue | undefined, allowed: boolean, what: string): ConditionCase => ({
    name: label(allowed, `${op} ${s.key} ${JSON.stringify(s.values)}: ${what} (${show(value)})`),
    condition: { [op]: { [s.key]: s.values } },
    keys: value === undefined ? {} : { [s.key]: value },
    allowed,
  });
  const out = [
    c(s.op, s.hit, true, 'match'),
    c(s.op, s.miss, false, 'non-match'),
    c(s.op, undefined, !!s.negated, `missing key is ${s.negated ? 'true for a negated operator' : 'false'}`),
    c(`${s.op}IfExists`, undefined, true, 'IfExists, missing key'),
    c(`${s.op}IfExists`, s.hit, true, 'IfExists, present and matching'),
    c(`${s.op}IfExists`, s.miss, false, 'IfExists, present and not matching'),
  ];
  if (s.quantified) {
    out.push(
      c(`ForAllValues:${s.op}`, s.hit, true, 'ForAllValues on a single key, present and matching'),
      c(`ForAllValues:${s.op}`, undefined, true, 'ForAllValues on a single key, missing'),
      c(`ForAnyValue:${s.op}`, s.hit, true, 'ForAnyValue on a single key, present and matching'),
      c(`ForAnyValue:${s.op}`, undefined, false, 'ForAnyValue on a single key, missing'),
    );
  }
  return out;
}

/** A set key: each of `hits` satisfies `op` against `values`, each of `misses` does not. */
interface SetSpec {
  op: string;
  key: string;
  values: unknown;
  hits: [string, string];
  misses: [string, string];
}

function setCases(s: SetSpec): ConditionCase[] {
  const c = (prefix: 'ForAllValues' | 'ForAnyValue', value: string[], allowed: boolean, what: string): ConditionCase => ({
    name: label(allowed, `${prefix}:${s.op} ${s.key} ${JSON.stringify(s.values)}: ${what} ${show(value)}`),
    condition: { [`${prefix}:${s.op}`]: { [s.key]: s.values } },
    keys: { [s.key]: value },
    allowed,
  });
  const [h1, h2] = s.hits;
  const [m1, m2] = s.misses;
  return [
    c('ForAllValues', [], true, 'empty set'),
    c('ForAllValues', [h1], true, 'one element, matching'),
    c('ForAllValues', [h1, h2], true, 'many elements, all matching'),
    c('ForAllValues', [h1, m1, h2], false, 'many elements, one not matching'),
    c('ForAnyValue', [], false, 'empty set'),
    c('ForAnyValue', [m1], false, 'one element, not matching'),
    c('ForAnyValue', [m1, h1, m2], true, 'many elements, one matching'),
    c('ForAnyValue', [m1, m2], false, 'many elements, none matching'),
  ];
}

const at = (iso: string) => new Date(iso);

const STRING_SINGLE: SingleSpec[] = [
  { op: 'StringEquals', key: 'privateca:CommonName', values: ['api.example.com', 'www.example.com'], hit: 'www.example.com', miss: 'API.example.com' },
  { op: 'StringNotEquals', key: 'privateca:CommonName', values: ['api.example.com', 'www.example.com'], hit: 'mail.example.com', miss: 'www.example.com', negated: true },
  { op: 'StringEqualsIgnoreCase', key: 'privateca:Template', values: 'EndEntityServerAuthCertificate/V1', hit: 'endentityserverauthcertificate/v1', miss: 'EndEntityClientAuthCertificate/V1' },
  { op: 'StringNotEqualsIgnoreCase', key: 'privateca:KeyAlgorithm', values: ['RSA_2048', 'rsa_1024'], hit: 'EC_prime256v1', miss: 'RSA_1024', negated: true },
  { op: 'StringLike', key: 'privateca:CommonName', values: ['*.example.com', 'db-??.internal'], hit: 'db-01.internal', miss: 'API.EXAMPLE.COM' },
  { op: 'StringNotLike', key: 'privateca:CommonName', values: ['*.example.com', 'db-??.internal'], hit: 'db-001.internal', miss: 'api.example.com', negated: true },
];

const STRING_SET: SetSpec[] = [
  { op: 'StringEquals', key: 'privateca:DnsNames', values: ['a.example.com', 'b.example.com'], hits: ['a.example.com', 'b.example.com'], misses: ['c.example.com', 'A.example.com'] },
  { op: 'StringNotEquals', key: 'privateca:EmailAddresses', values: ['root@example.com', 'admin@example.com'], hits: ['alice@example.com', 'bob@example.com'], misses: ['root@example.com', 'admin@example.com'] },
  { op: 'StringEqualsIgnoreCase', key: 'privateca:EmailAddresses', values: ['Alice@Example.com', 'bob@example.com'], hits: ['alice@example.COM', 'BOB@EXAMPLE.COM'], misses: ['carol@example.com', 'alice@example.org'] },
  { op: 'StringNotEqualsIgnoreCase', key: 'privateca:DnsNames', values: ['Localhost', 'internal.example.com'], hits: ['api.example.com', 'www.example.com'], misses: ['LOCALHOST', 'Internal.Example.Com'] },
  { op: 'StringLike', key: 'privateca:DnsNames', values: ['*.payments.internal', 'payments-??.internal'], hits: ['api.payments.internal', 'payments-01.internal'], misses: ['api.other.internal', 'api.PAYMENTS.internal'] },
  { op: 'StringNotLike', key: 'privateca:Uris', values: ['spiffe://admin/*', 'https://*.admin.example.com/*'], hits: ['spiffe://payments/api', 'https://www.example.com/x'], misses: ['spiffe://admin/root', 'https://a.admin.example.com/b'] },
];

const NUMERIC: SingleSpec[] = [
  { op: 'NumericEquals', key: 'privateca:ValidityDays', values: 30, hit: 30, miss: 31, quantified: true },
  { op: 'NumericNotEquals', key: 'privateca:ValidityDays', values: ['30', 60], hit: 45, miss: 60, negated: true, quantified: true },
  { op: 'NumericLessThan', key: 'privateca:ValidityDays', values: '90', hit: 89, miss: 90, quantified: true },
  { op: 'NumericLessThanEquals', key: 'privateca:ValidityDays', values: 90, hit: 90, miss: 91, quantified: true },
  { op: 'NumericGreaterThan', key: 'privateca:ValidityDays', values: ['1.5'], hit: 2, miss: 1, quantified: true },
  { op: 'NumericGreaterThanEquals', key: 'privateca:ValidityDays', values: '7', hit: 7, miss: 6, quantified: true },
];

const DATE: SingleSpec[] = [
  { op: 'DateEquals', key: 'privateca:CurrentTime', values: '2025-06-01T12:00:00Z', hit: at('2025-06-01T12:00:00Z'), miss: at('2025-06-01T12:00:01Z'), quantified: true },
  { op: 'DateNotEquals', key: 'privateca:CurrentTime', values: ['2025-06-01T12:00:00Z', 1767225600], hit: at('2025-06-01T12:00:01Z'), miss: at('2026-01-01T00:00:00Z'), negated: true, quantified: true },
  { op: 'DateLessThan', key: 'privateca:CurrentTime', values: '2026-01-01T00:00:00Z', hit: at('2025-12-31T23:59:59Z'), miss: at('2026-01-01T00:00:00Z'), quantified: true },
  { op: 'DateLessThanEquals', key: 'privateca:CurrentTime', values: 1767225600, hit: at('2026-01-01T00:00:00Z'), miss: at('2026-01-01T00:00:01Z'), quantified: true },
  { op: 'DateGreaterThan', key: 'privateca:CurrentTime', values: '2025-01-01T01:00:00+01:00', hit: at('2025-01-01T00:00:01Z'), miss: at('2025-01-01T00:00:00Z'), quantified: true },
  { op: 'DateGreaterThanEquals', key: 'privateca:CurrentTime', values: '1735689600', hit: at('2025-01-01T00:00:00Z'), miss: at('2024-12-31T23:59:59Z'), quantified: true },
];

const BOOL: SingleSpec[] = [{ op: 'Bool', key: 'privateca:SecureTransport', values: 'true', hit: true, miss: false, quantified: true }];

const IP_SINGLE: SingleSpec[] = [
  { op: 'IpAddress', key: 'privateca:SourceIp', values: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'], hit: '2001:db8:ffff::1', miss: '192.168.1.8' },
  { op: 'NotIpAddress', key: 'privateca:SourceIp', values: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8'], hit: '172.16.0.1', miss: 'fd12:3456::1', negated: true },
];

/** The address forms of IpAddress/NotIpAddress, and Bool with a JSON boolean. */
const SINGLE_EXTRAS: ConditionCase[] = [
  { name: 'ok/IpAddress: an IPv4 address inside a CIDR block', condition: { IpAddress: { 'privateca:SourceIp': '10.0.0.0/8' } }, keys: { 'privateca:SourceIp': '10.20.30.40' }, allowed: true },
  { name: 'ok/IpAddress: a single IPv4 address equal to it', condition: { IpAddress: { 'privateca:SourceIp': '192.168.1.7' } }, keys: { 'privateca:SourceIp': '192.168.1.7' }, allowed: true },
  { name: 'ok/IpAddress: a single IPv6 address, written another way in the request', condition: { IpAddress: { 'privateca:SourceIp': '2001:db8::1' } }, keys: { 'privateca:SourceIp': '2001:0db8:0:0:0:0:0:1' }, allowed: true },
  { name: 'fail/IpAddress: an IPv6 address outside its block', condition: { IpAddress: { 'privateca:SourceIp': '2001:db8::/32' } }, keys: { 'privateca:SourceIp': '2001:db9::1' }, allowed: false },
  { name: 'fail/NotIpAddress: an IPv4 address equal to a single address of the list', condition: { NotIpAddress: { 'privateca:SourceIp': ['10.0.0.0/8', '192.168.1.7'] } }, keys: { 'privateca:SourceIp': '192.168.1.7' }, allowed: false },
  { name: 'ok/NotIpAddress: an IPv6 address outside every block', condition: { NotIpAddress: { 'privateca:SourceIp': ['10.0.0.0/8', 'fd00::/8'] } }, keys: { 'privateca:SourceIp': '2001:db8::1' }, allowed: true },
  { name: 'ok/Bool false (JSON boolean) matches a false SecureTransport', condition: { Bool: { 'privateca:SecureTransport': false } }, keys: { 'privateca:SecureTransport': false }, allowed: true },
  { name: 'fail/Bool false (JSON boolean) does not match a true SecureTransport', condition: { Bool: { 'privateca:SecureTransport': false } }, keys: { 'privateca:SecureTransport': true }, allowed: false },
];

const IP_SET: SetSpec[] = [
  { op: 'IpAddress', key: 'privateca:IpAddresses', values: ['10.0.0.0/8', '2001:db8::/32'], hits: ['10.0.0.1', '2001:db8::5'], misses: ['192.168.0.1', 'fd00::1'] },
  { op: 'NotIpAddress', key: 'privateca:IpAddresses', values: ['10.0.0.0/8', '2001:db8::/32'], hits: ['192.168.0.1', 'fd00::1'], misses: ['10.0.0.1', '2001:db8::5'] },
];

const NULL_CASES: ConditionCase[] = [
  { name: 'ok/Null "true": the key is absent', condition: { Null: { 'privateca:CommonName': 'true' } }, keys: {}, allowed: true },
  { name: 'fail/Null "true": the key is present', condition: { Null: { 'privateca:CommonName': 'true' } }, keys: { 'privateca:CommonName': 'x' }, allowed: false },
  { name: 'ok/Null "false": the key is present', condition: { Null: { 'privateca:CommonName': 'false' } }, keys: { 'privateca:CommonName': 'x' }, allowed: true },
  { name: 'fail/Null "false": the key is absent', condition: { Null: { 'privateca:CommonName': 'false' } }, keys: {}, allowed: false },
  { name: 'ok/Null true (JSON boolean): the key is absent', condition: { Null: { 'privateca:ValidityDays': true } }, keys: {}, allowed: true },
  { name: 'ok/Null false (JSON boolean): a false boolean key is present', condition: { Null: { 'privateca:SecureTransport': false } }, keys: { 'privateca:SecureTransport': false }, allowed: true },
  { name: 'ok/Null "true" on a set key: an empty set counts as absent', condition: { Null: { 'privateca:DnsNames': 'true' } }, keys: { 'privateca:DnsNames': [] }, allowed: true },
  { name: 'fail/Null "false" on a set key: an empty set counts as absent', condition: { Null: { 'privateca:DnsNames': 'false' } }, keys: { 'privateca:DnsNames': [] }, allowed: false },
  { name: 'ok/Null "false" on a set key with one element', condition: { Null: { 'privateca:DnsNames': 'false' } }, keys: { 'privateca:DnsNames': ['a.example.com'] }, allowed: true },
  { name: 'fail/Null "true" on a set key with many elements', condition: { Null: { 'privateca:IpAddresses': 'true' } }, keys: { 'privateca:IpAddresses': ['10.0.0.1', '10.0.0.2'] }, allowed: false },
  { name: 'ok/Null "false" on a tag key that is present', condition: { Null: { 'privateca:RequestTag/env': 'false' } }, keys: { 'privateca:RequestTag/env': 'prod' }, allowed: true },
];

/** Quantified set operators with IfExists, and String operators on an IP set. */
const SET_EXTRAS: ConditionCase[] = [
  { name: 'ok/ForAllValues:StringLikeIfExists, missing set', condition: { 'ForAllValues:StringLikeIfExists': { 'privateca:DnsNames': '*.example.com' } }, keys: {}, allowed: true },
  { name: 'ok/ForAnyValue:StringLikeIfExists, missing set (IfExists holds on a missing key)', condition: { 'ForAnyValue:StringLikeIfExists': { 'privateca:DnsNames': '*.example.com' } }, keys: {}, allowed: true },
  { name: 'fail/ForAnyValue:StringLikeIfExists, present set with no match', condition: { 'ForAnyValue:StringLikeIfExists': { 'privateca:DnsNames': '*.example.com' } }, keys: { 'privateca:DnsNames': ['a.example.org'] }, allowed: false },
  { name: 'fail/ForAllValues:IpAddressIfExists, present set with one outside', condition: { 'ForAllValues:IpAddressIfExists': { 'privateca:IpAddresses': '10.0.0.0/8' } }, keys: { 'privateca:IpAddresses': ['10.0.0.1', '11.0.0.1'] }, allowed: false },
  { name: 'ok/ForAllValues:StringLike on an IP set', condition: { 'ForAllValues:StringLike': { 'privateca:IpAddresses': '10.0.*' } }, keys: { 'privateca:IpAddresses': ['10.0.0.1', '10.0.9.9'] }, allowed: true },
  { name: 'fail/ForAnyValue:StringNotEquals: every request value is in the set', condition: { 'ForAnyValue:StringNotEquals': { 'privateca:DnsNames': ['a.example.com', 'b.example.com'] } }, keys: { 'privateca:DnsNames': ['b.example.com', 'a.example.com'] }, allowed: false },
  { name: 'fail/ForAnyValue:StringNotLike on a missing set', condition: { 'ForAnyValue:StringNotLike': { 'privateca:DnsNames': '*.example.com' } }, keys: {}, allowed: false },
  { name: 'ok/ForAllValues:StringNotLike on a missing set', condition: { 'ForAllValues:StringNotLike': { 'privateca:DnsNames': '*.example.com' } }, keys: {}, allowed: true },
];

describe('condition operators', () => {
  const tables: [string, ConditionCase[]][] = [
    ['String operators on a single key', STRING_SINGLE.flatMap(singleCases)],
    ['String operators on set keys', STRING_SET.flatMap(setCases)],
    ['Numeric operators', NUMERIC.flatMap(singleCases)],
    ['Date operators', DATE.flatMap(singleCases)],
    ['Bool', BOOL.flatMap(singleCases)],
    ['IpAddress and NotIpAddress on privateca:SourceIp', IP_SINGLE.flatMap(singleCases)],
    ['address forms and Bool values', SINGLE_EXTRAS],
    ['IpAddress and NotIpAddress on privateca:IpAddresses', IP_SET.flatMap(setCases)],
    ['Null', NULL_CASES],
    ['quantifiers with IfExists and negation', SET_EXTRAS],
  ];
  for (const [title, cases] of tables) {
    describe(title, () => {
      it.each(cases)('$name', ({ condition, keys, allowed }) => {
        expectDecision(evaluate([allowIf(condition)], request({ keys })), allowed);
      });
    });
  }
});

interface Case {
  name: string;
  statements: Statement | Statement[];
  req: RequestOptions;
  allowed: boolean;
  reason?: Decision['reason'];
}

const runCases = (cases: Case[]) =>
  it.each(cases)('$name', ({ statements, req, allowed, reason }) => {
    expectDecision(evaluate([policy(statements)], request(req)), allowed, reason);
  });

const allow = (extra: Statement): Statement => ({ Effect: 'Allow', Resource: 'ca/*', ...extra });

describe('actions', () => {
  runCases([
    { name: 'ok/exact action', statements: allow({ Action: ISSUE }), req: {}, allowed: true },
    { name: 'fail/another action', statements: allow({ Action: 'privateca:RevokeCertificate' }), req: {}, allowed: false },
    { name: 'ok/the request action in another case (PRIVATECA:issuecertificate)', statements: allow({ Action: ISSUE }), req: { action: 'PRIVATECA:issuecertificate' }, allowed: true },
    { name: 'ok/the policy action in another case', statements: allow({ Action: 'PrivateCA:ISSUECERTIFICATE' }), req: {}, allowed: true },
    { name: 'ok/privateca:Get* matches GetCertificate', statements: allow({ Action: 'privateca:Get*' }), req: { action: 'privateca:GetCertificate' }, allowed: true },
    { name: 'ok/privateca:get* matches GetCertificateAuthorityCsr', statements: allow({ Action: 'privateca:get*' }), req: { action: 'privateca:GetCertificateAuthorityCsr' }, allowed: true },
    { name: 'fail/privateca:Get* does not match IssueCertificate', statements: allow({ Action: 'privateca:Get*' }), req: {}, allowed: false },
    { name: 'fail/privateca:Get* does not match ListCertificates (the wildcard is anchored)', statements: allow({ Action: 'privateca:Get*' }), req: { action: 'privateca:ListCertificates' }, allowed: false },
    { name: 'ok/privateca:?ssueCertificate matches IssueCertificate', statements: allow({ Action: 'privateca:?ssueCertificate' }), req: {}, allowed: true },
    { name: 'fail/privateca:?ssueCertificate does not match RevokeCertificate', statements: allow({ Action: 'privateca:?ssueCertificate' }), req: { action: 'privateca:RevokeCertificate' }, allowed: false },
    { name: 'ok/privateca:*Certificate matches RevokeCertificate', statements: allow({ Action: 'privateca:*Certificate' }), req: { action: 'privateca:RevokeCertificate' }, allowed: true },
    { name: 'ok/* matches every action', statements: allow({ Action: '*' }), req: { action: 'privateca:DeletePolicy' }, allowed: true },
    { name: 'ok/privateca:* matches every action', statements: allow({ Action: 'privateca:*' }), req: { action: 'privateca:VerifyAuditLog' }, allowed: true },
    { name: 'ok/one of several actions', statements: allow({ Action: ['privateca:RevokeCertificate', ISSUE] }), req: {}, allowed: true },
    { name: 'fail/none of several actions', statements: allow({ Action: ['privateca:RevokeCertificate', 'privateca:Get*'] }), req: {}, allowed: false },
  ]);
});

describe('resources', () => {
  const on = (Resource: unknown, resource: string, allowed: boolean, name: string): Case => ({ name, statements: { Effect: 'Allow', Action: '*', Resource }, req: { resource }, allowed });
  runCases([
    on(CA, CA, true, 'ok/exact resource'),
    on(CA, OTHER_CA, false, 'fail/another resource'),
    on('ca/*', CA, true, 'ok/ca/* matches a CA'),
    on('ca/*', 'ca/*', true, 'ok/ca/* matches the ca/* of create and list'),
    on('ca/*', 'principal/alice', false, 'fail/ca/* does not match a principal'),
    on('*', 'audit', true, 'ok/* matches audit'),
    on('*', 'policy/p-1', true, 'ok/* matches a policy'),
    on('ca/1234????-*', CA, true, 'ok/ca/1234????-* matches ca/12345678-…'),
    on('ca/1234????-*', 'ca/123456789-aaaa', false, 'fail/ca/1234????-* needs exactly four characters before the dash'),
    on('ca/1234????-*', OTHER_CA, false, 'fail/ca/1234????-* does not match ca/8765…'),
    on('ca/' + CA.slice(3).toUpperCase(), CA, false, 'fail/resource matching is case-sensitive (ca/12345678-AAAA-…)'),
    on('ca/12345678-AAAA-*', CA, false, 'fail/resource wildcards are case-sensitive (ca/12345678-AAAA-*)'),
    on('principal/alice', 'principal/Alice', false, 'fail/resource matching is case-sensitive (principal/alice vs principal/Alice)'),
    on('principal/*', 'principal/alice', true, 'ok/principal/* matches a principal'),
    on('audit', 'audit', true, 'ok/audit matches audit'),
    on([OTHER_CA, 'policy/*', CA], CA, true, 'ok/one of several resources'),
    on([OTHER_CA, 'policy/*'], CA, false, 'fail/none of several resources'),
  ]);
});

describe('NotAction and NotResource', () => {
  runCases([
    { name: 'ok/NotAction: an action that is not listed', statements: { Effect: 'Allow', NotAction: 'privateca:DeleteCertificateAuthority', Resource: 'ca/*' }, req: {}, allowed: true },
    { name: 'fail/NotAction: the listed action', statements: { Effect: 'Allow', NotAction: 'privateca:DeleteCertificateAuthority', Resource: 'ca/*' }, req: { action: 'privateca:DeleteCertificateAuthority' }, allowed: false },
    { name: 'fail/NotAction with a wildcard: privateca:Delete* excludes DeletePolicy', statements: { Effect: 'Allow', NotAction: ['privateca:Delete*', 'privateca:Update*'], Resource: '*' }, req: { action: 'privateca:DeletePolicy', resource: 'policy/p' }, allowed: false },
    { name: 'fail/NotAction is case-insensitive too', statements: { Effect: 'Allow', NotAction: 'privateca:deletepolicy', Resource: '*' }, req: { action: 'privateca:DeletePolicy', resource: 'policy/p' }, allowed: false },
    { name: 'ok/NotAction with a wildcard: privateca:Delete* leaves IssueCertificate', statements: { Effect: 'Allow', NotAction: ['privateca:Delete*', 'privateca:Update*'], Resource: '*' }, req: {}, allowed: true },
    {
      name: 'fail/Deny NotAction privateca:Get*: anything but Get* is denied explicitly',
      statements: [{ Effect: 'Allow', Action: '*', Resource: '*' }, { Sid: 'OnlyReads', Effect: 'Deny', NotAction: 'privateca:Get*', Resource: '*' }],
      req: {},
      allowed: false,
      reason: 'explicit_deny',
    },
    {
      name: 'ok/Deny NotAction privateca:Get*: Get* stays allowed',
      statements: [{ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', NotAction: 'privateca:Get*', Resource: '*' }],
      req: { action: 'privateca:GetCertificate' },
      allowed: true,
    },
    { name: 'ok/NotResource: a resource that is not listed', statements: { Effect: 'Allow', Action: '*', NotResource: 'ca/secret-*' }, req: {}, allowed: true },
    { name: 'fail/NotResource: a listed resource', statements: { Effect: 'Allow', Action: '*', NotResource: ['audit', 'ca/secret-*'] }, req: { resource: 'ca/secret-1' }, allowed: false },
    { name: 'ok/NotResource is case-sensitive: ca/SECRET-1 is not ca/secret-*', statements: { Effect: 'Allow', Action: '*', NotResource: 'ca/secret-*' }, req: { resource: 'ca/SECRET-1' }, allowed: true },
    {
      name: 'fail/Deny NotResource: every resource but one CA is denied',
      statements: [{ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: '*', NotResource: CA }],
      req: { resource: OTHER_CA },
      allowed: false,
      reason: 'explicit_deny',
    },
    {
      name: 'ok/Deny NotResource: the one CA stays allowed',
      statements: [{ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: '*', NotResource: CA }],
      req: { resource: CA },
      allowed: true,
    },
    {
      name: 'ok/NotAction and NotResource together: neither excluded',
      statements: { Effect: 'Allow', NotAction: 'privateca:Delete*', NotResource: 'audit' },
      req: {},
      allowed: true,
    },
  ]);
});

describe('Deny over Allow', () => {
  const allowAll = { Sid: 'AllowAll', Effect: 'Allow', Action: '*', Resource: '*' };
  const denyIssue = { Sid: 'NoIssue', Effect: 'Deny', Action: ISSUE, Resource: 'ca/*' };

  it('fail/a Deny in the same policy, after the Allow', () => {
    expectDecision(evaluate([policy([allowAll, denyIssue])], request()), false, 'explicit_deny');
  });
  it('fail/a Deny in the same policy, before the Allow', () => {
    expectDecision(evaluate([policy([denyIssue, allowAll])], request()), false, 'explicit_deny');
  });
  it('fail/a Deny in a second policy overrides the Allow of the first', () => {
    expectDecision(evaluate([policy(allowAll), policy(denyIssue)], request()), false, 'explicit_deny');
  });
  it('fail/a Deny in the first policy overrides the Allow of a second', () => {
    expectDecision(evaluate([policy(denyIssue), policy(allowAll)], request()), false, 'explicit_deny');
  });
  it('ok/a Deny of another action does not apply', () => {
    expectDecision(evaluate([policy([allowAll, denyIssue])], request({ action: 'privateca:GetCertificate' })), true);
  });
  it('ok/a Deny of another resource does not apply', () => {
    expectDecision(evaluate([policy([allowAll, { ...denyIssue, Resource: OTHER_CA }])], request()), true);
  });
  it('ok/a Deny whose condition does not hold does not apply', () => {
    const deny = { ...denyIssue, Condition: { Bool: { 'privateca:SecureTransport': 'false' } } };
    expectDecision(evaluate([policy([allowAll, deny])], request({ keys: { 'privateca:SecureTransport': true } })), true);
  });
  it('fail/a Deny whose condition holds applies', () => {
    const deny = { ...denyIssue, Condition: { Bool: { 'privateca:SecureTransport': 'false' } } };
    expectDecision(evaluate([policy([allowAll, deny])], request({ keys: { 'privateca:SecureTransport': false } })), false, 'explicit_deny');
  });
  it('fail/a Deny with a negated operator on a missing key applies (StringNotEquals holds)', () => {
    const deny = { ...denyIssue, Condition: { StringNotEquals: { 'privateca:PrincipalTag/team': 'pki' } } };
    expectDecision(evaluate([policy([allowAll, deny])], request()), false, 'explicit_deny');
  });
  it('fail/a Deny alone denies with explicit_deny, an empty list with no_allow', () => {
    expectDecision(evaluate([policy(denyIssue)], request()), false, 'explicit_deny');
    expectDecision(evaluate([], request()), false, 'no_allow');
  });
  it('ok/two Allows, the second matching', () => {
    expectDecision(evaluate([policy({ ...allowAll, Resource: OTHER_CA }), policy({ Effect: 'Allow', Action: ISSUE, Resource: CA })], request()), true);
  });
});

describe('several values, several keys, several operators', () => {
  runCases([
    { name: 'ok/several values of one key: any may match', statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:Template': ['A/V1', 'B/V1', 'C/V1'] } } }), req: { keys: { 'privateca:Template': 'C/V1' } }, allowed: true },
    { name: 'fail/several values of one key: none matches', statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:Template': ['A/V1', 'B/V1'] } } }), req: { keys: { 'privateca:Template': 'C/V1' } }, allowed: false },
    {
      name: 'ok/several keys in one operator: all hold',
      statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:Template': 'A/V1', 'privateca:KeyAlgorithm': 'EC_prime256v1' } } }),
      req: { keys: { 'privateca:Template': 'A/V1', 'privateca:KeyAlgorithm': 'EC_prime256v1' } },
      allowed: true,
    },
    {
      name: 'fail/several keys in one operator: one does not hold',
      statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:Template': 'A/V1', 'privateca:KeyAlgorithm': 'EC_prime256v1' } } }),
      req: { keys: { 'privateca:Template': 'A/V1', 'privateca:KeyAlgorithm': 'RSA_2048' } },
      allowed: false,
    },
    {
      name: 'fail/several keys in one operator: one is missing',
      statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:Template': 'A/V1', 'privateca:KeyAlgorithm': 'EC_prime256v1' } } }),
      req: { keys: { 'privateca:Template': 'A/V1' } },
      allowed: false,
    },
    {
      name: 'ok/several operators: all hold',
      statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:Template': 'A/V1' }, NumericLessThanEquals: { 'privateca:ValidityDays': 90 }, Bool: { 'privateca:SecureTransport': true }, IpAddress: { 'privateca:SourceIp': '10.0.0.0/8' } } }),
      req: { keys: { 'privateca:Template': 'A/V1', 'privateca:ValidityDays': 90, 'privateca:SecureTransport': true, 'privateca:SourceIp': '10.1.1.1' } },
      allowed: true,
    },
    {
      name: 'fail/several operators: the last does not hold',
      statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:Template': 'A/V1' }, NumericLessThanEquals: { 'privateca:ValidityDays': 90 }, Bool: { 'privateca:SecureTransport': true }, IpAddress: { 'privateca:SourceIp': '10.0.0.0/8' } } }),
      req: { keys: { 'privateca:Template': 'A/V1', 'privateca:ValidityDays': 90, 'privateca:SecureTransport': true, 'privateca:SourceIp': '11.1.1.1' } },
      allowed: false,
    },
    {
      name: 'fail/several operators: the first does not hold',
      statements: allow({ Action: ISSUE, Condition: { NumericLessThanEquals: { 'privateca:ValidityDays': 90 }, 'ForAllValues:StringLike': { 'privateca:DnsNames': '*.example.com' } } }),
      req: { keys: { 'privateca:ValidityDays': 365, 'privateca:DnsNames': ['a.example.com'] } },
      allowed: false,
    },
    {
      name: 'fail/several values with a negated operator: the request value is one of them',
      statements: allow({ Action: ISSUE, Condition: { StringNotEquals: { 'privateca:RevocationReason': ['KEY_COMPROMISE', 'CA_COMPROMISE'] } } }),
      req: { action: ISSUE, keys: { 'privateca:RevocationReason': 'CA_COMPROMISE' } },
      allowed: false,
    },
    {
      name: 'ok/several values with a negated operator: the request value is none of them',
      statements: allow({ Action: ISSUE, Condition: { StringNotEquals: { 'privateca:RevocationReason': ['KEY_COMPROMISE', 'CA_COMPROMISE'] } } }),
      req: { action: ISSUE, keys: { 'privateca:RevocationReason': 'SUPERSEDED' } },
      allowed: true,
    },
  ]);
});

describe('tags', () => {
  runCases([
    { name: 'ok/ResourceTag matches', statements: allow({ Action: '*', Condition: { StringEquals: { 'privateca:ResourceTag/env': 'prod' } } }), req: { resourceTags: { env: 'prod' } }, allowed: true },
    { name: 'fail/ResourceTag differs', statements: allow({ Action: '*', Condition: { StringEquals: { 'privateca:ResourceTag/env': 'prod' } } }), req: { resourceTags: { env: 'dev' } }, allowed: false },
    { name: 'fail/a PrincipalTag of the same name is not the ResourceTag', statements: allow({ Action: '*', Condition: { StringEquals: { 'privateca:ResourceTag/env': 'prod' } } }), req: { principalTags: { env: 'prod' } }, allowed: false },
    { name: 'ok/RequestTag matches by StringLike', statements: allow({ Action: '*', Condition: { StringLike: { 'privateca:RequestTag/owner': 'team-*' } } }), req: { requestTags: { owner: 'team-pki' } }, allowed: true },
    {
      name: 'ok/PrincipalTag equals ResourceTag through a variable',
      statements: allow({ Action: '*', Condition: { StringEquals: { 'privateca:ResourceTag/team': '${privateca:PrincipalTag/team}' } } }),
      req: { principalTags: { team: 'payments' }, resourceTags: { team: 'payments' } },
      allowed: true,
    },
    {
      name: 'fail/PrincipalTag differs from ResourceTag through a variable',
      statements: allow({ Action: '*', Condition: { StringEquals: { 'privateca:ResourceTag/team': '${privateca:PrincipalTag/team}' } } }),
      req: { principalTags: { team: 'payments' }, resourceTags: { team: 'identity' } },
      allowed: false,
    },
  ]);
});

describe('policy variables', () => {
  const inResource = (Resource: string, req: RequestOptions, allowed: boolean, name: string): Case => ({ name, statements: { Effect: 'Allow', Action: '*', Resource }, req, allowed });
  const inCondition = (Condition: Record<string, unknown>, req: RequestOptions, allowed: boolean, name: string): Case => ({ name, statements: allow({ Action: ISSUE, Condition }), req, allowed });
  runCases([
    inResource('principal/${privateca:PrincipalName}', { resource: 'principal/alice', keys: { 'privateca:PrincipalName': 'alice' } }, true, 'ok/Resource ${privateca:PrincipalName} resolved to the caller'),
    inResource('principal/${privateca:PrincipalName}', { resource: 'principal/bob', keys: { 'privateca:PrincipalName': 'alice' } }, false, 'fail/Resource ${privateca:PrincipalName}: another principal'),
    inResource('principal/${privateca:PrincipalName}', { resource: 'principal/' }, false, 'fail/Resource ${privateca:PrincipalName} without a value matches nothing'),
    inResource('principal/${privateca:PrincipalName}*', { resource: 'principal/anything' }, false, 'fail/Resource with an unresolved variable and a wildcard still matches nothing'),
    inResource('principal/${PRIVATECA:principalname}', { resource: 'principal/alice', keys: { 'privateca:PrincipalName': 'alice' } }, true, 'ok/Resource variable names are case-insensitive'),
    { name: 'ok/Resource: an unresolved variable in one entry leaves the other entries', statements: { Effect: 'Allow', Action: '*', Resource: ['principal/${privateca:PrincipalName}', 'ca/*'] }, req: {}, allowed: true },
    inResource('ca/${privateca:PrincipalTag/team}-*', { resource: 'ca/payments-1', principalTags: { team: 'payments' } }, true, 'ok/Resource ${privateca:PrincipalTag/team}-*'),
    inResource('ca/${privateca:PrincipalTag/team}-*', { resource: 'ca/identity-1', principalTags: { team: 'payments' } }, false, 'fail/Resource ${privateca:PrincipalTag/team}-*: another team'),
    inResource('ca/${privateca:PrincipalTag/Team}-*', { resource: 'ca/payments-1', principalTags: { TEAM: 'payments' } }, true, 'ok/Resource variable tag name is case-insensitive'),
    inResource("ca/${privateca:PrincipalTag/team, 'shared'}-*", { resource: 'ca/shared-1' }, true, 'ok/Resource variable default when the tag is missing'),
    inResource("ca/${privateca:PrincipalTag/team, 'shared'}-*", { resource: 'ca/payments-1', principalTags: { team: 'payments' } }, true, 'ok/Resource variable with a default uses the tag when present'),
    inResource("ca/${privateca:PrincipalTag/team, 'shared'}-*", { resource: 'ca/shared-1', principalTags: { team: 'payments' } }, false, 'fail/Resource variable with a default: the tag, not the default, when present'),
    inResource('ca/star${*}', { resource: 'ca/star*' }, true, 'ok/Resource ${*} is a literal *'),
    inResource('ca/star${*}', { resource: 'ca/starlight' }, false, 'fail/Resource ${*} is not a wildcard'),
    inResource('ca/q${?}', { resource: 'ca/q?' }, true, 'ok/Resource ${?} is a literal ?'),
    inResource('ca/q${?}', { resource: 'ca/qx' }, false, 'fail/Resource ${?} is not a wildcard'),
    inResource('ca/${privateca:PrincipalTag/team}', { resource: 'ca/*', principalTags: { team: '*' } }, true, 'ok/Resource: a * from a tag matches a literal *'),
    inResource('ca/${privateca:PrincipalTag/team}', { resource: CA, principalTags: { team: '*' } }, false, 'fail/Resource: a * from a tag is not a wildcard'),
    inCondition({ StringEquals: { 'privateca:CommonName': '${privateca:PrincipalName}.example.com' } }, { keys: { 'privateca:PrincipalName': 'alice', 'privateca:CommonName': 'alice.example.com' } }, true, 'ok/condition value ${privateca:PrincipalName}.example.com'),
    inCondition({ StringEquals: { 'privateca:CommonName': '${privateca:PrincipalName}.example.com' } }, { keys: { 'privateca:PrincipalName': 'bob', 'privateca:CommonName': 'alice.example.com' } }, false, 'fail/condition value ${privateca:PrincipalName}: another principal'),
    inCondition({ StringEquals: { 'privateca:CommonName': '${privateca:PrincipalName}.example.com' } }, { keys: { 'privateca:CommonName': '.example.com' } }, false, 'fail/condition value with an unresolved variable matches nothing'),
    inCondition(
      { StringEquals: { 'privateca:CommonName': ['${privateca:PrincipalName}.example.com', 'shared.example.com'] } },
      { keys: { 'privateca:CommonName': 'shared.example.com' } },
      true,
      'ok/condition: an unresolved variable in one value leaves the other values (any may match)',
    ),
    inCondition({ 'ForAllValues:StringLike': { 'privateca:DnsNames': '*.${privateca:PrincipalTag/team}.internal' } }, { keys: { 'privateca:DnsNames': ['a.payments.internal', 'b.payments.internal'] }, principalTags: { team: 'payments' } }, true, 'ok/condition ForAllValues:StringLike *.${privateca:PrincipalTag/team}.internal'),
    inCondition({ 'ForAllValues:StringLike': { 'privateca:DnsNames': '*.${privateca:PrincipalTag/team}.internal' } }, { keys: { 'privateca:DnsNames': ['a.payments.internal', 'b.identity.internal'] }, principalTags: { team: 'payments' } }, false, 'fail/condition ForAllValues:StringLike with a variable: one name of another team'),
    inCondition({ StringEqualsIgnoreCase: { 'privateca:CommonName': '${privateca:PrincipalTag/team}' } }, { keys: { 'privateca:CommonName': 'PAYMENTS' }, principalTags: { team: 'Payments' } }, true, 'ok/condition StringEqualsIgnoreCase with a variable ignores case'),
    inCondition({ StringLike: { 'privateca:CommonName': "${privateca:PrincipalTag/team, 'shared'}.*" } }, { keys: { 'privateca:CommonName': 'shared.example.com' } }, true, 'ok/condition variable default when the tag is missing'),
    inCondition({ StringLike: { 'privateca:CommonName': 'a${*}b' } }, { keys: { 'privateca:CommonName': 'a*b' } }, true, 'ok/condition StringLike ${*} is a literal *'),
    inCondition({ StringLike: { 'privateca:CommonName': 'a${*}b' } }, { keys: { 'privateca:CommonName': 'axyzb' } }, false, 'fail/condition StringLike ${*} is not a wildcard'),
    inCondition({ StringEquals: { 'privateca:CommonName': 'cost${$}' } }, { keys: { 'privateca:CommonName': 'cost$' } }, true, 'ok/condition ${$} is a literal $'),
    inCondition({ StringLike: { 'privateca:CommonName': '${privateca:PrincipalTag/team}.example.com' } }, { keys: { 'privateca:CommonName': 'api.example.com' }, principalTags: { team: '*' } }, false, 'fail/condition StringLike: a * from a tag is not a wildcard'),
    inCondition({ StringLike: { 'privateca:CommonName': '${privateca:PrincipalTag/team}.example.com' } }, { keys: { 'privateca:CommonName': '*.example.com' }, principalTags: { team: '*' } }, true, 'ok/condition StringLike: a * from a tag matches a literal *'),
  ]);
});

describe('case rules', () => {
  runCases([
    { name: 'ok/condition key names are case-insensitive (PRIVATECA:commonname)', statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'PRIVATECA:commonname': 'api' } } }), req: { keys: { 'privateca:CommonName': 'api' } }, allowed: true },
    { name: 'ok/condition key names are case-insensitive in the request too', statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:CommonName': 'api' } } }), req: { keys: { 'PrivateCA:COMMONNAME': 'api' } }, allowed: true },
    { name: 'ok/set key name PRIVATECA:dnsnames == privateca:DnsNames', statements: allow({ Action: ISSUE, Condition: { 'ForAllValues:StringLike': { 'PRIVATECA:dnsnames': '*.example.com' } } }), req: { keys: { 'privateca:DnsNames': ['a.example.com'] } }, allowed: true },
    { name: 'fail/set key name in another case still tests the values', statements: allow({ Action: ISSUE, Condition: { 'ForAllValues:StringLike': { 'PRIVATECA:dnsnames': '*.example.com' } } }), req: { keys: { 'privateca:DnsNames': ['a.example.org'] } }, allowed: false },
    { name: 'ok/the tag part of a PrincipalTag key is case-insensitive (policy TEAM, tag team)', statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:PrincipalTag/TEAM': 'pki' } } }), req: { principalTags: { team: 'pki' } }, allowed: true },
    { name: 'ok/the tag part of a ResourceTag key is case-insensitive (policy env, tag Env)', statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:resourcetag/env': 'prod' } } }), req: { resourceTags: { Env: 'prod' } }, allowed: true },
    { name: 'ok/the tag part of a RequestTag key is case-insensitive', statements: allow({ Action: ISSUE, Condition: { Null: { 'privateca:RequestTag/Owner': 'false' } } }), req: { requestTags: { OWNER: 'x' } }, allowed: true },
    { name: 'fail/tag values are compared case-sensitively by StringEquals', statements: allow({ Action: ISSUE, Condition: { StringEquals: { 'privateca:PrincipalTag/team': 'pki' } } }), req: { principalTags: { team: 'PKI' } }, allowed: false },
    { name: 'ok/tag values are compared case-insensitively by StringEqualsIgnoreCase', statements: allow({ Action: ISSUE, Condition: { StringEqualsIgnoreCase: { 'privateca:PrincipalTag/team': 'pki' } } }), req: { principalTags: { team: 'PKI' } }, allowed: true },
    { name: 'fail/StringLike is case-sensitive', statements: allow({ Action: ISSUE, Condition: { StringLike: { 'privateca:CommonName': '*.example.com' } } }), req: { keys: { 'privateca:CommonName': 'api.Example.com' } }, allowed: false },
  ]);
});

describe('decision details', () => {
  it('fail/a near miss names the failing condition in detail', () => {
    const p = policy({ Sid: 'PaymentsNames', Effect: 'Allow', Action: ISSUE, Resource: 'ca/*', Condition: { 'ForAllValues:StringLike': { 'privateca:DnsNames': '*.payments.internal' } } }, 'payments');
    const d = evaluate([p], request({ keys: { 'privateca:DnsNames': ['db.payments.internal', 'api.other.internal'] } }));
    expectDecision(d, false, 'no_allow');
    expect(d.detail).toContain('privateca:DnsNames (ForAllValues:StringLike *.payments.internal) does not match api.other.internal');
    expect(d.detail).not.toContain('db.payments.internal');
    expect(d.policy).toBe('payments');
    expect(d.statement).toBe('PaymentsNames');
  });
  it('fail/a near miss on a missing key says so', () => {
    const p = policy({ Effect: 'Allow', Action: ISSUE, Resource: 'ca/*', Condition: { NumericLessThanEquals: { 'privateca:ValidityDays': 90 } } }, 'short');
    const d = evaluate([p], request());
    expectDecision(d, false, 'no_allow');
    expect(d.detail).toContain('privateca:ValidityDays');
    expect(d.detail).toContain('not in the request');
    expect(d.statement).toBe('#1');
  });
  it('fail/explicit_deny names the Sid of the Deny', () => {
    const p = policy([{ Sid: 'Everything', Effect: 'Allow', Action: '*', Resource: '*' }, { Sid: 'NoRevoke', Effect: 'Deny', Action: 'privateca:RevokeCertificate', Resource: '*' }], 'guard');
    const d = evaluate([p], request({ action: 'privateca:RevokeCertificate' }));
    expectDecision(d, false, 'explicit_deny');
    expect(d.statement).toBe('NoRevoke');
    expect(d.policy).toBe('guard');
    expect(d.detail).toContain('privateca:RevokeCertificate');
    expect(d.detail).toContain(CA);
  });
  it('fail/explicit_deny without a Sid names the statement by position (#2)', () => {
    const p = policy([{ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: '*', Resource: CA }], 'positional');
    const d = evaluate([p], request());
    expectDecision(d, false, 'explicit_deny');
    expect(d.statement).toBe('#2');
  });
  it('ok/allowed names the policy and the Allow statement', () => {
    const p = policy([{ Sid: 'Other', Effect: 'Allow', Action: 'privateca:GetCertificate', Resource: '*' }, { Sid: 'Issue', Effect: 'Allow', Action: ISSUE, Resource: 'ca/*' }], 'issuer');
    const d = evaluate([p], request());
    expectDecision(d, true, 'allowed');
    expect(d.policy).toBe('issuer');
    expect(d.statement).toBe('Issue');
  });
  it('fail/no matching statement at all: no_allow without a statement', () => {
    const p = policy({ Sid: 'Other', Effect: 'Allow', Action: 'privateca:GetCertificate', Resource: '*' });
    const d = evaluate([p], request());
    expectDecision(d, false, 'no_allow');
    expect(d.statement).toBeUndefined();
    expect(d.detail).toContain(ISSUE);
  });
});
