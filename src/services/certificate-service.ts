import { notFound } from '../domain/ca-error.ts';
import type { IssuedCertificate } from '../domain/certificate.ts';
import type { CertificateListOptions, CertificateRepository } from '../ports/repositories.ts';
import type { CaContexts } from './ca-contexts.ts';

/** Reads of issued certificates, with the chain that goes beside them. */
export class CertificateService {
  constructor(private readonly deps: { certificates: Pick<CertificateRepository, 'get' | 'list'>; contexts: Pick<CaContexts, 'get'> }) {}

  /** The chain returned beside the CA's certificates: its own certificate, then its chain ('' before it has one). 404 for an unknown CA. */
  async chain(caId: string): Promise<string> {
    return (await this.deps.contexts.get(caId)).signing?.chainPem ?? '';
  }

  async get(caId: string, serial: string): Promise<{ cert: IssuedCertificate; chain: string }> {
    const chain = await this.chain(caId);
    const cert = await this.deps.certificates.get(caId, serial);
    if (!cert) throw notFound('certificate_not_found', `CA ${caId} issued no certificate with serial ${serial}`);
    return { cert, chain };
  }

  /** A page of the CA's certificates by serial, filtered and searched as `options` say; 404 for an unknown CA. */
  async list(caId: string, options: CertificateListOptions & { limit: number; afterSerial?: string }): Promise<IssuedCertificate[]> {
    await this.deps.contexts.get(caId);
    return this.deps.certificates.list(caId, options);
  }
}
