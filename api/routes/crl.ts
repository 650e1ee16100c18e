import { Router, type Request, type Response } from 'express';
import { CaError, notFound } from '../../src/domain/ca-error.ts';
import type { CaService } from '../../src/services/ca-service.ts';
import type { CrlRepository, StoredCrl } from '../../src/ports/repositories.ts';
import type { CrlPublicationRepository } from '../../src/ports/crl-publication-repository.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { CrlUpdater } from '../../crl/crl-updater.ts';
import { sendProblem } from '../errors.ts';
import { sendJson } from '../middleware.ts';
import { caId } from '../params.ts';

/** Longest a client may cache a CRL, however far nextUpdate is: revocations should reach it soon. */
const MAX_AGE_CAP = 300;

/**
 * GET /crl/{caId}.crl: public, plain HTTP, DER. The ETag names the CRL number; If-None-Match is
 * compared here rather than by Express's freshness check, which a client's `no-cache` defeats.
 */
export function crlPublicRouter(deps: { crls: Pick<CrlRepository, 'latest' | 'latestInfo'>; cas: CaService; clock: Clock }): Router {
  const r = Router();
  const cache = new Map<string, StoredCrl>();

  const serve = async (req: Request, res: Response, rawId: string, partition: string) => {
    const id = caId(rawId);
    const ca = await deps.cas.get(id).catch((e: unknown) => {
      if (e instanceof CaError && e.code === 'ca_not_found') return undefined;
      throw e;
    });
    const info = ca?.revocation.crl.enabled ? await deps.crls.latestInfo(id, partition) : undefined;
    if (!info) return sendProblem(res, 404, 'crl_not_found', `CA ${id} has no CRL`);
    const headers = (c: Omit<StoredCrl, 'der'>) => {
      const maxAge = Math.floor((c.nextUpdate.getTime() - deps.clock.now().getTime()) / 1000);
      res.setHeader('ETag', `"${id}-${partition || 'full'}-${c.crlNumber}"`);
      res.setHeader('Last-Modified', c.thisUpdate.toUTCString());
      res.setHeader('Cache-Control', `public, max-age=${Math.max(0, Math.min(MAX_AGE_CAP, maxAge))}`);
    };
    const inm = req.headers['if-none-match'];
    if (inm && inm.split(',').some((t) => t.trim() === `"${id}-${partition || 'full'}-${info.crlNumber}"` || t.trim() === '*')) {
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
    res.writeHead(200, { 'Content-Type': 'application/pkix-crl', 'Content-Length': hit.der.length });
    res.end(hit.der);
  };
  r.get('/crl/:file', async (req, res) => {
    const m = /^([0-9a-f-]{36})\.crl$/.exec(req.params.file);
    if (!m) return sendProblem(res, 404, 'crl_not_found', 'no such CRL');
    await serve(req, res, m[1]!, '');
  });
  r.get('/crl/:caId/:file', async (req, res) => {
    const m = /^([a-z0-9-]{1,32})\.crl$/.exec(req.params.file);
    if (!m) return sendProblem(res, 404, 'crl_not_found', 'no such CRL');
    await serve(req, res, req.params.caId, m[1]!);
  });
  return r;
}

/**
 * POST/GET /v1/cas/{caId}/crl: API.md's fields, plus `targets`, the latest outcome of each
 * publication target (directory, S3) per partition, so that a failing target is visible.
 */
export function crlAdminRouter(deps: {
  crls: Pick<CrlRepository, 'latestInfo'>;
  cas: CaService;
  updater: CrlUpdater;
  publications: Pick<CrlPublicationRepository, 'list'>;
}): Router {
  const r = Router({ mergeParams: true });
  const targets = async (id: string) =>
    (await deps.publications.list(id)).map((t) => ({
      target: t.target,
      partition: t.partition,
      crlNumber: t.crlNumber.toString(),
      ok: t.ok,
      attempts: t.attempts,
      error: t.error,
      at: t.at.toISOString(),
    }));
  r.post('/', async (req, res) => {
    const id = caId((req.params as Record<string, string>).caId);
    const crl = await deps.updater.publish(id);
    sendJson(res, 201, { ...deps.updater.info(await deps.cas.get(id), crl!), targets: await targets(id) });
  });
  r.get('/', async (req, res) => {
    const id = caId((req.params as Record<string, string>).caId);
    const ca = await deps.cas.get(id);
    const info = await deps.crls.latestInfo(id, '');
    if (!info) throw notFound('crl_not_found', `CA ${id} has published no CRL yet`);
    sendJson(res, 200, { ...deps.updater.info(ca, info), targets: await targets(id) });
  });
  return r;
}
