/*
 * ECDSA signatures come in two encodings: X.509 carries the DER ECDSA-Sig-Value SEQUENCE { r, s },
 * WebCrypto and PKCS#11 produce raw r||s of twice the coordinate size. Every conversion goes
 * through here.
 */

/** DER ECDSA-Sig-Value → raw r||s, each padded to `size` bytes (32, 48 or 66). */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array {
  let i = 0;
  const fail = () => {
    throw new Error('malformed DER ECDSA signature');
  };
  const readLen = (): number => {
    let len = der[i++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 2) fail();
      len = 0;
      for (let k = 0; k < n; k++) len = (len << 8) | der[i++]!;
    }
    return len;
  };
  if (der[i++] !== 0x30) fail();
  const seqLen = readLen();
  if (i + seqLen !== der.length) fail();
  const out = new Uint8Array(size * 2);
  for (let part = 0; part < 2; part++) {
    if (der[i++] !== 0x02) fail();
    const len = readLen();
    let v = der.subarray(i, i + len);
    i += len;
    while (v.length > 0 && v[0] === 0) v = v.subarray(1);
    if (v.length > size) fail();
    out.set(v, part * size + (size - v.length));
  }
  return out;
}

/** Raw r||s → DER ECDSA-Sig-Value. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const size = raw.length / 2;
  const int = (v: Uint8Array): number[] => {
    let k = 0;
    while (k < v.length - 1 && v[k] === 0) k++;
    const body = [...v.subarray(k)];
    if (body[0]! & 0x80) body.unshift(0);
    return [0x02, ...len(body.length), ...body];
  };
  const len = (n: number): number[] => (n < 0x80 ? [n] : [0x81, n]);
  const body = [...int(raw.subarray(0, size)), ...int(raw.subarray(size))];
  return Uint8Array.from([0x30, ...len(body.length), ...body]);
}

export const coordinateSize = (namedCurve: string): number =>
  ({ 'P-256': 32, 'P-384': 48, 'P-521': 66 })[namedCurve] ?? (() => {
    throw new Error(`unknown curve ${namedCurve}`);
  })();
