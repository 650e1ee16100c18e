import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { Banner, CopyButton, DownloadButton, Field, ProblemBanner, describedBy, useSubmit } from '../ui.tsx';

const TEMPLATES = [
  ['EndEntityCertificate/V1', 'TLS server and client'],
  ['EndEntityServerAuthCertificate/V1', 'TLS server'],
  ['EndEntityClientAuthCertificate/V1', 'TLS client (mTLS)'],
  ['CodeSigningCertificate/V1', 'Code signing'],
  ['OCSPSigningCertificate/V1', 'OCSP signing'],
  ['SubordinateCACertificate_PathLen0/V1', 'Subordinate CA, path length 0'],
  ['SubordinateCACertificate_PathLen1/V1', 'Subordinate CA, path length 1'],
] as const;

interface Issued {
  serial: string;
  certificate: string;
  chain: string;
}

/** Request a certificate from a pasted or uploaded CSR (POST /v1/cas/{caId}/certificates). */
export function IssueCertificate({ caId }: { caId: string }) {
  const [csr, setCsr] = useState('');
  const [template, setTemplate] = useState<string>('EndEntityServerAuthCertificate/V1');
  const [days, setDays] = useState('90');
  const [issued, setIssued] = useState<Issued>();
  const { busy, error, submit } = useSubmit(async () => setIssued(await api<Issued>('POST', `/v1/cas/${caId}/certificates`, { csr, template, validity: { days: Number(days) } })));
  const csrError = error instanceof ApiError && /csr|key|san|subject/i.test(error.code ?? '') ? (error.problem.detail ?? error.message) : undefined;
  const validityError = error instanceof ApiError && /validity/i.test(error.code ?? '') ? (error.problem.detail ?? error.message) : undefined;
  if (issued) {
    return (
      <section>
        <h1 tabIndex={-1}>Certificate issued</h1>
        <Banner kind="ok">
          Serial <code>{issued.serial}</code>. <a href={`#/cas/${caId}/certificates/${issued.serial}`}>Open its page</a>.
        </Banner>
        <div class="actions">
          <CopyButton text={issued.certificate} label="Copy certificate" />
          <DownloadButton text={issued.certificate} filename={`${issued.serial}.pem`} label="Download PEM" />
          <DownloadButton text={issued.certificate + issued.chain} filename={`${issued.serial}-chain.pem`} label="Download with chain" />
        </div>
        <pre class="pem" aria-label="Certificate PEM">
          {issued.certificate}
        </pre>
      </section>
    );
  }
  return (
    <section>
      <p>
        <a href={`#/cas/${caId}`}>← the CA</a>
      </p>
      <h1 tabIndex={-1}>Request a certificate</h1>
      <form
        onSubmit={submit}
      >
        {!csrError && !validityError ? <ProblemBanner error={error} /> : null}
        <Field id="issue-csr" label="CSR (PEM)" hint="The subject and names come from the CSR." error={csrError}>
          <textarea id="issue-csr" rows={10} required value={csr} aria-invalid={csrError ? true : undefined} aria-describedby={describedBy('issue-csr', 'x', csrError)} onInput={(e) => setCsr(e.currentTarget.value)} />
        </Field>
        <Field id="issue-csr-file" label="…or upload the CSR file">
          <input id="issue-csr-file" type="file" accept=".csr,.pem,.req" onChange={(e) => e.currentTarget.files?.[0]?.text().then(setCsr)} />
        </Field>
        <Field id="issue-template" label="Template">
          <select id="issue-template" value={template} onChange={(e) => setTemplate(e.currentTarget.value)}>
            {TEMPLATES.map(([name, label]) => (
              <option value={name} key={name}>
                {label} ({name})
              </option>
            ))}
          </select>
        </Field>
        <Field id="issue-days" label="Validity (days)" error={validityError}>
          <input id="issue-days" type="number" min={1} max={36500} required value={days} aria-invalid={validityError ? true : undefined} aria-describedby={describedBy('issue-days', undefined, validityError)} onInput={(e) => setDays(e.currentTarget.value)} />
        </Field>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Issue certificate
          </button>
        </div>
      </form>
    </section>
  );
}
