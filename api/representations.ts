import { certificatePem } from '../src/x509/pem.ts';
import { sendBody, sendJson, type Res } from './http.ts';

/*
 * The non-JSON representations of what the API serves, chosen by Accept (negotiate.ts).
 */

/** What GET of a certificate answers with, by Accept: JSON (the default), PEM with the chain, DER. */
export const CERTIFICATE_TYPES = ['application/json', 'application/pem-certificate-chain', 'application/pkix-cert'] as const;

/** A certificate in the representation `type` names. */
export function sendCertificate(res: Res, type: (typeof CERTIFICATE_TYPES)[number], der: Uint8Array, chain: string, json: () => unknown): void {
  if (type === 'application/pkix-cert') return sendBody(res, 200, type, der);
  if (type === 'application/pem-certificate-chain') return sendBody(res, 200, type, certificatePem(der) + chain);
  sendJson(res, 200, json());
}
