import { createHash } from 'node:crypto';
import { CaError, conflict, invalid, unavailable } from '../domain/ca-error.ts';
import { authorityInfoAccess, crlUrl, effectiveStatus, type Ca } from '../domain/ca.ts';
import { searchNames, type IssuedCertificate } from '../domain/certificate.ts';
import { checkSigningAlgorithm, type SigningAlgorithm } from '../domain/key-algorithm.ts';
import { newSerial, serialHex } from '../domain/serial.ts';
import { DEFAULT_TEMPLATE, findTemplate, type Template } from '../domain/template.ts';
import type { Clock } from '../ports/clock.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { Repos } from '../ports/repositories.ts';
import { parseCsr, type ParsedCsr } from '../x509/csr.ts';
import { encodeSanDer, sanFromCommonName, sanText, type SubjectAltName } from '../x509/general-name.ts';
import { certificatePem } from '../x509/pem.ts';
import type { Actor } from './actor.ts';
import { auditEvent } from './audit/event.ts';
import type { CaContext, CaContexts, SigningContext } from './ca-contexts.ts';
import { leafValidity, type Validity } from './validity.ts';

const IDEMPOTENCY_WINDOW = 3_600_000;
/** How audit details write a SAN, as openssl prints them. */
export interface IssueInput {
  csr: string;
  /** Set when the service made the key (keyGeneration): recorded in the audit event, with no key material. */
  keyGenerated?: { publicKeySha256: string };
  template?: string;
  validity: Validity;
  signingAlgorithm?: SigningAlgorithm;
  idempotencyToken?: string;
}

/** An issuance checked against its CA, not yet signed: what policies see (policy/issuance-keys.ts). */
export interface IssueRequest {
  caId: string;
  input: IssueInput;
  csr: ParsedCsr;
  template: Template;
  signingAlgorithm: SigningAlgorithm;
  /** The SANs the certificate will carry (the CSR's, or the one made from its commonName). */
  subjectAltNames: SubjectAltName[];
  notAfter: Date;
  /** When it was prepared: ValidityDays counts from here. */
  now: Date;
}

export interface IssueResult {
  serial: string;
  certificate: string;
  chain: string;
  notBefore: Date;
  notAfter: Date;
  /** True when an idempotency token returned a certificate issued earlier. */
  replayed: boolean;
}

type ActiveContext = CaContext & { signing: SigningContext };

/** What a certificate takes from its request: a CSR's fields, or those of a key the service holds. */
export type SubjectFields = Pick<ParsedCsr, 'subjectDer' | 'subject' | 'commonName' | 'spkiDer' | 'subjectAltNames' | 'sanDer'> & { key: Pick<ParsedCsr['key'], 'family'> };

/** One certificate, checked and signed, not yet stored. */
interface Signed {
  cert: IssuedCertificate;
  audit: AuditEvent;
}

class CaChanged extends Error {}

/**
 * Issues certificates from CSRs: load the CA context → parse and check the request → build → sign →
 * record (the certificate row and its audit event, one statement). The hot path of the service: see
 * docs/architecture.md.
 */
export class IssuanceService {
  private readonly aia = new WeakMap<Ca, ReturnType<typeof authorityInfoAccess>>();

  constructor(
    private readonly deps: {
      repos: Pick<Repos, 'certificates' | 'idempotency' | 'tx'>;
      contexts: CaContexts;
      clock: Clock;
      /** Where clients reach the service: the CRL URL base of CAs without a baseUrl. */
      publicUrl: string;
    },
  ) {}

  /**
   * Reads and checks a request against the CA without signing anything: what policies decide on
   * (policy/issuance-keys.ts). 400 for a CSR, template, algorithm or validity the CA cannot issue.
   */
  async prepare(ctx: CaContext, input: IssueInput): Promise<IssueRequest> {
    const { ca } = ctx;
    const csr = await parseCsr(input.csr);
    const template = findTemplate(input.template ?? DEFAULT_TEMPLATE);
    const signingAlgorithm = input.signingAlgorithm ?? ca.signingAlgorithm;
    checkSigningAlgorithm(ca.keyAlgorithm, signingAlgorithm);
    if (!csr.commonName && csr.subjectAltNames.length === 0) {
      throw invalid('empty_subject', 'the CSR names neither a commonName nor a subjectAltName');
    }
    const cnSan = csr.sanDer ? undefined : sanFromCommonName(csr.commonName);
    const now = this.deps.clock.now();
    // A CA that cannot issue now is answered 409 ca_not_active by issue(); its bounds say nothing then.
    const active = effectiveStatus(ca, now) === 'ACTIVE' && ca.notBefore && ca.notAfter;
    const bounds = active ? { notBefore: ca.notBefore!, notAfter: ca.notAfter! } : undefined;
    const { notAfter } = leafValidity(input.validity, bounds, now);
    return { caId: ca.id, input, csr, template, signingAlgorithm, subjectAltNames: cnSan ? [cnSan] : csr.subjectAltNames, notAfter, now };
  }

  /** Signs and records a prepared request, from the CA as it is now (409 ca_not_active unless it may issue). */
  async issue(actor: Actor, request: IssueRequest): Promise<IssueResult> {
    const { caId, input, csr } = request;
    return this.withActive(caId, (ctx) =>
      input.idempotencyToken === undefined ? this.issueOnce(actor, ctx, input, csr) : this.issueIdempotent(actor, ctx, input, csr, input.idempotencyToken),
    );
  }

  /**
   * Issues to a key the service holds itself (the OCSP responder's), named by `subject`: the same
   * checks, signing, row and audit event as for a CSR, with no policy (the caller is the service).
   */
  async issueForKey(actor: Actor, caId: string, subject: SubjectFields, input: Omit<IssueInput, 'csr' | 'idempotencyToken'>): Promise<IssueResult & { der: Buffer }> {
    return this.withActive(caId, async (ctx) => {
      const { cert } = await this.store(actor, ctx, { ...input, csr: '' }, subject);
      return { ...this.result(ctx, cert, false), der: cert.der };
    });
  }

  /** Runs `fn` on the CA's active context, read again and retried once when the CA changed meanwhile. */
  private async withActive<T>(caId: string, fn: (ctx: ActiveContext) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const ctx = await this.deps.contexts.active(caId);
      try {
        return await fn(ctx);
      } catch (e) {
        // The CA changed under us (another node imported a certificate or changed its CRL
        // settings, or disabled it): read it again and retry once.
        if (!(e instanceof CaChanged)) throw e;
        if (attempt > 0) throw unavailable('ca_changed', `CA ${caId} changed during issuance; retry`);
        this.deps.contexts.invalidate(caId);
      }
    }
  }

  /** The AIA of a CA's certificates, worked out once per CA as read (new settings come with a new Ca). */
  private aiaOf(ca: Ca): ReturnType<typeof authorityInfoAccess> {
    if (!this.aia.has(ca)) this.aia.set(ca, authorityInfoAccess(ca, this.deps.publicUrl));
    return this.aia.get(ca);
  }

  /** Checks the request against the CA as it is now and its template, then encodes and signs the certificate. */
  private async sign(actor: Actor, ctx: ActiveContext, input: IssueInput, csr: SubjectFields): Promise<Signed> {
    const { ca, signing } = ctx;
    const template = findTemplate(input.template ?? DEFAULT_TEMPLATE);
    const signingAlgorithm = input.signingAlgorithm ?? ca.signingAlgorithm;
    checkCaTemplate(signing, template);
    const now = this.deps.clock.now();
    const { notBefore, notAfter } = leafValidity(input.validity, { notBefore: ca.notBefore!, notAfter: ca.notAfter! }, now);

    const partition = ctx.partitions ? await ctx.partitions.next() : undefined;
    const cnSan = csr.sanDer ? undefined : sanFromCommonName(csr.commonName);
    const serial = newSerial();
    const unsigned = signing.issuer.prepare({
      template,
      keyFamily: csr.key.family,
      signingAlgorithm,
      crlDistributionPointUrl: crlUrl(ca, this.deps.publicUrl, partition),
      authorityInfoAccess: this.aiaOf(ca),
      serial,
      notBefore,
      notAfter,
      subjectDer: csr.subjectDer,
      spkiDer: csr.spkiDer,
      sanDer: csr.sanDer ?? (cnSan && encodeSanDer([cnSan])),
    });
    const { signer } = signing;
    const signature = signer.signSync ? signer.signSync(signingAlgorithm, unsigned.tbs) : await signer.sign(signingAlgorithm, unsigned.tbs);
    const der = Buffer.from(signing.issuer.assemble(unsigned, signature));

    const hex = serialHex(serial);
    return {
      cert: {
        caId: ca.id,
        serial: hex,
        status: 'ISSUED',
        der,
        subject: csr.subject,
        template: template.name,
        notBefore,
        notAfter,
        issuedAt: now,
        crlPartition: partition,
        issuedBy: actor.name,
        names: searchNames(csr.commonName, cnSan ? [cnSan] : csr.subjectAltNames),
      },
      audit: auditEvent(
        actor,
        'IssueCertificate',
        `ca/${ca.id}`,
        {
          serial: hex,
          subject: csr.subject,
          subjectAlternativeNames: (cnSan ? [cnSan] : csr.subjectAltNames).map(sanText),
          template: template.name,
          notBefore: notBefore.toISOString(),
          notAfter: notAfter.toISOString(),
          signingAlgorithm,
          ...(input.idempotencyToken !== undefined ? { idempotencyToken: input.idempotencyToken } : {}),
          ...(input.keyGenerated ? { keyGenerated: true, publicKeySha256: input.keyGenerated.publicKeySha256 } : {}),
        },
        now,
      ),
    };
  }

  private result(ctx: ActiveContext, cert: IssuedCertificate, replayed: boolean): IssueResult {
    return {
      serial: cert.serial,
      certificate: certificatePem(cert.der),
      chain: ctx.signing.chainPem,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      replayed,
    };
  }

  private async issueOnce(actor: Actor, ctx: ActiveContext, input: IssueInput, csr: ParsedCsr): Promise<IssueResult> {
    return this.result(ctx, (await this.store(actor, ctx, input, csr)).cert, false);
  }

  /** Signs, then stores the certificate and its audit event (CaChanged when the CA moved on). */
  private async store(actor: Actor, ctx: ActiveContext, input: IssueInput, fields: SubjectFields): Promise<Signed> {
    const signed = await this.sign(actor, ctx, input, fields);
    if (!(await this.deps.repos.certificates.insertIssued(signed.cert, signed.audit, { certVersion: ctx.ca.certVersion }))) throw new CaChanged();
    return signed;
  }

  /**
   * With an idempotency token: the same token and a byte-identical CSR within an hour give back the
   * first certificate; another CSR under the same token is a conflict. The token row and the
   * certificate commit together, so a crash never leaves one without the other.
   */
  private async issueIdempotent(actor: Actor, ctx: ActiveContext, input: IssueInput, csr: ParsedCsr, token: string): Promise<IssueResult> {
    const csrSha256 = createHash('sha256').update(csr.der).digest();
    const { repos } = this.deps;
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.deps.clock.now();
      const fresh = new Date(now.getTime() - IDEMPOTENCY_WINDOW);
      const seen = await repos.idempotency.get(ctx.ca.id, token);
      if (seen && seen.createdAt > fresh) {
        if (!seen.csrSha256.equals(csrSha256)) {
          throw conflict('idempotency_conflict', 'this idempotency token was used with another CSR within the last hour');
        }
        const first = await repos.certificates.get(ctx.ca.id, seen.serial);
        if (!first) throw new Error(`idempotency record names missing certificate ${seen.serial}`);
        return this.result(ctx, first, true);
      }
      const { cert, audit } = await this.sign(actor, ctx, input, csr);
      const stored = await repos
        .tx(async (r) => {
          if (!(await r.idempotency.put({ caId: ctx.ca.id, token, csrSha256, serial: cert.serial, createdAt: cert.issuedAt }, fresh))) return false;
          if (!(await r.certificates.insertIssued(cert, audit, { certVersion: ctx.ca.certVersion }))) throw new CaChanged();
          return true;
        })
        .catch((e: unknown) => {
          // Another request with the same token committed first: go round and answer as it did.
          if ((e as { code?: string }).code === '23505') return false;
          throw e;
        });
      if (stored) return this.result(ctx, cert, false);
    }
    throw new CaError('unavailable', 'idempotency_busy', 'concurrent requests with this idempotency token; retry');
  }
}

/** A CA may issue CA certificates only within its own pathLenConstraint. */
function checkCaTemplate(signing: SigningContext, template: Template): void {
  const pathLen = signing.issuer.certificate.pathLen;
  if (!template.ca || pathLen === undefined) return;
  if (template.pathLen! >= pathLen) {
    throw invalid('template_not_allowed', `this CA's certificate has pathLenConstraint ${pathLen}; it cannot issue ${template.name}`);
  }
}
