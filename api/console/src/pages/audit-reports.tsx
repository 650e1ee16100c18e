import { useState } from 'preact/hooks';
import { api, apiBytes, type AuditReport } from '../api.ts';
import { DownloadButton, Field, ProblemBanner, useSubmit, when } from '../ui.tsx';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A finished report's three files: the content, its signature, and the audit key that signed it. */
interface Files {
  report: AuditReport;
  content: Uint8Array;
  signature: Uint8Array;
  publicKey: string;
}

/**
 * Audit reports of one CA (every certificate it issued, as AWS Private CA's), signed with the audit
 * key: created, waited for, and downloaded with the signature and the key to check it with openssl.
 */
export function AuditReports({ caId }: { caId: string }) {
  const [format, setFormat] = useState<'CSV' | 'JSON'>('CSV');
  const [pending, setPending] = useState<AuditReport>();
  const [files, setFiles] = useState<Files>();
  const create = useSubmit(async () => {
    setFiles(undefined);
    let report = await api<AuditReport>('POST', `/v1/cas/${caId}/audit-reports`, { format });
    setPending(report);
    for (let wait = 250; report.status === 'CREATING'; wait = Math.min(wait * 2, 2000)) {
      await sleep(wait);
      report = await api<AuditReport>('GET', `/v1/cas/${caId}/audit-reports/${report.id}`);
      setPending(report);
    }
    if (report.status !== 'SUCCESS') throw new Error('The report could not be made; the service log says why.');
    const base = `/v1/cas/${caId}/audit-reports/${report.id}`;
    const [content, signature, publicKey] = await Promise.all([
      // The signature is over the content's exact bytes: they are kept as they came, never re-serialized.
      apiBytes(`${base}/content`),
      apiBytes(`${base}/signature`),
      api<string>('GET', '/v1/audit/public-key', undefined, { accept: 'application/x-pem-file' }),
    ]);
    setFiles({ report, content, signature, publicKey });
  });
  const ext = files?.report.format === 'JSON' ? 'json' : 'csv';
  return (
    <section aria-labelledby="reports-heading">
      <h2 id="reports-heading">Audit report</h2>
      <p class="hint">Every certificate this CA issued, with who asked for it, signed with the service's audit key.</p>
      <form class="inline-form" onSubmit={create.submit}>
        <Field id="report-format" label="Format">
          <select id="report-format" value={format} onChange={(e) => setFormat(e.currentTarget.value as 'CSV' | 'JSON')}>
            <option value="CSV">CSV</option>
            <option value="JSON">JSON</option>
          </select>
        </Field>
        <button type="submit" class="primary" disabled={create.busy}>
          {create.busy ? 'Making the report…' : 'Create audit report'}
        </button>
      </form>
      <ProblemBanner error={create.error} />
      {pending && !files && create.busy ? <p class="loading">Report {pending.id}: {pending.status.toLowerCase()}…</p> : null}
      {files ? (
        <div class="card" role="status">
          <p>
            Report made {when(files.report.completedAt)}: {files.report.rows} rows, SHA-256 <code class="wrap">{files.report.sha256}</code>
          </p>
          <div class="actions">
            <DownloadButton text={files.content} filename={`audit-report-${files.report.id}.${ext}`} label="Download report" type={ext === 'csv' ? 'text/csv' : 'application/json'} />
            <DownloadButton text={files.signature} filename={`audit-report-${files.report.id}.sig`} label="Download signature" type="application/octet-stream" />
            <DownloadButton text={files.publicKey} filename="audit.pub" label="Download audit public key" />
          </div>
          <p class="hint">
            Check it: <code>openssl dgst -sha256 -verify audit.pub -signature audit-report-{files.report.id}.sig audit-report-{files.report.id}.{ext}</code>
          </p>
        </div>
      ) : null}
    </section>
  );
}
