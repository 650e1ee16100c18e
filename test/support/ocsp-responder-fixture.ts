import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { notFound } from '../../src/domain/ca-error.ts';
import { DEFAULT_CRL, DEFAULT_OCSP, type Ca } from '../../src/domain/ca.ts';
import type { CertificateStatusRecord } from '../../src/ports/repositories.ts';
import type { CaContext } from '../../src/services/ca-contexts.ts';
import { CertificateIssuer } from '../../src/x509/certificate-issuer.ts';
import { prepareResponder } from '../../src/x509/ocsp-response.ts';
import { decodePem } from '../../src/x509/pem.ts';
import { OcspResponder } from '../../ocsp/ocsp-responder.ts';
import type { Responder } from '../../ocsp/responder-certificates.ts';
import type { OpensslPki } from '../pki/openssl.ts';

/*
 * An OcspResponder with its collaborators replaced: a ROOT CA and an OCSP signing certificate made
 * by the openssl CLI, statuses from a Map (or a function), the clock and the feed as the test says.
 */

export const FIXTURE_CA_ID = '3f2d1c4b-5a69-4788-9a0b-1c2d3e4f5a6b';

export interface ResponderFixture {
  caFile: string;
  caDer: Uint8Array;
  ctx: CaContext;
  responder: Responder;
}

const der = (pem: string) => decodePem(pem)[0]!.der;

export function responderFixture(pki: OpensslPki, validityHours = 8): ResponderFixture {
  const root = pki.root({ subject: '/CN=Responder Unit Root' });
  const caDer = der(root.cert);
  const { csr, key } = pki.csr({ subject: '/CN=Responder Unit OCSP' });
  const ext = pki.file('r.cnf', '[v3]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  pki.file('r.csr', csr);
  pki.ok(['x509', '-req', '-in', 'r.csr', '-CA', root.certFile, '-CAkey', root.key, '-CAcreateserial', '-days', '5', '-extfile', ext, '-extensions', 'v3', '-out', 'r.pem']);
  const privateKey = createPrivateKey(readFileSync(pki.file(key)));
  const now = Date.now();
  const responder: Responder = {
    caId: FIXTURE_CA_ID,
    serial: '01',
    signer: {
      keyUri: 'software:test',
      keyAlgorithm: 'EC_prime256v1',
      publicKeySpki: new Uint8Array(0),
      sign: async (_a, data) => sign('sha256', data as Uint8Array, privateKey),
      signSync: (_a, data) => sign('sha256', data, privateKey),
    },
    prepared: prepareResponder({ certificateDer: der(pki.read('r.pem')), signingAlgorithm: 'SHA256WITHECDSA' }),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 4 * 86_400_000),
    renewAt: new Date(now + 3 * 86_400_000),
  };
  const ca = {
    id: FIXTURE_CA_ID,
    type: 'ROOT',
    status: 'ACTIVE',
    revocation: { crl: DEFAULT_CRL, ocsp: { ...DEFAULT_OCSP, enabled: true, validityHours } },
  } as unknown as Ca;
  const ctx: CaContext = { ca, signing: { signer: responder.signer, issuer: new CertificateIssuer(caDer), chainPem: '' } };
  return { caFile: root.certFile, caDer, ctx, responder };
}

export interface ResponderOptions {
  cacheBytes?: number;
  feedUp?: () => boolean;
  statuses?: Map<string, CertificateStatusRecord>;
  now?: () => Date;
  lookup?: (serial: string) => Promise<CertificateStatusRecord | undefined>;
}

/** A responder over the fixture; `reads` counts the status lookups it made. */
export function fixtureResponder(f: ResponderFixture, options: ResponderOptions = {}) {
  const statuses = options.statuses ?? new Map<string, CertificateStatusRecord>();
  let reads = 0;
  const r = new OcspResponder({
    contexts: { get: async (id: string) => (id === FIXTURE_CA_ID ? f.ctx : Promise.reject(notFound('ca_not_found', 'no such CA'))) },
    certificates: {
      status: async (_ca, serial) => {
        reads++;
        return options.lookup ? options.lookup(serial) : statuses.get(serial);
      },
    },
    responders: { current: async () => f.responder },
    clock: { now: options.now ?? (() => new Date()) },
    cacheBytes: options.cacheBytes ?? 1 << 20,
    ...(options.feedUp ? { feedUp: options.feedUp } : {}),
  });
  return { r, statuses, reads: () => reads };
}
