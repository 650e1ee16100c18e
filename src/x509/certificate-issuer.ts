/**
 * The one entry point for issuing leaf certificates: a CA certificate read once, with the DER pieces
 * of each (signing algorithm, distribution point) and each (template, subject key family) prepared on
 * first use and kept. services/ca-contexts.ts holds one per CA.
 */
import type { SigningAlgorithm } from '../domain/key-algorithm.ts';
import type { Template } from '../domain/template.ts';
import {
  assembleCertificate,
  encodeTbsCertificate,
  prepareIssuer,
  prepareProfile,
  type IssuerContext,
  type LeafFields,
  type ProfileContext,
} from './certificate-encoder.ts';
import type { AuthorityInfoAccess } from './extensions.ts';
import { readIssuerCertificate, type IssuerCertificate } from './issuer.ts';

/** One leaf to issue: what the template and CA settings decide, and the leaf's own fields. */
export interface LeafRequest extends LeafFields {
  template: Template;
  /** The subject key's family (from the CSR), which decides the key usage. */
  keyFamily: 'EC' | 'RSA';
  signingAlgorithm: SigningAlgorithm;
  crlDistributionPointUrl?: string;
  authorityInfoAccess?: AuthorityInfoAccess;
}

/** A TBSCertificate ready to be signed, and what is needed to wrap its signature. */
export interface UnsignedCertificate {
  readonly tbs: Uint8Array;
  /** @internal */
  readonly profile: ProfileContext;
}

export class CertificateIssuer {
  readonly certificate: IssuerCertificate;
  readonly #issuers = new Map<string, IssuerContext>();
  readonly #profiles = new Map<string, ProfileContext>();

  constructor(caCertificateDer: Uint8Array) {
    this.certificate = readIssuerCertificate(caCertificateDer);
  }

  /** Encodes the TBSCertificate of one leaf. Throws CaError signing_algorithm_mismatch for an algorithm the CA key cannot make. */
  prepare(req: LeafRequest): UnsignedCertificate {
    const profile = this.#profile(req.template, req.keyFamily, req.signingAlgorithm, req.crlDistributionPointUrl, req.authorityInfoAccess);
    return { tbs: encodeTbsCertificate(profile, req), profile };
  }

  /** The certificate DER: the TBSCertificate with the signature the CA key made over it. */
  assemble(unsigned: UnsignedCertificate, signature: Uint8Array): Uint8Array {
    return assembleCertificate(unsigned.profile, unsigned.tbs, signature);
  }

  #profile(template: Template, family: 'EC' | 'RSA', signingAlgorithm: SigningAlgorithm, crlUrl: string | undefined, aia: AuthorityInfoAccess | undefined): ProfileContext {
    const issuerKey = `${signingAlgorithm}|${crlUrl ?? ''}|${aia?.ocsp ?? ''}|${aia?.caIssuers ?? ''}`;
    const key = `${template.name}|${family}|${issuerKey}`;
    let p = this.#profiles.get(key);
    if (!p) {
      let issuer = this.#issuers.get(issuerKey);
      if (!issuer) {
        issuer = prepareIssuer({ issuer: this.certificate, signingAlgorithm, crlDistributionPointUrl: crlUrl, ...(aia ? { authorityInfoAccess: aia } : {}) });
        this.#issuers.set(issuerKey, issuer);
      }
      p = prepareProfile(issuer, template, family);
      this.#profiles.set(key, p);
    }
    return p;
  }
}
