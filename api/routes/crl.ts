import { CaError, notFound } from '../../src/domain/ca-error.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { CrlPublicationRepository } from '../../src/ports/crl-publication-repository.ts';
import type { CrlRepository, StoredCrl } from '../../src/ports/repositories.ts';
import type { CaService } from '../../src/services/ca-service.ts';
import type { CrlUpdater } from '../../crl/crl-updater.ts';
import { auditEvent } from '../../src/services/audit/event.ts';
import { crlPem } from '../../src/x509/pem.ts';
import type { Authorizer } from '../authorization.ts';
import { sendBody, sendJson, type Req, type Res } from '../http.ts';
import { negotiate } from '../negotiate.ts';
import { caId } from '../params.ts';
import { presentCrlStatus } from '../presenters.ts';
import { CrlStatusResponse } from '../responses.ts';
import { params, type Route } from '../route.ts';

/** Longest a client may cache a CRL, however far nextUpdate is: revocations should reach it soon. */
const MAX_AGE_CAP = 300;

/** A CRL as DER (what TLS clients fetch, the default) or as PEM (`X509 CRL`) for people. */
const CRL_TYPES = ['application/pkix-crl', 'application/x-pem-file'] as const;
const CRL_REPRESENTATIONS = {
  'application/pkix-crl': { description: 'the CRL, DER (RFC 5280); the default', binary: true },
  'application/x-pem-file': { description: 'the CRL, PEM labelled X509 CRL (Accept: application/x-pem-file)' },
};

/**
 * GET /crl/{caId}.crl and /crl/{caId}/{partition}.crl: public, plain HTTP, DER. The ETag names the
 * CRL number; If-None-Match is compared here rather than by Express's freshness check, which a
 * client's `no-cache` defeats.
 */
export function crlPublicRoutes(deps: { crls: Pick<CrlRepository, 'latest' | 'latestInfo'>; cas: CaService; clock: Clock }): Route[] {
  const cache = new Map<string, StoredCrl>();

  const serve = async (req: Req, res: Res, rawId: string, partition: string) => {
    const id = caId(rawId);
    const ca = await deps.cas.get(id).catch((e: unknown) => {
      if (e instanceof CaError && e.code === 'ca_not_found') return undefined;
      throw e;
    });
    const info = ca?.revocation.crl.enabled ? await deps.crls.latestInfo(id, partition) : undefined;
    if (!info) throw notFound('crl_not_found', `CA ${id} has no CRL`);
    const type = negotiate(req, CRL_TYPES, { fallback: 'application/pkix-crl' });
    const pem = type === 'application/x-pem-file';
    const etag = (c: Omit<StoredCrl, 'der'>) => `"${id}-${partition || 'full'}-${c.crlNumber}${pem ? '-pem' : ''}"`;
    const headers = (c: Omit<StoredCrl, 'der'>) => {
      const maxAge = Math.floor((c.nextUpdate.getTime() - deps.clock.now().getTime()) / 1000);
      res.setHeader('ETag', etag(c));
      res.setHeader('Last-Modified', c.thisUpdate.toUTCString());
      res.setHeader('Cache-Control', `public, max-age=${Math.max(0, Math.min(MAX_AGE_CAP, maxAge))}`);
      res.setHeader('Vary', 'Accept');
    };
    const inm = req.headers['if-none-match'];
    if (inm && inm.split(',').some((t) => t.trim() === etag(info) || t.trim() === '*')) {
      headers(info);
      res.statusCode = 304;
      res.end();
      return;
    }
    const key = `${id}/${partition}`;
    let hit = cache.get(key);
    if (!hit || hit.crlNumber !== info.crlNumber) {
      // A newer CRL may land between the two reads: whatever is sent, its headers describe it.
      hit = await deps.crls.latest(id, partition);
      if (!hit) throw notFound('crl_not_found', `CA ${id} has no CRL`);
      cache.set(key, hit);
    }
    headers(hit);
    sendBody(res, 200, type, pem ? crlPem(hit.der) : hit.der);
  };

  const responses = {
    '200': { description: 'the latest CRL', alternatives: CRL_REPRESENTATIONS },
    '304': { description: 'If-None-Match names the latest CRL' },
  };
  const ifNoneMatch = [{ name: 'If-None-Match', in: 'header' as const, schema: { type: 'string' } }];
  return [
    {
      method: 'get',
      path: '/crl/{caId}.crl',
      operation: 'GetCrl',
      summary: "The CA's current full CRL (no Issuing Distribution Point)",
      public: true,
      parameters: ifNoneMatch,
      responses,
      handler: (req, res) => serve(req, res, params(req).caId!, ''),
    },
    {
      method: 'get',
      path: '/crl/{caId}/{partition}.crl',
      operation: 'GetPartitionCrl',
      summary: "A partition's CRL, with a critical Issuing Distribution Point naming its URL",
      public: true,
      parameters: ifNoneMatch,
      responses,
      handler: async (req, res) => {
        const partition = params(req).partition!;
        if (!/^[a-z0-9-]{1,32}$/.test(partition)) throw notFound('crl_not_found', 'no such CRL partition');
        await serve(req, res, params(req).caId!, partition);
      },
    },
  ];
}

/**
 * POST/GET /v1/cas/{caId}/crl: the latest full CRL's number, times and URL, plus `targets`, the latest
 * outcome of each publication target (directory, S3) per partition, so that a failing target is visible.
 */
export function crlAdminRoutes(deps: {
  crls: Pick<CrlRepository, 'latestInfo'>;
  cas: CaService;
  updater: CrlUpdater;
  publications: Pick<CrlPublicationRepository, 'list'>;
  publicUrl: string;
  authz: Authorizer;
}): Route[] {
  const { authz } = deps;
  const status = { description: 'the latest full CRL and the publication targets', schema: CrlStatusResponse };
  return [
    {
      method: 'post',
      path: '/v1/cas/{caId}/crl',
      operation: 'PublishCrl',
      summary: 'Publish new CRLs now (every partition too)',
      responses: { '201': status },
      errors: [409, 503],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        await authz.ca(req, res, 'PublishCrl', id);
        const crl = await deps.updater.publish(id, {
          auditEvent: (c) =>
            auditEvent(res.locals.actor, 'PublishCrl', `ca/${id}`, { crlNumber: c.crlNumber.toString(), thisUpdate: c.thisUpdate.toISOString(), nextUpdate: c.nextUpdate.toISOString(), revokedCount: c.revokedCount }, c.thisUpdate),
        });
        sendJson(res, 201, presentCrlStatus(await deps.cas.get(id), crl!, await deps.publications.list(id), deps.publicUrl));
      },
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}/crl',
      operation: 'DescribeCrl',
      summary: "The CA's latest full CRL: number, times, entries, URL, publication targets",
      responses: { '200': status },
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        const ca = await authz.ca(req, res, 'DescribeCrl', id);
        const info = await deps.crls.latestInfo(id, '');
        if (!info) throw notFound('crl_not_found', `CA ${id} has published no CRL yet`);
        sendJson(res, 200, presentCrlStatus(ca, info, await deps.publications.list(id), deps.publicUrl));
      },
    },
  ];
}
