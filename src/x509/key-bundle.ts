import 'reflect-metadata';
import { createHash, createPrivateKey, webcrypto as nodeWebcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import * as pkijs from 'pkijs';
import type { CaSubject } from '../domain/ca.ts';
import { KEY_ALGORITHM_INFO, SIGNING_ALGORITHM_INFO, type KeyAlgorithm } from '../domain/key-algorithm.ts';
import type { SubjectAltName } from './general-name.ts';
import { caName } from './ca-certificates.ts';
import { decodePem } from './pem.ts';

/*
 * Keys the service makes for a device that cannot make its own (POST …/certificates with
 * keyGeneration): the key pair, a CSR signed with it (so that the request goes through exactly the
 * checks and policies of any CSR), and what the caller gets back once: the key as encrypted PKCS#8
 * and a PKCS#12 of key, certificate and chain. The service keeps none of it.
 */

/** PBKDF2 rounds for the PKCS#8 and PKCS#12 encryption and the PKCS#12 MAC. */
const ITERATIONS = 100_000;

export interface GeneratedKey {
  /** The CSR (PEM) for the issuance request. */
  csrPem: string;
  /** The private key, PKCS#8 DER, until it is handed back encrypted. */
  pkcs8: Uint8Array;
  /** SHA-256 of the SubjectPublicKeyInfo, hex (the audit event's publicKeySha256). */
  publicKeySha256: string;
}

/** A new key of `algorithm` and a CSR for `subject` and `sans`, signed with it. */
export async function generateKeyWithCsr(algorithm: KeyAlgorithm, subject: Partial<CaSubject>, sans: readonly SubjectAltName[]): Promise<GeneratedKey> {
  const info = KEY_ALGORITHM_INFO[algorithm];
  // The CSR is signed as a CA of this key algorithm signs by default (SHA-384 for P-384, …).
  const hash = SIGNING_ALGORITHM_INFO[info.defaultSigning].hash;
  const params =
    info.family === 'EC'
      ? { name: 'ECDSA', namedCurve: info.namedCurve!, hash }
      : { name: 'RSASSA-PKCS1-v1_5', modulusLength: info.modulusLength!, publicExponent: new Uint8Array([1, 0, 1]), hash };
  const keys = (await nodeWebcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions = sans.length
    ? [
        new x509.SubjectAlternativeNameExtension(
          sans.map((s) => ({ type: s.type === 'ip' ? 'ip' : s.type === 'uri' ? 'url' : s.type, value: s.value }) as x509.JsonGeneralName),
        ),
      ]
    : [];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: caName(subject as CaSubject), keys, signingAlgorithm: params, extensions },
    nodeWebcrypto as unknown as Crypto,
  );
  const pkcs8 = new Uint8Array(await nodeWebcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const spki = new Uint8Array(await nodeWebcrypto.subtle.exportKey('spki', keys.publicKey));
  return { csrPem: csr.toString('pem'), pkcs8, publicKeySha256: createHash('sha256').update(spki).digest('hex') };
}

/** The key as an encrypted PKCS#8 PEM (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC): `openssl pkey -passin` opens it. */
export function encryptedPkcs8Pem(pkcs8: Uint8Array, passphrase: string): string {
  return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
    .toString();
}

/**
 * A PKCS#12 of the key (a shrouded key bag) and the certificate and its chain (an encrypted
 * safe), all under `passphrase`: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, HMAC-SHA256
 * integrity. OpenSSL 3 reads it without -legacy.
 */
export async function pkcs12(pkcs8: Uint8Array, certificatePem: string, chainPem: string, passphrase: string): Promise<Uint8Array> {
  const password = new TextEncoder().encode(passphrase).buffer as ArrayBuffer;
  const encryption = { password, contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 } as pkijs.ContentEncryptionAlgorithm, hmacHashAlgorithm: 'SHA-256', iterationCount: ITERATIONS };
  const certs = [...decodePem(certificatePem), ...decodePem(chainPem)].map((b) => pkijs.Certificate.fromBER(new Uint8Array(b.der)));
  const keyBag = new pkijs.SafeBag({
    bagId: '1.2.840.113549.1.12.10.1.2',
    bagValue: new pkijs.PKCS8ShroudedKeyBag({ parsedValue: pkijs.PrivateKeyInfo.fromBER(new Uint8Array(pkcs8)) }),
  });
  const certBags = certs.map((c) => new pkijs.SafeBag({ bagId: '1.2.840.113549.1.12.10.1.3', bagValue: new pkijs.CertBag({ parsedValue: c }) }));
  const pfx = new pkijs.PFX({
    parsedValue: {
      integrityMode: 0,
      authenticatedSafe: new pkijs.AuthenticatedSafe({
        parsedValue: {
          safeContents: [
            { privacyMode: 0, value: new pkijs.SafeContents({ safeBags: [keyBag] }) },
            { privacyMode: 1, value: new pkijs.SafeContents({ safeBags: certBags }) },
          ],
        },
      }),
    },
  });
  await (keyBag.bagValue as pkijs.PKCS8ShroudedKeyBag).makeInternalValues(encryption);
  await pfx.parsedValue!.authenticatedSafe!.makeInternalValues({ safeContents: [{}, encryption] });
  await pfx.makeInternalValues({ password, iterations: ITERATIONS, pbkdf2HashAlgorithm: 'SHA-256', hmacHashAlgorithm: 'SHA-256' } as pkijs.MakeInternalValuesParams);
  return new Uint8Array(pfx.toSchema().toBER());
}
