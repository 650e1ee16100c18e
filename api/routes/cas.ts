import { Router } from 'express';
import { invalid } from '../../src/domain/ca-error.ts';
import type { CaService } from '../../src/services/ca-service.ts';
import type { Clock } from '../../src/ports/clock.ts';
import { toPem } from '../../src/x509/pem.ts';
import { caId, encodeCursor, page, parseBody } from '../params.ts';
import { sendJson } from '../middleware.ts';
import { presentCa } from '../presenters.ts';
import { CreateCaSchema, ImportCertificateSchema, PatchCaSchema } from '../schemas.ts';

const decodeCaCursor = (raw: unknown) => {
  const c = raw as { t?: unknown; i?: unknown };
  if (typeof c.t !== 'string' || typeof c.i !== 'string') throw new Error('bad cursor');
  const createdAt = new Date(c.t);
  if (Number.isNaN(createdAt.getTime())) throw new Error('bad cursor');
  return { createdAt, id: caId(c.i) };
};

/** /v1/cas: the CA lifecycle. */
export function casRouter(deps: { cas: CaService; clock: Clock }): Router {
  const { cas, clock } = deps;
  const r = Router();
  const show = async (ca: Parameters<typeof presentCa>[0]) => presentCa(ca, clock.now(), await cas.keyStatus(ca));

  r.post('/', async (req, res) => {
    const input = parseBody(CreateCaSchema, req.body);
    sendJson(res, 201, await show(await cas.create(res.locals.actor, input)));
  });

  r.get('/', async (req, res) => {
    const { limit, after } = page(req.query, decodeCaCursor);
    const items = await cas.list({ limit, after });
    const last = items.length === limit ? items[items.length - 1] : undefined;
    sendJson(res, 200, {
      items: await Promise.all(items.map(show)),
      nextCursor: last ? encodeCursor({ t: last.createdAt.toISOString(), i: last.id }) : null,
    });
  });

  r.get('/:caId', async (req, res) => {
    sendJson(res, 200, await show(await cas.get(caId(req.params.caId))));
  });

  r.patch('/:caId', async (req, res) => {
    const id = caId(req.params.caId);
    const input = parseBody(PatchCaSchema, req.body);
    sendJson(res, 200, await show(await cas.patch(res.locals.actor, id, input)));
  });

  r.delete('/:caId', async (req, res) => {
    const id = caId(req.params.caId);
    const raw = req.query.permanentDeletionDays;
    let days = 30;
    if (raw !== undefined) {
      if (typeof raw !== 'string' || !/^[0-9]{1,2}$/.test(raw) || Number(raw) < 7 || Number(raw) > 30) {
        throw invalid('invalid_permanent_deletion_days', 'permanentDeletionDays is an integer from 7 to 30');
      }
      days = Number(raw);
    }
    sendJson(res, 200, await show(await cas.delete(res.locals.actor, id, days)));
  });

  r.post('/:caId/restore', async (req, res) => {
    sendJson(res, 200, await show(await cas.restore(res.locals.actor, caId(req.params.caId))));
  });

  r.get('/:caId/csr', async (req, res) => {
    sendJson(res, 200, { csr: toPem(await cas.getCsr(caId(req.params.caId)), 'CERTIFICATE REQUEST') });
  });

  r.post('/:caId/certificate', async (req, res) => {
    const id = caId(req.params.caId);
    const input = parseBody(ImportCertificateSchema, req.body);
    sendJson(res, 200, await show(await cas.importCertificate(res.locals.actor, id, input)));
  });

  r.get('/:caId/certificate', async (req, res) => {
    sendJson(res, 200, await cas.getCertificate(caId(req.params.caId)));
  });

  return r;
}
