import type { Logger } from 'pino';
import type { Ca } from '../src/domain/ca.ts';
import type { Clock } from '../src/ports/clock.ts';
import type { JobLock } from '../src/ports/job-lock.ts';
import type { KeyStoreRegistry, Signer } from '../src/ports/key-store.ts';
import type { OcspResponderRecord, Repos } from '../src/ports/repositories.ts';
import { SYSTEM_ACTOR } from '../src/services/actor.ts';
import type { IssuanceService } from '../src/services/issuance-service.ts';
import { subjectNameDer } from '../src/x509/ca-certificates.ts';
import { nameToString } from '../src/x509/name.ts';
import { prepareResponder, type PreparedResponder } from '../src/x509/ocsp-response.ts';

const DAY = 86_400_000;
/** A responder certificate's life; it is renewed once two thirds of it have passed (10 days before it ends). */
export const RESPONDER_VALIDITY_DAYS = 30;
/** After a failed renewal, the next try waits this long (the CA's key store may be down). */
const RETRY_MS = 60_000;
const TEMPLATE = 'OCSPSigningCertificate/V1';

/** The delegated responder a CA's answers are signed by now. */
export interface Responder {
  readonly caId: string;
  readonly serial: string;
  readonly signer: Signer;
  readonly prepared: PreparedResponder;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** From here on a new responder is made (the current one keeps signing until it is). */
  readonly renewAt: Date;
}

interface Entry {
  responder?: Responder;
  /** A refresh in flight (load or renewal): one per CA on this node. */
  refreshing?: Promise<Responder | undefined>;
  /** No renewal is tried before this, after one failed. */
  retryAfter: number;
}

const renewAt = (r: Pick<OcspResponderRecord, 'notBefore' | 'notAfter'>) => new Date(r.notBefore.getTime() + ((r.notAfter.getTime() - r.notBefore.getTime()) * 2) / 3);

/**
 * The delegated OCSP responder of each CA (RFC 6960 4.2.2.2): a key of its own, in the software key
 * store unless the CA asks for its own store, with an OCSPSigningCertificate/V1 certificate that the
 * CA issues to it (a certificate row and an audit event like any other). It is made on the first
 * answer, renewed once two thirds of its life have passed, and one node at a time does either,
 * under a per-CA advisory lock: the others find the new row when they look again.
 *
 * When the CA cannot sign (its HSM is down), the current responder keeps signing answers until its
 * certificate expires, and renewal is tried again every minute.
 */
export class ResponderCertificates {
  readonly #entries = new Map<string, Entry>();
  readonly #changeListeners: ((caId: string) => void)[] = [];

  constructor(
    private readonly deps: {
      repos: Pick<Repos, 'ocspResponders'>;
      keyStores: KeyStoreRegistry;
      issuance: Pick<IssuanceService, 'issueForKey'>;
      lock: JobLock;
      clock: Clock;
      logger?: Logger;
      validityDays?: number;
    },
  ) {}

  /** Told when a CA's answers start being signed by another responder (its cached answers are stale). */
  onChange(listener: (caId: string) => void): void {
    this.#changeListeners.push(listener);
  }

  /**
   * The responder to sign a CA's answers with now; undefined when the CA has none that is valid and
   * cannot make one (its key store is down, it is not ACTIVE). Renewal runs in the background while
   * the current responder is still valid.
   */
  async current(ca: Ca, extra: Uint8Array[]): Promise<Responder | undefined> {
    const now = this.deps.clock.now().getTime();
    let entry = this.#entries.get(ca.id);
    if (!entry) {
      entry = { retryAfter: 0 };
      this.#entries.set(ca.id, entry);
    }
    const r = entry.responder;
    if (r && now < r.renewAt.getTime()) return r;
    const usable = r && now < r.notAfter.getTime() ? r : undefined;
    if (!entry.refreshing && (!usable || now >= entry.retryAfter)) {
      const e = entry;
      e.refreshing = this.#refresh(ca, extra, r).finally(() => (e.refreshing = undefined));
    }
    return usable ?? (await entry.refreshing);
  }

  /** Forgets a CA's responder (the CA was deleted or changed its certificate). */
  forget(caId: string): void {
    this.#entries.delete(caId);
  }

  async #refresh(ca: Ca, extra: Uint8Array[], previous: Responder | undefined): Promise<Responder | undefined> {
    const entry = this.#entries.get(ca.id)!;
    try {
      let rec = await this.deps.repos.ocspResponders.latest(ca.id);
      if (!rec || this.#due(rec)) {
        rec = await this.deps.lock.run(`ocsp-responder:${ca.id}`, async () => {
          // Another node may have made one while this one waited for the lock.
          const again = await this.deps.repos.ocspResponders.latest(ca.id);
          return again && !this.#due(again) ? again : this.#make(ca);
        });
      }
      const responder = await this.#open(rec, ca, extra);
      entry.responder = responder;
      if (previous && previous.serial !== responder.serial) this.#changeListeners.forEach((l) => l(ca.id));
      return responder;
    } catch (e) {
      entry.retryAfter = this.deps.clock.now().getTime() + RETRY_MS;
      this.deps.logger?.warn({ caId: ca.id, err: (e as Error).message }, 'OCSP responder certificate could not be made or renewed; answers keep the current one while it is valid');
      const usable = previous && this.deps.clock.now() < previous.notAfter ? previous : undefined;
      return usable;
    }
  }

  #due(rec: OcspResponderRecord): boolean {
    return this.deps.clock.now() >= renewAt(rec);
  }

  /** A new key and its certificate from the CA, stored as the CA's latest responder. */
  async #make(ca: Ca): Promise<OcspResponderRecord> {
    const now = this.deps.clock.now();
    const store = this.deps.keyStores.forType(ca.revocation.ocsp.responderKeyStore === 'ca' ? ca.keyStoreType : 'software');
    const { keyUri } = await store.createKey({ algorithm: 'EC_prime256v1', label: `ocsp-responder-${ca.id}` });
    const signer = await store.getSigner(keyUri);
    const cn = `${ca.subject.commonName} OCSP Responder`.slice(0, 64);
    const nameDer = subjectNameDer({ ...ca.subject, commonName: cn });
    const validityEnd = new Date(now.getTime() + (this.deps.validityDays ?? RESPONDER_VALIDITY_DAYS) * DAY);
    const notAfter = ca.notAfter && ca.notAfter < validityEnd ? ca.notAfter : validityEnd;
    const issued = await this.deps.issuance.issueForKey(
      SYSTEM_ACTOR,
      ca.id,
      { subjectDer: nameDer, subject: nameToString(nameDer), commonName: cn, spkiDer: signer.publicKeySpki, subjectAltNames: [], key: { family: 'EC' } },
      { template: TEMPLATE, validity: { notAfter } },
    );
    const rec: OcspResponderRecord = { caId: ca.id, serial: issued.serial, keyUri, certificateDer: issued.der, notBefore: issued.notBefore, notAfter: issued.notAfter, createdAt: now };
    await this.deps.repos.ocspResponders.insert(rec);
    this.deps.logger?.info({ caId: ca.id, serial: rec.serial, notAfter: rec.notAfter.toISOString() }, 'OCSP responder certificate issued');
    return rec;
  }

  async #open(rec: OcspResponderRecord, ca: Ca, extra: Uint8Array[]): Promise<Responder> {
    const signer = await this.deps.keyStores.forUri(rec.keyUri).getSigner(rec.keyUri);
    const cap = ca.notAfter && ca.notAfter < rec.notAfter ? ca.notAfter : rec.notAfter;
    return {
      caId: ca.id,
      serial: rec.serial,
      signer,
      prepared: prepareResponder({ certificateDer: rec.certificateDer, signingAlgorithm: 'SHA256WITHECDSA', extra }),
      notBefore: rec.notBefore,
      notAfter: cap,
      renewAt: renewAt(rec),
    };
  }
}
