import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { Crypto } from '@peculiar/webcrypto';
import { KEY_ALGORITHM_INFO, SIGNING_ALGORITHM_INFO, type SigningAlgorithm } from '../domain/key-algorithm.ts';
import type { Signer } from '../ports/key-store.ts';
import { coordinateSize, ecdsaDerToRaw } from './ecdsa-signature.ts';

/** The WebCrypto that @peculiar/x509 uses for verification and public-key handling. */
export const webcrypto = new Crypto();
x509.cryptoProvider.set(webcrypto);

/** The WebCrypto algorithm @peculiar/x509 expects for a signing algorithm. */
export function webAlgorithm(signer: Signer, algorithm: SigningAlgorithm): EcdsaParams & EcKeyAlgorithm | RsaHashedKeyAlgorithm {
  const info = SIGNING_ALGORITHM_INFO[algorithm];
  const key = KEY_ALGORITHM_INFO[signer.keyAlgorithm];
  return info.family === 'EC'
    ? { name: 'ECDSA', hash: info.hash, namedCurve: key.namedCurve! }
    : ({ name: 'RSASSA-PKCS1-v1_5', hash: { name: info.hash } } as RsaHashedKeyAlgorithm);
}

/**
 * Lets @peculiar/x509's generators sign with a key that stays in its key store: a stand-in CryptoKey
 * and a WebCrypto whose subtle.sign calls the Signer. Everything else is the real WebCrypto.
 */
export function bridge(signer: Signer, algorithm: SigningAlgorithm): { crypto: Crypto; key: CryptoKey; publicKey: CryptoKey } {
  const alg = webAlgorithm(signer, algorithm);
  const key = { algorithm: alg, type: 'private', extractable: false, usages: ['sign'] } as unknown as CryptoKey;
  const publicKey = { algorithm: alg, type: 'public', extractable: true, usages: ['verify'] } as unknown as CryptoKey;
  const subtle = Object.create(webcrypto.subtle) as SubtleCrypto;
  const exportKey = webcrypto.subtle.exportKey.bind(webcrypto.subtle);
  subtle.exportKey = (async (format: KeyFormat, k: CryptoKey) =>
    k === publicKey && format === 'spki' ? signer.publicKeySpki.slice().buffer : exportKey(format as any, k)) as SubtleCrypto['exportKey'];
  subtle.sign = async (_a: unknown, k: CryptoKey, data: BufferSource): Promise<ArrayBuffer> => {
    if (k !== key) throw new Error('signer bridge used with a foreign key');
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data as ArrayBuffer);
    const sig = await signer.sign(algorithm, bytes);
    // The library converts WebCrypto's raw r||s to DER itself.
    const out = alg.name === 'ECDSA' ? ecdsaDerToRaw(sig, coordinateSize((alg as EcKeyAlgorithm).namedCurve)) : sig;
    return out.slice().buffer as ArrayBuffer;
  };
  const crypto = Object.create(webcrypto) as Crypto;
  Object.defineProperty(crypto, 'subtle', { value: subtle });
  return { crypto, key, publicKey };
}
