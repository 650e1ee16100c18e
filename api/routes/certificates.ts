import { Router } from 'express';
import { invalid } from '../../src/domain/ca-error.ts';
import { parseSerial } from '../../src/domain/serial.ts';
import type { IssuanceService } from '../../src/services/issuance-service.ts';
import type { RevocationService } from '../../src/services/revocation-service.ts';
import type { CertificateRepository } from '../../src/ports/repositories.ts';
import { caId, encodeCursor, page, parseBody } from '../params.ts';
import { sendJson, type Req, type Res } from '../middleware.ts';
import { presentCertificate } from '../presenters.ts';
import { IssueSchema, RevokeSchema } from '../schemas.ts';

const decodeSerialCursor = (raw: unknown) => {
  const s = (raw as { s?: unknown }).s;
  if (typeof s !== 'string') throw new Error('bad cursor');
  return parseSerial(s);
};

/** POST /v1/cas/{caId}/certificates; shared by the router below and the fast path (issue-fast-path.ts). */
export async function issueCertificate(issuance: IssuanceService, rawCaId: unknown, req: Req, res: Res): Promise<void> {
  const id = caId(rawCaId);
  const input = parseBody(IssueSchema, req.body);
  const validity = 'days' in input.validity ? input.validity : { notAfter: new Date(input.validity.notAfter) };
  const out = await issuance.issue(res.locals.actor, id, { ...input, validity });
  sendJson(res, out.replayed ? 200 : 201, {
    serial: out.serial,
    certificate: out.certificate,
    chain: out.chain,
    notBefore: out.notBefore.toISOString(),
    notAfter: out.notAfter.toISOString(),
  });
}

/** /v1/cas/:caId/certificates: issuance, lookup, revocation. */
export function certificatesRouter(deps: {
  issuance: IssuanceService;
  revocation: RevocationService;
  certificates: Pick<CertificateRepository, 'list'>;
}): Router {
  const r = Router({ mergeParams: true });

  r.post('/', async (req, res) => {
    await issueCertificate(deps.issuance, (req.params as Record<string, string>).caId, req, res);
  });

  r.get('/', async (req, res) => {
    const id = caId((req.params as Record<string, string>).caId);
    const status = req.query.status;
    if (status !== undefined && status !== 'ISSUED' && status !== 'REVOKED') {
      throw invalid('invalid_status', 'status is ISSUED or REVOKED');
    }
    const { limit, after } = page(req.query, decodeSerialCursor);
    const chain = await deps.issuance.chain(id);
    const items = await deps.certificates.list(id, { status, limit, afterSerial: after });
    const last = items.length === limit ? items[items.length - 1] : undefined;
    sendJson(res, 200, { items: items.map((c) => presentCertificate(c, chain)), nextCursor: last ? encodeCursor({ s: last.serial }) : null });
  });

  r.get('/:serial', async (req, res) => {
    const id = caId((req.params as Record<string, string>).caId);
    const serial = parseSerial(String(req.params.serial));
    const { cert, chain } = await deps.issuance.get(id, serial);
    sendJson(res, 200, presentCertificate(cert, chain));
  });

  r.post('/:serial/revoke', async (req, res) => {
    const id = caId((req.params as Record<string, string>).caId);
    const serial = parseSerial(String(req.params.serial));
    const input = req.body === undefined ? {} : parseBody(RevokeSchema, req.body);
    const cert = await deps.revocation.revoke(res.locals.actor, id, serial, input.reason ?? 'UNSPECIFIED');
    sendJson(res, 200, presentCertificate(cert, await deps.issuance.chain(id)));
  });

  return r;
}
