import { randomUUID } from 'node:crypto';
import { CaError, invalid, invalidState, notFound } from '../domain/ca-error.ts';
import { DEFAULT_CRL, DEFAULT_OCSP, effectiveStatus, type Ca, type CaSubject, type CaType, type CrlConfig, type OcspConfig, type StoredCaStatus } from '../domain/ca.ts';
import { checkSigningAlgorithm, KEY_ALGORITHM_INFO, type KeyAlgorithm, type SigningAlgorithm } from '../domain/key-algorithm.ts';
import { newSerial, serialHex } from '../domain/serial.ts';
import type { Clock } from '../ports/clock.ts';
import { isDeletable, type KeyStatus, type KeyStoreRegistry } from '../ports/key-store.ts';
import type { Repos } from '../ports/repositories.ts';
import { createCaCsr, createRootCertificate } from '../x509/ca-certificates.ts';
import { isSignedBy, parseCertificates, samePublicKey, type CertificateInfo } from '../x509/certificate-info.ts';
import { certificatePem } from '../x509/pem.ts';
import type { Actor } from './actor.ts';
import { auditEvent } from './audit/event.ts';

const DAY = 86_400_000;
/** Longest chain accepted on import, to bound the work an attacker can make us do. */
const MAX_CHAIN = 8;

export interface CreateCaInput {
  type: CaType;
  subject: CaSubject;
  keyAlgorithm: KeyAlgorithm;
  signingAlgorithm?: SigningAlgorithm;
  keyStore?: { type: string; keyUri?: string };
  validityDays?: number;
  revocation?: { crl?: Partial<CrlConfig>; ocsp?: Partial<OcspConfig> };
  tags?: Record<string, string>;
}

export interface PatchCaInput {
  status?: 'ACTIVE' | 'DISABLED';
  revocation?: { crl?: Partial<CrlConfig>; ocsp?: Partial<OcspConfig> };
  tags?: Record<string, string>;
}

/** Told about every change to a CA, so that caches (issuance) and schedules (CRLs) follow. */
export type CaChangeListener = (ca: Ca) => void;

/** A CA's CRL or OCSP settings with `patch` over them; a baseUrl without its trailing slashes. */
function mergeRevocationPart<T extends { baseUrl?: string }>(base: T, patch: Partial<T> | undefined): T {
  const out = { ...base, ...(patch ?? {}) };
  if (out.baseUrl) out.baseUrl = out.baseUrl.replace(/\/+$/, '');
  if (patch && 'baseUrl' in patch && patch.baseUrl === undefined) delete out.baseUrl;
  return out;
}

/** The CA lifecycle: create, certificate import, status changes, delete and restore. */
export class CaService {
  private readonly listeners: CaChangeListener[] = [];

  constructor(private readonly deps: { repos: Repos; keyStores: KeyStoreRegistry; clock: Clock }) {}

  onChange(listener: CaChangeListener): void {
    this.listeners.push(listener);
  }

  private changed(ca: Ca): Ca {
    for (const l of this.listeners) l(ca);
    return ca;
  }

  async create(actor: Actor, input: CreateCaInput): Promise<Ca> {
    const signingAlgorithm = input.signingAlgorithm ?? KEY_ALGORITHM_INFO[input.keyAlgorithm].defaultSigning;
    checkSigningAlgorithm(input.keyAlgorithm, signingAlgorithm);
    if (input.type === 'SUBORDINATE' && input.validityDays !== undefined) {
      throw invalid('invalid_request', 'validityDays applies to ROOT CAs; a SUBORDINATE CA gets its validity from its issuer');
    }
    const storeType = input.keyStore?.type ?? 'software';
    const keyStore = this.deps.keyStores.forType(storeType);
    const id = randomUUID();
    let keyUri = input.keyStore?.keyUri;
    if (keyUri) {
      if (this.deps.keyStores.forUri(keyUri) !== keyStore) {
        throw invalid('invalid_key_uri', `key URI "${keyUri}" does not belong to key store "${storeType}"`);
      }
    } else {
      keyUri = (await keyStore.createKey({ algorithm: input.keyAlgorithm, label: `privateca-${id}` })).keyUri;
    }
    const signer = await keyStore.getSigner(keyUri).catch((e: unknown) => {
      // A key named in the request that does not exist is the caller's mistake, not an outage.
      if (input.keyStore?.keyUri && e instanceof CaError && e.code === 'key_not_found') throw invalid('key_not_found', e.detail);
      throw e;
    });
    if (signer.keyAlgorithm !== input.keyAlgorithm) {
      throw invalid('key_algorithm_mismatch', `key ${keyUri} is ${signer.keyAlgorithm}, not ${input.keyAlgorithm}`);
    }

    const now = this.deps.clock.now();
    const ca: Ca = {
      id,
      type: input.type,
      status: 'PENDING_CERTIFICATE',
      subject: input.subject,
      keyAlgorithm: input.keyAlgorithm,
      signingAlgorithm,
      keyStoreType: storeType,
      keyUri,
      chainPem: '',
      certVersion: 0,
      partitionBlocks: 0,
      revocation: { crl: mergeRevocationPart(DEFAULT_CRL, input.revocation?.crl), ocsp: mergeRevocationPart(DEFAULT_OCSP, input.revocation?.ocsp) },
      tags: input.tags ?? {},
      createdAt: now,
      updatedAt: now,
    };
    if (input.type === 'ROOT') {
      const serial = newSerial();
      const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
      const notAfter = new Date(notBefore.getTime() + (input.validityDays ?? 3650) * DAY);
      ca.certificateDer = await createRootCertificate({ signer, signingAlgorithm, subject: input.subject, serial, notBefore, notAfter });
      Object.assign(ca, { status: 'ACTIVE', serial: serialHex(serial), notBefore, notAfter, certVersion: 1 });
    } else {
      ca.csrDer = await createCaCsr({ signer, signingAlgorithm, subject: input.subject });
    }
    await this.deps.repos.tx(async (r) => {
      await r.cas.insert(ca);
      await r.audit.record(
        auditEvent(actor, 'CreateCertificateAuthority', `ca/${id}`, {
          type: ca.type,
          subject: ca.subject,
          keyAlgorithm: ca.keyAlgorithm,
          signingAlgorithm: ca.signingAlgorithm,
          keyStore: storeType,
          keyUri,
          status: ca.status,
          ...(ca.serial ? { serial: ca.serial, notBefore: ca.notBefore!.toISOString(), notAfter: ca.notAfter!.toISOString() } : {}),
          revocation: ca.revocation,
          tags: ca.tags,
        }, now),
      );
    });
    return this.changed(ca);
  }

  async get(id: string): Promise<Ca> {
    const ca = await this.deps.repos.cas.get(id);
    if (!ca) throw notFound('ca_not_found', `no CA ${id}`);
    return ca;
  }

  list(options: { limit: number; after?: { createdAt: Date; id: string } }): Promise<Ca[]> {
    return this.deps.repos.cas.list(options);
  }

  async getCsr(id: string): Promise<Buffer> {
    const ca = await this.get(id);
    if (!ca.csrDer) throw invalidState(`CA ${id} is a ROOT CA and has no CSR`);
    return ca.csrDer;
  }

  /**
   * Imports a subordinate CA's certificate (first time or renewal) after checking that it is for the
   * CA's key, is a CA certificate, is valid now, and chains through `chainPem` to a self-signed root.
   */
  async importCertificate(actor: Actor, id: string, input: { certificate: string; chain: string }): Promise<Ca> {
    const certs = parseCertificates(input.certificate, 'invalid_certificate', 'certificate');
    if (certs.length !== 1) throw invalid('invalid_certificate', 'certificate must hold exactly one PEM certificate');
    const cert = certs[0]!;
    const chain = parseCertificates(input.chain, 'invalid_chain', 'chain');
    const ca = await this.get(id);
    if (ca.type === 'ROOT') throw invalidState('a ROOT CA signs its own certificate; nothing can be imported');
    if (ca.status === 'DELETED') throw invalidState(`CA ${id} is DELETED`);

    const signer = await this.deps.keyStores.forUri(ca.keyUri).getSigner(ca.keyUri);
    if (!samePublicKey(cert.spkiDer, signer.publicKeySpki)) {
      throw invalid('certificate_key_mismatch', "the certificate's public key is not this CA's key");
    }
    if (!cert.isCa || !cert.keyCertSign) {
      throw invalid('not_a_ca_certificate', 'the certificate must have basicConstraints cA=true and keyUsage keyCertSign');
    }
    const now = this.deps.clock.now();
    if (now < cert.notBefore || now > cert.notAfter) {
      throw invalid('certificate_not_valid_now', `the certificate is valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`);
    }
    const path = await buildPath(cert, chain, now);

    return this.mutate(actor, id, (current) => {
      if (current.status === 'DELETED') throw invalidState(`CA ${id} is DELETED`);
      const next: Ca = {
        ...current,
        status: current.status === 'PENDING_CERTIFICATE' ? 'ACTIVE' : current.status,
        certificateDer: cert.der,
        chainPem: path.map((c) => certificatePem(c.der)).join(''),
        serial: cert.serial,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
        certVersion: current.certVersion + 1,
        updatedAt: now,
      };
      return {
        next,
        action: 'ImportCertificateAuthorityCertificate',
        detail: {
          renewal: !!current.certificateDer,
          serial: cert.serial,
          subject: cert.subject,
          issuer: cert.issuer,
          notBefore: cert.notBefore.toISOString(),
          notAfter: cert.notAfter.toISOString(),
          chain: path.map((c) => c.subject),
          status: next.status,
        },
      };
    });
  }

  /** The CA's certificate (DER) and its chain (PEM, the issuer first). */
  async getCertificate(id: string): Promise<{ der: Buffer; chain: string }> {
    const ca = await this.get(id);
    if (!ca.certificateDer) throw invalidState(`CA ${id} has no certificate yet (PENDING_CERTIFICATE)`);
    return { der: ca.certificateDer, chain: ca.chainPem };
  }

  async patch(actor: Actor, id: string, input: PatchCaInput): Promise<Ca> {
    return this.mutate(actor, id, (ca, now) => {
      const status = effectiveStatus(ca, now);
      if (status === 'DELETED') throw invalidState(`CA ${id} is DELETED; restore it first`);
      const next: Ca = { ...ca, updatedAt: now };
      if (input.status !== undefined) {
        if (status === 'PENDING_CERTIFICATE' || status === 'EXPIRED') {
          throw invalidState(`the status of a ${status} CA cannot be changed`);
        }
        next.status = input.status;
      }
      const { crl, ocsp } = input.revocation ?? {};
      if (crl) next.revocation = { ...next.revocation, crl: mergeRevocationPart(ca.revocation.crl, crl) };
      if (ocsp) next.revocation = { ...next.revocation, ocsp: mergeRevocationPart(ca.revocation.ocsp, ocsp) };
      // What the CA writes into certificates (the CRL Distribution Point, the AIA) changed.
      if (crl || ocsp) next.certVersion = ca.certVersion + 1;
      if (input.tags) next.tags = input.tags;
      return { next, action: 'UpdateCertificateAuthority', detail: { changed: input, previousStatus: ca.status, status: next.status } };
    });
  }

  async delete(actor: Actor, id: string, permanentDeletionDays: number): Promise<Ca> {
    return this.mutate(actor, id, (ca, now) => {
      if (ca.status === 'DELETED') throw invalidState(`CA ${id} is already DELETED`);
      const restorableUntil = new Date(now.getTime() + permanentDeletionDays * DAY);
      return {
        next: { ...ca, status: 'DELETED', previousStatus: ca.status, restorableUntil, updatedAt: now },
        action: 'DeleteCertificateAuthority',
        detail: { permanentDeletionDays, restorableUntil: restorableUntil.toISOString() },
      };
    });
  }

  async restore(actor: Actor, id: string): Promise<Ca> {
    return this.mutate(actor, id, (ca, now) => {
      if (ca.status !== 'DELETED') throw invalidState(`CA ${id} is not DELETED`);
      if (!ca.restorableUntil || ca.restorableUntil <= now) throw invalidState(`CA ${id} can no longer be restored`);
      const status = (ca.previousStatus ?? 'DISABLED') as StoredCaStatus;
      return {
        next: { ...ca, status, previousStatus: undefined, restorableUntil: undefined, updatedAt: now },
        action: 'RestoreCertificateAuthority',
        detail: { status },
      };
    });
  }

  /**
   * One change to one CA: read it under a row lock, let `change` compute the next state (or refuse),
   * save it with its audit event in the same transaction, then tell the listeners.
   */
  private async mutate(
    actor: Actor,
    id: string,
    change: (ca: Ca, now: Date) => { next: Ca; action: string; detail: Record<string, unknown> },
  ): Promise<Ca> {
    const now = this.deps.clock.now();
    const updated = await this.deps.repos.tx(async (r) => {
      const ca = await r.cas.get(id, { forUpdate: true });
      if (!ca) throw notFound('ca_not_found', `no CA ${id}`);
      const { next, action, detail } = change(ca, now);
      await r.cas.save(next);
      await r.audit.record(auditEvent(actor, action, `ca/${id}`, detail, now));
      return next;
    });
    return this.changed(updated);
  }

  /** Whether the CA's key can sign now; a key store that is not configured on this node says so. */
  async keyStatus(ca: Ca): Promise<KeyStatus> {
    try {
      return await this.deps.keyStores.forUri(ca.keyUri).keyStatus(ca.keyUri);
    } catch (e) {
      if (e instanceof CaError) return { state: 'UNAVAILABLE', reason: e.detail };
      throw e;
    }
  }

  /** Deletes for good the CAs whose restore window has passed, with their certificates and keys. */
  async purge(actor: Actor): Promise<string[]> {
    const now = this.deps.clock.now();
    const gone: string[] = [];
    for (const ca of await this.deps.repos.cas.listPurgeable(now)) {
      await this.deps.repos.tx(async (r) => {
        await r.cas.remove(ca.id);
        await r.audit.record(auditEvent(actor, 'PurgeCertificateAuthority', `ca/${ca.id}`, { keyUri: ca.keyUri, deletedAt: ca.updatedAt.toISOString() }, now));
      });
      try {
        const ks = this.deps.keyStores.forUri(ca.keyUri);
        if (isDeletable(ks)) await ks.deleteKey(ca.keyUri);
      } catch (e) {
        if (!(e instanceof CaError)) throw e;
      }
      gone.push(ca.id);
      this.changed({ ...ca, status: 'DELETED' });
    }
    return gone;
  }
}

/**
 * Orders `chain` from the issuer of `cert` up to a self-signed root, checking every signature, that
 * every issuer is a CA valid now, and that no pathLenConstraint is exceeded by the path
 * root → … → cert → (the end-entity certificates cert will issue).
 */
async function buildPath(cert: CertificateInfo, chain: CertificateInfo[], now: Date): Promise<CertificateInfo[]> {
  if (chain.length === 0) throw invalid('chain_invalid', 'chain is empty; it must lead to a self-signed root');
  if (chain.length > MAX_CHAIN) throw invalid('chain_invalid', `chain has more than ${MAX_CHAIN} certificates`);
  const path: CertificateInfo[] = [];
  let current = cert;
  const remaining = [...chain];
  for (;;) {
    const i = await findIssuer(current, remaining);
    if (i < 0) throw invalid('chain_invalid', `no certificate in chain issued "${current.subject}" (or its signature does not verify)`);
    const parent = remaining.splice(i, 1)[0]!;
    if (!parent.isCa || !parent.keyCertSign) throw invalid('chain_invalid', `"${parent.subject}" in chain is not a CA certificate`);
    if (now < parent.notBefore || now > parent.notAfter) throw invalid('chain_invalid', `"${parent.subject}" in chain is not valid now`);
    if (parent.pathLen !== undefined && parent.pathLen < path.length + 1) {
      throw invalid('chain_invalid', `"${parent.subject}" has pathLenConstraint ${parent.pathLen}, too short for this CA to issue certificates`);
    }
    path.push(parent);
    if (parent.subject === parent.issuer && (await isSignedBy(parent, parent))) return path;
    if (remaining.length === 0) throw invalid('chain_invalid', 'chain does not end in a self-signed root');
    current = parent;
  }
}

async function findIssuer(child: CertificateInfo, candidates: CertificateInfo[]): Promise<number> {
  for (let i = 0; i < candidates.length; i++) if (await isSignedBy(child, candidates[i]!)) return i;
  return -1;
}

