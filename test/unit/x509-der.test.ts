import * as asn1js from 'asn1js';
import { describe, expect, it } from 'vitest';
import {
  TAG,
  bitLength,
  bitString,
  boolean,
  decodeOid,
  encodeLength,
  expectTlv,
  generalizedTime,
  integer,
  integerFromUnsigned,
  nullDer,
  octetString,
  oid,
  readChildren,
  readTlv,
  sequence,
  set,
  time,
  timeSize,
  tlv,
  unsignedIntegerValue,
  utcTime,
} from '../../src/x509/der.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('DER reader', () => {
  it('ok/reads short- and long-form lengths', () => {
    expect(readTlv(bytes('04 03 010203'), 0)).toEqual({ tag: 4, start: 0, valueStart: 2, end: 5 });
    const long = new Uint8Array(3 + 200);
    long.set([0x04, 0x81, 200]);
    expect(readTlv(long, 0)).toEqual({ tag: 4, start: 0, valueStart: 3, end: 203 });
    const longer = new Uint8Array(4 + 300);
    longer.set([0x30, 0x82, 0x01, 0x2c]);
    expect(readTlv(longer, 0).end).toBe(304);
  });

  it('ok/reads children that exactly fill their parent', () => {
    const seq = bytes('3008 020105 0500 0101ff');
    const kids = readChildren(seq, readTlv(seq, 0));
    expect(kids.map((k) => k.tag)).toEqual([TAG.INTEGER, TAG.NULL, TAG.BOOLEAN]);
  });

  it('fail/rejects the indefinite length form', () => {
    expect(() => readTlv(bytes('30 80 0000'), 0)).toThrow(/indefinite/);
  });

  it('fail/rejects non-minimal lengths', () => {
    expect(() => readTlv(bytes('04 81 05 0102030405'), 0)).toThrow(/below 128/);
    const padded = new Uint8Array(4 + 200);
    padded.set([0x04, 0x82, 0x00, 200]);
    expect(() => readTlv(padded, 0)).toThrow(/leading zero/);
  });

  it('fail/rejects truncation of the length or the content', () => {
    expect(() => readTlv(bytes('04'), 0)).toThrow(/truncated/);
    expect(() => readTlv(bytes('04 82 01'), 0)).toThrow(/truncated/);
    expect(() => readTlv(bytes('04 05 0102'), 0)).toThrow(/truncated/);
    // Content that fits the buffer but not the parent's limit.
    expect(() => readTlv(bytes('3003 0403 010203'), 2, 5)).toThrow(/truncated/);
    expect(() => readTlv(bytes(''), 0)).toThrow(/truncated/);
  });

  it('fail/rejects high tag numbers and over-long length fields', () => {
    expect(() => readTlv(bytes('1f 22 00'), 0)).toThrow(/high tag/);
    expect(() => readTlv(bytes('04 85 0100000000'), 0)).toThrow(/too large/);
  });

  it('fail/expectTlv names the element and the tags', () => {
    expect(() => expectTlv(bytes('0400'), 0, TAG.SEQUENCE, 2, 'thing')).toThrow('thing: expected tag 0x30, found 0x04');
  });

  it('ok/decodes OIDs, including arcs beyond 2^53', () => {
    expect(decodeOid(bytes('2a864886f70d010101'), 0, 9)).toBe('1.2.840.113549.1.1.1');
    expect(decodeOid(bytes('550403'), 0, 3)).toBe('2.5.4.3');
    expect(decodeOid(bytes('0992268993f22c640119'), 0, 10)).toBe('0.9.2342.19200300.100.1.25');
    const uuidOid = '2.25.329800735698586629295641978511506172918';
    const enc = oid(uuidOid);
    expect(decodeOid(enc, 2, enc.length)).toBe(uuidOid);
    // Cross-check with asn1js, an independent encoder.
    const ref = new asn1js.ObjectIdentifier({ value: uuidOid }).toBER();
    expect(hex(enc)).toBe(Buffer.from(ref).toString('hex'));
  });

  it('fail/rejects non-minimal and truncated OID subidentifiers', () => {
    expect(() => decodeOid(bytes('2a8001'), 0, 3)).toThrow(/non-minimal/);
    expect(() => decodeOid(bytes('2a86'), 0, 2)).toThrow(/truncated/);
    expect(() => decodeOid(bytes(''), 0, 0)).toThrow(/empty/);
  });

  it('ok/reads unsigned INTEGER magnitudes and rejects non-minimal or negative ones', () => {
    const v = bytes('0203 00ff01');
    expect(hex(unsignedIntegerValue(v, readTlv(v, 0), 'n'))).toBe('ff01');
    const nm = bytes('0202 0001');
    expect(() => unsignedIntegerValue(nm, readTlv(nm, 0), 'n')).toThrow(/minimal/);
    const neg = bytes('0201 80');
    expect(() => unsignedIntegerValue(neg, readTlv(neg, 0), 'n')).toThrow(/negative/);
    expect(bitLength(bytes('0100'))).toBe(9);
    expect(bitLength(bytes('00ff'))).toBe(8);
  });
});

describe('DER writer', () => {
  it('ok/encodes minimal lengths', () => {
    expect(hex(encodeLength(0))).toBe('00');
    expect(hex(encodeLength(127))).toBe('7f');
    expect(hex(encodeLength(128))).toBe('8180');
    expect(hex(encodeLength(255))).toBe('81ff');
    expect(hex(encodeLength(256))).toBe('820100');
    expect(hex(encodeLength(65535))).toBe('82ffff');
    expect(hex(encodeLength(65536))).toBe('83010000');
    expect(() => encodeLength(-1)).toThrow();
  });

  it('ok/tlv, sequence and set concatenate parts and read back', () => {
    const big = new Uint8Array(300).fill(7);
    const s = sequence(octetString(big), nullDer(), boolean(true), boolean(false));
    const t = readTlv(s, 0);
    expect(t.end).toBe(s.length);
    const kids = readChildren(s, t);
    expect(kids.map((k) => k.tag)).toEqual([TAG.OCTET_STRING, TAG.NULL, TAG.BOOLEAN, TAG.BOOLEAN]);
    expect(kids[0].end - kids[0].valueStart).toBe(300);
    expect(hex(s.subarray(kids[2].start, kids[3].end))).toBe('0101ff010100');
    expect(hex(set(integer(1)))).toBe('3103020101');
    expect(hex(tlv(0xa0))).toBe('a000');
  });

  it('ok/integers are positive and minimal', () => {
    expect(hex(integerFromUnsigned(bytes('80')))).toBe('02020080');
    expect(hex(integerFromUnsigned(bytes('000001')))).toBe('020101');
    expect(hex(integerFromUnsigned(bytes('00')))).toBe('020100');
    expect(hex(integerFromUnsigned(bytes('7f')))).toBe('02017f');
    expect(hex(integer(0))).toBe('020100');
    expect(hex(integer(128))).toBe('02020080');
    expect(hex(integer(256))).toBe('02020100');
    expect(() => integer(-1)).toThrow();
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 2 ** 31, 2 ** 40 + 3]) {
      const ref = Buffer.from(new asn1js.Integer({ value: n }).toBER()).toString('hex');
      expect(hex(integer(n))).toBe(ref);
    }
  });

  it('ok/encodes OIDs like asn1js', () => {
    for (const o of ['1.2.840.10045.4.3.2', '2.5.29.17', '0.9.2342.19200300.100.1.1', '1.3.6.1.5.5.7.48.1.5', '2.999.1']) {
      expect(hex(oid(o))).toBe(Buffer.from(new asn1js.ObjectIdentifier({ value: o }).toBER()).toString('hex'));
    }
  });

  it('fail/rejects malformed dotted OIDs', () => {
    for (const o of ['', '1', '3.1', '1.40', '1.2.', '1..2', '1.02', 'a.b']) expect(() => oid(o), o).toThrow();
  });

  it('ok/BIT STRING carries the unused-bit count', () => {
    expect(hex(bitString(bytes('80'), 7))).toBe('03020780');
    expect(hex(bitString(bytes('0102')))).toBe('0303000102');
    expect(() => bitString(bytes('80'), 8)).toThrow();
    expect(() => bitString(new Uint8Array(0), 1)).toThrow();
  });

  it('ok/time uses UTCTime for 1950..2049 and GeneralizedTime otherwise (RFC 5280 4.1.2.5)', () => {
    const ascii = (b: Uint8Array) => Buffer.from(b.subarray(2)).toString('latin1');
    const cases: [string, number, string][] = [
      ['1950-01-01T00:00:00Z', TAG.UTC_TIME, '500101000000Z'],
      ['1999-12-31T23:59:59Z', TAG.UTC_TIME, '991231235959Z'],
      ['2000-02-29T12:34:56.789Z', TAG.UTC_TIME, '000229123456Z'],
      ['2049-12-31T23:59:59.999Z', TAG.UTC_TIME, '491231235959Z'],
      ['2050-01-01T00:00:00Z', TAG.GENERALIZED_TIME, '20500101000000Z'],
      ['9999-12-31T23:59:59Z', TAG.GENERALIZED_TIME, '99991231235959Z'],
      ['1949-12-31T23:59:59Z', TAG.GENERALIZED_TIME, '19491231235959Z'],
    ];
    for (const [iso, tag, text] of cases) {
      const d = new Date(iso);
      const t = time(d);
      expect(t[0], iso).toBe(tag);
      expect(t[1]).toBe(text.length);
      expect(ascii(t), iso).toBe(text);
      expect(timeSize(d)).toBe(t.length);
    }
    expect(ascii(generalizedTime(new Date('2020-05-06T07:08:09Z')))).toBe('20200506070809Z');
    expect(ascii(utcTime(new Date('2020-05-06T07:08:09Z')))).toBe('200506070809Z');
  });

  it('fail/time refuses what it cannot encode', () => {
    expect(() => utcTime(new Date('2050-01-01T00:00:00Z'))).toThrow(/UTCTime/);
    expect(() => time(new Date(Number.NaN))).toThrow(/invalid date/);
    expect(() => time(new Date('+010000-01-01T00:00:00Z'))).toThrow(/year/);
  });
});
