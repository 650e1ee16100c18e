import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { CaError, conflict, invalid, notFound } from '../domain/ca-error.ts';
import { crlUrl, effectiveStatus, isPartitioned, partitionName, type Ca } from '../domain/ca.ts';
import type { IssuedCertificate } from '../domain/certificate.ts';
import { checkSigningAlgorithm, type SigningAlgorithm } from '../domain/key-algorithm.ts';
import { newSerial, serialHex } from '../domain/serial.ts';
import { DEFAULT_TEMPLATE, findTemplate, type Template } from '../domain/template.ts';
import type { Clock } from '../ports/clock.ts';
import type { KeyStoreRegistry, Signer } from '../ports/key-store.ts';
import type { Repos } from '../ports/repositories.ts';
import { certificateFromDer } from '../x509/certificate-info.ts';
import { parseCsr, type ParsedCsr } from '../x509/csr.ts';
import {
  assembleCertificate,
  encodeSanDer,
  encodeTbsCertificate,
  prepareIssuer,
  prepareProfile,
  type IssuerContext,
  type ProfileContext,
} from '../x509/leaf-encoder.ts';
import { certificatePem } from '../x509/pem.ts';
import type { Actor } from './actor.ts';

const DAY = 86_400_000;
/** Certificates per CRL partition, unless configured. */
export const DEFAULT_PARTITION_SIZE = 100_000;
/** Partition numbers a node takes at a time: a divisor of the partition size, at most 1,000. */
export const partitionBlockSize = (size: number): number => (size % 1000 === 0 ? 1000 : size <= 1000 ? size : 1);
const IDEMPOTENCY_WINDOW = 3_600_000;
/** notBefore is set this far in the past, for relying parties whose clocks run a little behind. */
const BACKDATE = 60_000;

export type Validity = { days: number } | { notAfter: Date };

export interface IssueInput {
  csr: string;
  template?: string;
  validity: Validity;
  signingAlgorithm?: SigningAlgorithm;
  idempotencyToken?: string;
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

/**
 * What issuance needs of a CA, prepared once per CA certificate: the signer, the issuer's DER pieces,
 * the chain PEM, and the per-template profiles (built on first use).
 */
interface CaContext {
  ca: Ca;
  signer: Signer;
  /** Per signing algorithm and CRL partition (the distribution point differs by partition). */
  issuers: Map<string, IssuerContext>;
  chainPem: string;
  /** This node's current block of partition numbers, for partitioned CAs. */
  partitions?: { next: number; end: number; taking?: Promise<void> };
  /** The CA certificate's own pathLenConstraint, which bounds the CA templates it may issue. */
  pathLen?: number;
  profiles: Map<string, ProfileContext>;
}

class CaChanged extends Error {}

/** Issues certificates from CSRs. The hot path of the service: see docs/architecture.md. */
export class IssuanceService {
  private readonly contexts = new Map<string, Promise<CaContext>>();

  private readonly partitionSize: number;
  private readonly blockSize: number;
  private readonly partitionListeners: ((caId: string) => void)[] = [];

  /** Told when a CA's certificates start naming a new CRL partition, which then needs its first CRL. */
  onPartitionOpened(listener: (caId: string) => void): void {
    this.partitionListeners.push(listener);
  }

  constructor(private readonly deps: { repos: Repos; keyStores: KeyStoreRegistry; clock: Clock; crlPartitionSize?: number }) {
    this.partitionSize = deps.crlPartitionSize ?? DEFAULT_PARTITION_SIZE;
    this.blockSize = partitionBlockSize(this.partitionSize);
  }

  /** Drops what is cached of a CA; the CA service calls it on every change. */
  invalidate(caId: string): void {
    this.contexts.delete(caId);
  }

  private context(caId: string): Promise<CaContext> {
    let c = this.contexts.get(caId);
    if (!c) {
      c = this.load(caId);
      this.contexts.set(caId, c);
      c.catch(() => this.contexts.delete(caId));
    }
    return c;
  }

  private async load(caId: string): Promise<CaContext> {
    const ca = await this.deps.repos.cas.get(caId);
    if (!ca) throw notFound('ca_not_found', `no CA ${caId}`);
    if (!ca.certificateDer) return { ca } as CaContext;
    const signer = await this.deps.keyStores.forUri(ca.keyUri).getSigner(ca.keyUri);
    const own = certificatePem(ca.certificateDer);
    return {
      ca,
      signer,
      issuers: new Map(),
      chainPem: own + ca.chainPem,
      pathLen: certificateFromDer(ca.certificateDer).pathLen,
      profiles: new Map(),
    };
  }

  /** The CA context, read again from the database when the cached one says it cannot issue. */
  private async activeContext(caId: string): Promise<CaContext> {
    let ctx = await this.context(caId);
    if (ctx.ca.status !== 'ACTIVE') {
      this.invalidate(caId);
      ctx = await this.context(caId);
    }
    const status = effectiveStatus(ctx.ca, this.deps.clock.now());
    if (status !== 'ACTIVE') throw conflict('ca_not_active', `CA ${caId} is ${status} and issues nothing`);
    return ctx;
  }

  async issue(actor: Actor, caId: string, input: IssueInput): Promise<IssueResult> {
    for (let attempt = 0; ; attempt++) {
      const ctx = await this.activeContext(caId);
      try {
        return input.idempotencyToken === undefined
          ? await this.issueOnce(actor, ctx, input)
          : await this.issueIdempotent(actor, ctx, input, input.idempotencyToken);
      } catch (e) {
        // The CA changed under us (another node imported a certificate or changed its CRL
        // settings, or disabled it): read it again and retry once.
        if (!(e instanceof CaChanged) || attempt > 0) {
          if (e instanceof CaChanged) throw new CaError('unavailable', 'ca_changed', `CA ${caId} changed during issuance; retry`);
          throw e;
        }
        this.invalidate(caId);
      }
    }
  }

  /**
   * The CRL partition of the next certificate of a partitioned CA: numbers come from blocks this
   * node takes from the database (one round trip per block), partition = number / partition size.
   */
  private async partitionFor(ctx: CaContext): Promise<string | undefined> {
    if (!isPartitioned(ctx.ca)) return undefined;
    const p = (ctx.partitions ??= { next: 0, end: 0 });
    while (p.next >= p.end) {
      p.taking ??= this.deps.repos.cas.takePartitionBlock(ctx.ca.id).then(
        (block) => {
          p.next = block * this.blockSize;
          p.end = p.next + this.blockSize;
          p.taking = undefined;
          if (p.next % this.partitionSize === 0) for (const l of this.partitionListeners) l(ctx.ca.id);
        },
        (e: unknown) => {
          p.taking = undefined;
          throw e;
        },
      );
      await p.taking;
    }
    return partitionName(p.next++, this.partitionSize);
  }

  private build(ctx: CaContext, input: IssueInput, csr: ParsedCsr, partition: string | undefined) {
    const { ca } = ctx;
    const template = findTemplate(input.template ?? DEFAULT_TEMPLATE);
    const signingAlgorithm = input.signingAlgorithm ?? ca.signingAlgorithm;
    checkSigningAlgorithm(ca.keyAlgorithm, signingAlgorithm);
    if (!csr.commonName && csr.subjectAltNames.length === 0) {
      throw invalid('empty_subject', 'the CSR names neither a commonName nor a subjectAltName');
    }
    checkCaTemplate(ctx, template);

    const now = this.deps.clock.now();
    const nowSec = Math.floor(now.getTime() / 1000) * 1000;
    const notBefore = new Date(Math.max(nowSec - BACKDATE, ca.notBefore!.getTime()));
    const notAfter =
      'days' in input.validity
        ? new Date(nowSec + input.validity.days * DAY)
        : new Date(Math.floor(input.validity.notAfter.getTime() / 1000) * 1000);
    if (notAfter.getTime() <= now.getTime()) throw invalid('invalid_validity', 'validity.notAfter must be in the future');
    if (notAfter > ca.notAfter!) {
      throw invalid('validity_exceeds_ca', `notAfter ${notAfter.toISOString()} is past the CA's notAfter ${ca.notAfter!.toISOString()}`);
    }

    const profile = this.profile(ctx, template, csr.key.family, signingAlgorithm, partition);
    const serial = newSerial();
    const tbs = encodeTbsCertificate(profile, {
      serial,
      notBefore,
      notAfter,
      subjectDer: csr.subjectDer,
      spkiDer: csr.spkiDer,
      sanDer: csr.sanDer ?? sanFromCommonName(csr.commonName),
    });
    return { template, signingAlgorithm, profile, serial, tbs, notBefore, notAfter, now, partition };
  }

  private profile(ctx: CaContext, template: Template, family: 'EC' | 'RSA', signingAlgorithm: SigningAlgorithm, partition?: string): ProfileContext {
    const key = `${template.name}|${family}|${signingAlgorithm}|${partition ?? ''}`;
    let p = ctx.profiles.get(key);
    if (!p) {
      const issuerKey = `${signingAlgorithm}|${partition ?? ''}`;
      let issuer = ctx.issuers.get(issuerKey);
      if (!issuer) {
        issuer = prepareIssuer({ issuerCertDer: ctx.ca.certificateDer!, signingAlgorithm, crlDistributionPointUrl: crlUrl(ctx.ca, partition) });
        ctx.issuers.set(issuerKey, issuer);
      }
      p = prepareProfile(issuer, template, family);
      ctx.profiles.set(key, p);
    }
    return p;
  }

  private async sign(ctx: CaContext, b: ReturnType<IssuanceService['build']>): Promise<Buffer> {
    const sig = ctx.signer.signSync ? ctx.signer.signSync(b.signingAlgorithm, b.tbs) : await ctx.signer.sign(b.signingAlgorithm, b.tbs);
    return Buffer.from(assembleCertificate(b.profile, b.tbs, sig));
  }

  private record(actor: Actor, ctx: CaContext, b: ReturnType<IssuanceService['build']>, csr: ParsedCsr, der: Buffer) {
    const serial = serialHex(b.serial);
    const cert: IssuedCertificate = {
      caId: ctx.ca.id,
      serial,
      status: 'ISSUED',
      der,
      subject: csr.subject,
      template: b.template.name,
      notBefore: b.notBefore,
      notAfter: b.notAfter,
      issuedAt: b.now,
      crlPartition: b.partition,
    };
    const audit = {
      at: b.now,
      actor: actor.id,
      requestId: actor.requestId,
      action: 'certificate.issue',
      caId: ctx.ca.id,
      serial,
      detail: { template: b.template.name, subject: csr.subject },
    };
    return { cert, audit };
  }

  private result(ctx: CaContext, cert: IssuedCertificate, replayed: boolean): IssueResult {
    return {
      serial: cert.serial,
      certificate: certificatePem(cert.der),
      chain: ctx.chainPem,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      replayed,
    };
  }

  private async issueOnce(actor: Actor, ctx: CaContext, input: IssueInput): Promise<IssueResult> {
    const csr = await parseCsr(input.csr);
    const b = this.build(ctx, input, csr, await this.partitionFor(ctx));
    const der = await this.sign(ctx, b);
    const { cert, audit } = this.record(actor, ctx, b, csr, der);
    if (!(await this.deps.repos.certificates.insertIssued(cert, audit, { certVersion: ctx.ca.certVersion }))) throw new CaChanged();
    return this.result(ctx, cert, false);
  }

  /**
   * With an idempotency token: the same token and a byte-identical CSR within an hour give back the
   * first certificate; another CSR under the same token is a conflict. The token row and the
   * certificate commit together, so a crash never leaves one without the other.
   */
  private async issueIdempotent(actor: Actor, ctx: CaContext, input: IssueInput, token: string): Promise<IssueResult> {
    const csr = await parseCsr(input.csr);
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
      const b = this.build(ctx, input, csr, await this.partitionFor(ctx));
      const der = await this.sign(ctx, b);
      const { cert, audit } = this.record(actor, ctx, b, csr, der);
      const stored = await repos
        .tx(async (r) => {
          if (!(await r.idempotency.put({ caId: ctx.ca.id, token, csrSha256, serial: cert.serial, createdAt: b.now }, fresh))) return false;
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

  /** The chain returned beside the CA's certificates: its own certificate, then its chain. */
  async chain(caId: string): Promise<string> {
    return (await this.context(caId)).chainPem ?? '';
  }

  async get(caId: string, serial: string): Promise<{ cert: IssuedCertificate; chain: string }> {
    const chain = await this.chain(caId);
    const cert = await this.deps.repos.certificates.get(caId, serial);
    if (!cert) throw notFound('certificate_not_found', `CA ${caId} issued no certificate with serial ${serial}`);
    return { cert, chain };
  }
}

/** A CA may issue CA certificates only within its own pathLenConstraint. */
function checkCaTemplate(ctx: CaContext, template: Template): void {
  if (!template.ca || ctx.pathLen === undefined) return;
  if (template.pathLen! >= ctx.pathLen) {
    throw invalid(
      'template_not_allowed',
      `this CA's certificate has pathLenConstraint ${ctx.pathLen}; it cannot issue ${template.name}`,
    );
  }
}

/**
 * Browsers ignore the commonName: a CSR with only a CN that is a DNS name or an IP address gets it
 * as a subjectAltName too, as step-ca and cfssl do.
 */
function sanFromCommonName(cn: string | undefined): Uint8Array | undefined {
  if (!cn) return undefined;
  if (isIP(cn)) return encodeSanDer([{ type: 'ip', value: cn }]);
  if (/^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(cn) && cn.includes('.')) {
    return encodeSanDer([{ type: 'dns', value: cn.toLowerCase() }]);
  }
  return undefined;
}
