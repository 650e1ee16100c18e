import type { AuditReportService } from '../../src/services/audit/report-service.ts';
import type { Authorizer } from '../authorization.ts';
import { sendBody, sendJson, sendStream } from '../http.ts';
import { caId, uuid } from '../params.ts';
import { presentAuditReport } from '../presenters.ts';
import { AuditReportResponse } from '../responses.ts';
import { params, type Route } from '../route.ts';
import { CreateAuditReportSchema } from '../schemas.ts';
import { parseBody } from '../validation.ts';

/** /v1/cas/{caId}/audit-reports: every certificate a CA issued, as CSV or JSON, signed with the audit key. */
export function auditReportRoutes(deps: { reports: AuditReportService; authz: Authorizer }): Route[] {
  const { reports, authz } = deps;
  const located = async (req: Parameters<Route['handler']>[0], res: Parameters<Route['handler']>[1]) => {
    const id = caId(params(req).caId);
    const report = uuid(params(req).reportId, 'audit report');
    await authz.ca(req, res, 'DescribeAuditReport', id);
    return { id, report };
  };
  return [
    {
      method: 'post',
      path: '/v1/cas/{caId}/audit-reports',
      operation: 'CreateAuditReport',
      summary: 'Start an audit report of every certificate the CA issued, as JSON or CSV; made in the background',
      body: CreateAuditReportSchema,
      responses: { '202': { description: 'the report, CREATING', schema: AuditReportResponse } },
      errors: [409],
      handler: async (req, res) => {
        const id = caId(params(req).caId);
        const input = parseBody(CreateAuditReportSchema, req.body);
        await authz.ca(req, res, 'CreateAuditReport', id);
        sendJson(res, 202, presentAuditReport(await reports.create(res.locals.actor, id, input.format)));
      },
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}/audit-reports/{reportId}',
      operation: 'DescribeAuditReport',
      summary: 'An audit report: CREATING, then SUCCESS with rows, size and sha256, or FAILED',
      responses: { '200': { description: 'the report', schema: AuditReportResponse } },
      handler: async (req, res) => {
        const { id, report } = await located(req, res);
        sendJson(res, 200, presentAuditReport(await reports.get(id, report)));
      },
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}/audit-reports/{reportId}/content',
      operation: 'GetAuditReportContent',
      action: 'DescribeAuditReport',
      summary: "A finished report's content: text/csv, or a JSON array",
      responses: {
        '200': {
          description: 'the report, one row a certificate',
          alternatives: { 'text/csv': { description: 'RFC 4180 with a header line' }, 'application/json': { description: 'an array of objects' } },
        },
      },
      errors: [409],
      handler: async (req, res) => {
        const { id, report } = await located(req, res);
        const content = await reports.content(id, report);
        await sendStream(res, 200, content.contentType, content.report.size, content.parts, { ETag: `"${content.report.sha256!.toString('hex')}"` });
      },
    },
    {
      method: 'get',
      path: '/v1/cas/{caId}/audit-reports/{reportId}/signature',
      operation: 'GetAuditReportSignature',
      action: 'DescribeAuditReport',
      summary: "The audit key's DER ECDSA signature over the content's SHA-256 (openssl dgst -sha256 -verify audit.pub -signature)",
      responses: { '200': { description: 'the signature', alternatives: { 'application/octet-stream': { description: 'DER ECDSA-Sig-Value' } } } },
      errors: [409],
      handler: async (req, res) => {
        const { id, report } = await located(req, res);
        sendBody(res, 200, 'application/octet-stream', (await reports.ready(id, report)).signature);
      },
    },
  ];
}
