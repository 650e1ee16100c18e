import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CaError, notFound } from '../../src/domain/ca-error.ts';
import type { OcspResponderRepository } from '../../src/ports/repositories.ts';
import type { CaService } from '../../src/services/ca-service.ts';
import { MAX_OCSP_REQUEST_BYTES } from '../../src/x509/ocsp-request.ts';
import type { OcspAnswer, OcspResponder } from '../../ocsp/ocsp-responder.ts';
import { sendProblem } from '../errors.ts';
import type { Authorizer } from '../authorization.ts';
import { sendBody, sendJson, type Req, type Res } from '../http.ts';
import type { Metrics } from '../metrics.ts';
import { wellFormedPath } from '../middleware.ts';
import { caId } from '../params.ts';
import { presentOcspStatus } from '../presenters.ts';
import { OcspStatusResponse } from '../responses.ts';
import { params, type Route } from '../route.ts';

const OCSP_RESPONSE = 'application/ocsp-response';
const OCSP_REQUEST = 'application/ocsp-request';
const POST_ROUTE = '/ocsp/{caId}';
const GET_ROUTE = '/ocsp/{caId}/{request}';
/** Base64 of the largest request, percent-encoded at worst (3 characters per base64 character). */
const MAX_GET_CHARS = Math.ceil(MAX_OCSP_REQUEST_BYTES / 3) * 4 * 3;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

type Deps = { ocsp: Pick<OcspResponder, 'answer' | 'cachedAnswer'>; metrics?: Metrics };

const tooLarge = () => new CaError('payload_too_large', 'ocsp_request_too_large', `an OCSP request is at most ${MAX_OCSP_REQUEST_BYTES} octets`);

/**
 * GET /ocsp/{caId}/{base64 request} (RFC 6960 appendix A.1): the request in standard or URL-safe
 * base64, percent-encoded or not. Undefined when it is not base64 of anything: malformedRequest.
 */
export function decodeGetRequest(encoded: string): Uint8Array | undefined {
  let text = encoded;
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return undefined;
    }
  }
  text = text.replace(/-/g, '+').replace(/_/g, '/');
  if (!BASE64.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
}

/**
 * Writes an OCSP answer; GET answers that may be cached carry RFC 5019 6.2's headers. Headers as
 * one array for writeHead: a pre-signed answer's whole cost is mostly this, so no setHeader calls.
 */
function send(req: IncomingMessage, res: ServerResponse, answer: OcspAnswer, get: boolean): void {
  const http = get ? answer.http : undefined;
  if (!http) {
    res.writeHead(200, ['Content-Type', OCSP_RESPONSE, 'Content-Length', String(answer.der.length), 'X-Content-Type-Options', 'nosniff']);
    res.end(answer.der);
    return;
  }
  const validators = ['Cache-Control', `public, max-age=${http.maxAge}, no-transform, must-revalidate`, 'ETag', http.etag, 'Last-Modified', http.lastModified];
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === http.etag)) {
    res.writeHead(304, validators);
    res.end();
    return;
  }
  res.writeHead(200, ['Content-Type', OCSP_RESPONSE, 'Content-Length', String(answer.der.length), 'X-Content-Type-Options', 'nosniff', ...validators]);
  res.end(answer.der);
}

async function answerGet(deps: Deps, req: IncomingMessage, res: ServerResponse, rawCaId: string, encoded: string): Promise<void> {
  if (encoded.length > MAX_GET_CHARS) throw tooLarge();
  const der = decodeGetRequest(encoded);
  const answer = await deps.ocsp.answer(rawCaId, der ?? new Uint8Array(0), encoded);
  deps.metrics?.ocspAnswer(answer.kind, answer.cached);
  send(req, res, answer, true);
}

async function answerPost(deps: Deps, req: IncomingMessage, res: ServerResponse, rawCaId: string): Promise<void> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== OCSP_REQUEST || req.headers['content-encoding']) {
    throw new CaError('unsupported_media_type', 'unsupported_media_type', `an OCSP request is sent as ${OCSP_REQUEST}, without content-encoding`);
  }
  const length = Number(req.headers['content-length'] ?? NaN);
  if (length > MAX_OCSP_REQUEST_BYTES) throw tooLarge();
  const body = await readBody(req);
  // The body's text finds its pre-signed answer as a GET's base64 does (no ':' in base64: no clash).
  const text = 'post:' + body.toString('base64');
  const answer = deps.ocsp.cachedAnswer(rawCaId, text) ?? (await deps.ocsp.answer(rawCaId, body, text));
  deps.metrics?.ocspAnswer(answer.kind, answer.cached);
  send(req, res, answer, false);
}

/** The request body, refused (413) as soon as it passes the limit. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_OCSP_REQUEST_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function fail(res: ServerResponse, e: unknown): void {
  const err = e instanceof CaError ? e : new CaError('invalid_request', 'invalid_request', 'the OCSP request could not be read');
  if (err.kind === 'payload_too_large') res.setHeader('Connection', 'close');
  const id = (res as Res).locals?.requestId;
  if (id) res.setHeader('X-Request-Id', id);
  sendProblem(res as ServerResponse & { locals: { requestId?: string } }, err);
}

/**
 * OCSP without Express: at tens of thousands of answers a second, Express's per-request work would
 * cost more than a cached answer. Counted in the request metrics like every route; logged at debug
 * level only (each answer is a read, and an info line per answer would be most of its cost).
 * Returns false for anything that is not a GET or POST under /ocsp/, for Express to answer.
 */
export function ocspFastPath(deps: Deps & { logger?: { isLevelEnabled(l: string): boolean; debug(o: object, m: string): void } }) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    if (!url.startsWith('/ocsp/') || (req.method !== 'GET' && req.method !== 'POST')) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const slash = path.indexOf('/', 6);
    const rawCaId = slash < 0 ? path.slice(6) : path.slice(6, slash);
    const get = req.method === 'GET';
    const route = get ? GET_ROUTE : POST_ROUTE;
    const encoded = get && slash >= 0 ? path.slice(slash + 1) : '';
    // A request answered before, asked again as the same text: its pre-signed answer, synchronously
    // (it passed every check below when it was first answered).
    const hit = get ? deps.ocsp.cachedAnswer(rawCaId, encoded) : undefined;
    // Every answer is counted in the request metrics and logged at debug level, once it is sent.
    const answered = (cached?: true) => {
      deps.metrics?.request(req.method!, route, res.statusCode);
      if (deps.logger?.isLevelEnabled('debug')) deps.logger.debug({ method: req.method, path: route, caId: rawCaId, status: res.statusCode, ...(cached ? { cached } : {}) }, 'ocsp');
    };
    if (hit) {
      send(req, res, hit, true);
      deps.metrics?.ocspAnswer(hit.kind, true);
      answered(true);
      return true;
    }
    (res as Res).locals = { route, requestId: randomUUID() } as Res['locals'];
    // As on every route: a path that is not valid percent-encoded UTF-8 is 400 invalid_path.
    try {
      wellFormedPath(req as Req, res as Res, () => {});
    } catch (e) {
      fail(res, e);
      answered();
      return true;
    }
    const run = get ? answerGet(deps, req, res, rawCaId, encoded) : answerPost(deps, req, res, rawCaId);
    run
      .catch((e: unknown) => fail(res, e))
      .finally(() => answered());
    return true;
  };
}

/**
 * The OCSP routes as the OpenAPI document lists them (ocspFastPath answers them before Express), and
 * GET /ca/{caId}.crt, the CA certificate that the caIssuers of its certificates' AIA names.
 */
export function ocspRoutes(deps: Deps & { cas: CaService }): Route[] {
  const ocspResponse = {
    description: 'an OCSP response (RFC 6960), HTTP 200 whatever its responseStatus (malformedRequest, unauthorized, tryLater included)',
    alternatives: { [OCSP_RESPONSE]: { description: 'DER OCSPResponse', binary: true } },
  };
  return [
    {
      method: 'post',
      path: POST_ROUTE,
      operation: 'OcspPost',
      summary: 'OCSP request by POST (application/ocsp-request, at most 8 KiB)',
      public: true,
      binaryBody: { type: OCSP_REQUEST, description: 'a DER OCSPRequest (RFC 6960 4.1.1), without Content-Encoding', maxBytes: MAX_OCSP_REQUEST_BYTES },
      responses: { '200': ocspResponse },
      errors: [413, 415],
      handler: (req: Req, res: Res) => answerPost(deps, req, res, params(req).caId!),
    },
    {
      method: 'get',
      path: GET_ROUTE,
      operation: 'OcspGet',
      summary: 'OCSP request by GET: the DER request in base64 (standard or URL-safe, percent-encoded or not); cacheable answers (RFC 5019)',
      public: true,
      parameters: [{ name: 'If-None-Match', in: 'header' as const, schema: { type: 'string' } }],
      responses: { '200': ocspResponse, '304': { description: 'If-None-Match names the current answer' } },
      errors: [413],
      handler: (req: Req, res: Res) => answerGet(deps, req, res, params(req).caId!, params(req).request!),
    },
    {
      method: 'get',
      path: '/ca/{caId}.crt',
      operation: 'GetCaCertificateDer',
      summary: "The CA's certificate, DER, as the caIssuers URL of its certificates' AIA names it",
      public: true,
      responses: { '200': { description: 'the CA certificate', alternatives: { 'application/pkix-cert': { description: 'DER certificate (RFC 2585)', binary: true } } } },
      handler: async (req: Req, res: Res) => {
        const id = caId(params(req).caId);
        const ca = await deps.cas.get(id);
        if (!ca.certificateDer || ca.status === 'DELETED') throw notFound('ca_certificate_not_found', `CA ${id} has no certificate to serve`);
        res.setHeader('Cache-Control', 'public, max-age=3600');
        sendBody(res, 200, 'application/pkix-cert', ca.certificateDer);
      },
    },
  ];
}

/**
 * GET /v1/cas/{caId}/ocsp: the CA's OCSP settings, the URL its certificates name, and its current
 * delegated responder certificate, for whoever may describe the CA (as the CRL's status is in crl.ts).
 */
export function ocspAdminRoutes(deps: { ocspResponders: Pick<OcspResponderRepository, 'latest'>; publicUrl: string; authz: Authorizer }): Route[] {
  return [
    {
      method: 'get',
      path: '/v1/cas/{caId}/ocsp',
      operation: 'DescribeOcspResponder',
      action: 'DescribeCertificateAuthority',
      summary: "The CA's OCSP responder: settings, URL, and its delegated responder certificate",
      responses: { '200': { description: '{ enabled, url, validityHours, responderKeyStore, responder }', schema: OcspStatusResponse } },
      handler: async (req, res) => {
        const ca = await deps.authz.ca(req, res, 'DescribeCertificateAuthority', caId(params(req).caId));
        sendJson(res, 200, presentOcspStatus(ca, await deps.ocspResponders.latest(ca.id), deps.publicUrl));
      },
    },
  ];
}
