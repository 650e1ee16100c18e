import { api, type CertificateItem } from '../api.ts';
import { Badge, DownloadButton, ProblemBanner, useLoad, when } from '../ui.tsx';
import { commonName } from './certificates.tsx';

interface Certificate extends CertificateItem {
  certificate: string;
  chain: string;
}

/** One certificate: its facts, names, PEM, and the PEM and chain to download. */
export function CertificatePage({ caId, serial }: { caId: string; serial: string }) {
  const { data: c, error } = useLoad(() => api<Certificate>('GET', `/v1/cas/${caId}/certificates/${serial}`), [caId, serial]);
  if (error) return <ProblemBanner error={error} />;
  if (!c) return <p class="loading">Loading…</p>;
  const name = commonName(c.subject);
  return (
    <section>
      <p>
        <a href={`#/cas/${caId}`}>← the CA</a>
      </p>
      <div class="heading">
        <h1 tabIndex={-1}>{name}</h1>
        <Badge status={c.status} />
      </div>
      <dl class="facts">
        <dt>Subject</dt>
        <dd class="wrap">{c.subject}</dd>
        <dt>Names</dt>
        <dd class="wrap">
          {Object.entries(c.subjectAlternativeNames ?? {})
            .flatMap(([kind, values]) => values.map((v) => `${kind}: ${v}`))
            .join(', ') || '—'}
        </dd>
        <dt>Serial</dt>
        <dd>
          <code>{c.serial}</code>
        </dd>
        <dt>Template</dt>
        <dd>{c.template}</dd>
        <dt>Valid</dt>
        <dd>
          {when(c.notBefore)} to {when(c.notAfter)}
        </dd>
        <dt>Issued</dt>
        <dd>{when(c.issuedAt)}</dd>
        {c.revokedAt ? (
          <>
            <dt>Revoked</dt>
            <dd>
              {when(c.revokedAt)}, {c.revocationReason}
            </dd>
          </>
        ) : null}
      </dl>
      <div class="actions">
        <DownloadButton text={c.certificate} filename={`${name}.pem`} label="Download PEM" />
        <DownloadButton text={c.certificate + c.chain} filename={`${name}-chain.pem`} label="Download with chain" />
      </div>
      <pre class="pem" aria-label="Certificate PEM">
        {c.certificate}
      </pre>
    </section>
  );
}
