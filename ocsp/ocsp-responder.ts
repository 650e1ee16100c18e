import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { CaError, isDatabaseUnavailable } from '../src/domain/ca-error.ts';
import type { Clock } from '../src/ports/clock.ts';
import type { CertificateRepository } from '../src/ports/repositories.ts';
import type { CaContext, CaContexts } from '../src/services/ca-contexts.ts';
import type { IssuerCertificate } from '../src/x509/issuer.ts';
import { OcspRequestError, parseOcspRequest, type OcspCertId, type OcspHash } from '../src/x509/ocsp-request.ts';
import { assembleOcspResponse, encodeResponseData, ocspErrorResponse, type OcspResponseStatus, type SingleAnswer, type SingleStatus } from '../src/x509/ocsp-response.ts';
import { AnswerCache, type CachedAnswer } from './answer-cache.ts';
import type { Responder, ResponderCertificates } from './responder-certificates.ts';

const HOUR = 3_600_000;
const HASHES: readonly OcspHash[] = ['sha1', 'sha256', 'sha384', 'sha512'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What an answer was, for metrics: a certificate status, or the OCSP error status. */
export type AnswerKind = 'good' | 'revoked' | 'unknown' | Exclude<OcspResponseStatus, 'successful'>;

export interface OcspAnswer {
  der: Uint8Array;
  /** The first certificate's status, or the error status. */
  kind: AnswerKind;
  /** True when the answer was signed earlier and reused. */
  cached: boolean;
  /** For GET: how long and under which validator the answer may be cached (none for errors and nonces). */
  http?: { maxAge: number; etag: string; lastModified: string };
}

const errorAnswer = (status: Exclude<OcspResponseStatus, 'successful'>): OcspAnswer => ({ der: ocspErrorResponse(status), kind: status, cached: false });

interface IssuerHashes {
  name: Buffer;
  key: Buffer;
}

/**
 * The OCSP responder (RFC 6960, RFC 5019 profile): reads a request, finds each certificate's status
 * in the database, and answers signed by the CA's delegated responder.
 *
 * A single-certificate request without a nonce is answered from the pre-signed cache when it can
 * be: a good or revoked answer is signed once and reused until three quarters of its validity have
 * passed. A revocation drops the certificate's answers at once on the node that made it (onRevoked)
 * and, through PostgreSQL NOTIFY, on every other node (main.ts wires both to `revoked`). While the
 * notification feed is down (`feedUp` says false) nothing is answered from the cache, since a
 * revocation elsewhere might have been missed; when it is back, the cache starts empty.
 */
export class OcspResponder {
  readonly cache: AnswerCache;
  readonly #hashes = new WeakMap<IssuerCertificate, Map<OcspHash, IssuerHashes>>();
  /** Moves on every revocation heard: an answer read from the database before a move is not cached. */
  #epoch = 0;

  constructor(
    private readonly deps: {
      contexts: Pick<CaContexts, 'get'>;
      certificates: Pick<CertificateRepository, 'status'>;
      responders: Pick<ResponderCertificates, 'current'>;
      clock: Clock;
      logger?: Logger;
      /** Bytes of pre-signed answers kept; 0 turns the cache off. */
      cacheBytes: number;
      /** Whether revocations made on other nodes are being heard now (absent: one process, always). */
      feedUp?: () => boolean;
    },
  ) {
    this.cache = new AnswerCache(deps.cacheBytes);
  }

  /** A certificate was revoked (here or on another node): its answers are signed afresh from now on. */
  revoked(caId: string, serial: string): void {
    this.#epoch++;
    this.cache.invalidate(caId, serial, HASHES);
  }

  /** Forget every pre-signed answer (revocations may have been missed), or those of one CA. */
  reset(caId?: string): void {
    this.#epoch++;
    if (caId) this.cache.dropCa(caId);
    else this.cache.clear();
  }

  /**
   * The pre-signed answer to exactly this request, when one is kept: `request` is the request as
   * it came (e.g. the base64 of a GET), as `answer` was given it. Without reading the request:
   * the same text asked of the same CA is the same CertID, and its entry goes when its status,
   * the CA or its responder changes.
   */
  cachedAnswer(caId: string, request: string): OcspAnswer | undefined {
    if (!this.#cacheOn()) return undefined;
    const now = this.deps.clock.now();
    const hit = this.cache.byRequest(`${caId}/${request}`, now.getTime());
    return hit && { der: hit.der, kind: hit.status, cached: true, http: httpOf(hit, now) };
  }

  /**
   * Answers one DER request for the CA `caId`. Never throws: every failure is an OCSP error status.
   * `request`, the request's text as it came, lets `cachedAnswer` find the answer by it next time.
   */
  async answer(caId: string, requestDer: Uint8Array, request?: string): Promise<OcspAnswer> {
    try {
      return await this.#answer(caId, requestDer, request === undefined ? undefined : `${caId}/${request}`);
    } catch (e) {
      if (isDatabaseUnavailable(e)) return errorAnswer('tryLater');
      this.deps.logger?.error({ err: e, caId }, 'OCSP answer failed');
      return errorAnswer('internalError');
    }
  }

  #cacheOn(): boolean {
    return this.deps.cacheBytes > 0 && (this.deps.feedUp?.() ?? true);
  }

  async #answer(caId: string, requestDer: Uint8Array, alias: string | undefined): Promise<OcspAnswer> {
    let request;
    try {
      request = parseOcspRequest(requestDer);
    } catch (e) {
      if (e instanceof OcspRequestError) return errorAnswer('malformedRequest');
      throw e;
    }
    const ctx = await this.#context(caId);
    if (!ctx) return errorAnswer('unauthorized');
    const issuer = ctx.signing!.issuer.certificate;
    const ours = request.certIds.map((c) => this.#isOurs(issuer, c));
    if (!ours.includes(true)) return errorAnswer('unauthorized');

    const now = this.deps.clock.now();
    const single = request.certIds.length === 1 && !request.nonce;
    const cacheOn = this.#cacheOn();
    const first = request.certIds[0]!;
    const key = single ? AnswerCache.key(caId, first.hash!, first.serial) : '';
    if (single && cacheOn) {
      const hit = this.cache.get(key, now.getTime(), alias);
      if (hit) return { der: hit.der, kind: hit.status, cached: true, http: httpOf(hit, now) };
    }

    // The responder first: making a CA's first one resets its cache, which must not void this answer.
    const responder = await this.deps.responders.current(ctx.ca, ctx.ca.type === 'SUBORDINATE' ? [issuer.der] : []);
    if (!responder) return errorAnswer('tryLater');
    const epoch = this.#epoch;
    const statuses = await Promise.all(request.certIds.map((c, i) => (ours[i] ? this.#status(caId, c.serial) : Promise.resolve<SingleStatus>({ status: 'unknown' }))));

    // RFC 6960 2.4 wants thisUpdate no later than now; whole seconds, as GeneralizedTime carries them.
    const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const validity = ctx.ca.revocation.ocsp.validityHours * HOUR;
    const nextUpdate = new Date(Math.min(thisUpdate.getTime() + validity, responder.notAfter.getTime()));
    const answers: SingleAnswer[] = request.certIds.map((c, i) => ({ certIdDer: c.der, status: statuses[i]!, thisUpdate, nextUpdate }));
    const der = await sign(responder, thisUpdate, answers, request.nonce);
    const kind = statuses[0]!.status;
    if (request.nonce) return { der, kind, cached: false };

    // An unknown serial is not kept: it may be issued later (and each costs a slot an attacker picks).
    const keep = single && cacheOn && kind !== 'unknown' && this.#epoch === epoch;
    const answer: CachedAnswer = {
      // A copy in a buffer of its own: the encoder's Buffers are slices of Node's shared 8 KiB pool,
      // and a kept slice would keep its whole slab alive (an 800-byte answer holding 8 KiB).
      der: keep ? new Uint8Array(der) : der,
      caId,
      serial: first.serial,
      status: kind,
      thisUpdate,
      nextUpdate,
      refreshAt: thisUpdate.getTime() + ((nextUpdate.getTime() - thisUpdate.getTime()) * 3) / 4,
      etag: `"${createHash('sha256').update(der).digest('base64url').slice(0, 27)}"`,
      lastModified: thisUpdate.toUTCString(),
    };
    if (keep) this.cache.set(key, answer, alias);
    return { der, kind, cached: false, http: httpOf(answer, now) };
  }

  /** The CA's context when it answers OCSP: it exists, has a certificate, has OCSP on and is not deleted. */
  async #context(caId: string): Promise<CaContext | undefined> {
    if (!UUID.test(caId)) return undefined;
    const ctx = await this.deps.contexts.get(caId).catch((e: unknown) => {
      if (e instanceof CaError && e.code === 'ca_not_found') return undefined;
      throw e;
    });
    if (!ctx?.signing || !ctx.ca.revocation.ocsp.enabled || ctx.ca.status === 'DELETED') return undefined;
    return ctx;
  }

  #isOurs(issuer: IssuerCertificate, c: OcspCertId): boolean {
    if (!c.hash) return false;
    let byHash = this.#hashes.get(issuer);
    if (!byHash) {
      byHash = new Map();
      this.#hashes.set(issuer, byHash);
    }
    let h = byHash.get(c.hash);
    if (!h) {
      // RFC 6960 4.1.1: the hash of the issuer's Name DER, and of its subjectPublicKey BIT STRING's value.
      h = { name: createHash(c.hash).update(issuer.subjectDer).digest(), key: createHash(c.hash).update(issuer.publicKeyBits).digest() };
      byHash.set(c.hash, h);
    }
    return h.name.equals(c.issuerNameHash) && h.key.equals(c.issuerKeyHash);
  }

  async #status(caId: string, serial: string): Promise<SingleStatus> {
    const row = await this.deps.certificates.status(caId, serial);
    if (!row) return { status: 'unknown' };
    if (row.status === 'REVOKED' && row.revokedAt) return { status: 'revoked', revokedAt: row.revokedAt, reason: row.revocationReason ?? 'UNSPECIFIED' };
    return { status: 'good' };
  }
}

async function sign(responder: Responder, producedAt: Date, answers: SingleAnswer[], nonce: Uint8Array | undefined): Promise<Uint8Array> {
  const tbs = encodeResponseData(responder.prepared, producedAt, answers, nonce);
  const alg = responder.prepared.signingAlgorithm;
  const signature = responder.signer.signSync ? responder.signer.signSync(alg, tbs) : await responder.signer.sign(alg, tbs);
  return assembleOcspResponse(responder.prepared, tbs, signature);
}

/** RFC 5019 6.2: max-age no later than nextUpdate. */
function httpOf(a: CachedAnswer, now: Date): OcspAnswer['http'] {
  return { maxAge: Math.max(0, Math.floor((a.nextUpdate.getTime() - now.getTime()) / 1000)), etag: a.etag, lastModified: a.lastModified };
}
