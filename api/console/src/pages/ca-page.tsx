import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, fromBase64, type Ca, type CrlStatus, type OcspStatus } from '../api.ts';
import { Badge, DownloadButton, ProblemBanner, subjectText, useActions, useAllowed, useLoad, when } from '../ui.tsx';
import { AuditReports } from './audit-reports.tsx';
import { Certificates } from './certificates.tsx';

/** SHA-256 of the DER inside a PEM, as openssl x509 -fingerprint -sha256 prints it (needs a secure context). */
async function fingerprint(pem: string): Promise<string | undefined> {
  if (!crypto.subtle) return undefined;
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = fromBase64(b64);
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', der));
  return [...hash].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** One CA: its certificate, CRL status, actions, and its certificates. */
export function CaPage({ id }: { id: string }) {
  const ca = useLoad(() => api<Ca>('GET', `/v1/cas/${id}`), [id]);
  const hasCert = !!ca.data && ca.data.status !== 'PENDING_CERTIFICATE';
  const cert = useLoad(() => (hasCert ? api<{ certificate: string; chain: string }>('GET', `/v1/cas/${id}/certificate`) : Promise.resolve(undefined)), [id, hasCert]);
  const crl = useLoad(
    () =>
      ca.data?.revocation.crl.enabled
        ? api<CrlStatus>('GET', `/v1/cas/${id}/crl`).catch((e) => {
            if (e instanceof ApiError && e.status === 404) return undefined;
            throw e;
          })
        : Promise.resolve(undefined),
    [id, ca.data?.revocation.crl.enabled, ca.data?.status],
  );
  const ocsp = useLoad(() => (ca.data?.revocation.ocsp.enabled ? api<OcspStatus>('GET', `/v1/cas/${id}/ocsp`) : Promise.resolve(undefined)), [id, ca.data?.revocation.ocsp.enabled]);
  const [fp, setFp] = useState<string>();
  useEffect(() => {
    if (cert.data) fingerprint(cert.data.certificate).then(setFp, () => setFp(undefined));
  }, [cert.data]);
  const r = `ca/${id}`;
  const [canUpdate, canDelete, canRestore, canPublish, canIssue, canReport] =
    useAllowed([
      { action: 'UpdateCertificateAuthority', resource: r },
      { action: 'DeleteCertificateAuthority', resource: r },
      { action: 'RestoreCertificateAuthority', resource: r },
      { action: 'PublishCrl', resource: r },
      { action: 'IssueCertificate', resource: r },
      { action: 'CreateAuditReport', resource: r },
    ]) ?? [];
  const { act, banners } = useActions(() => {
    ca.reload();
    crl.reload();
  });


  if (ca.error) return <ProblemBanner error={ca.error} />;
  if (!ca.data) return <p class="loading">Loading…</p>;
  const c = ca.data;
  return (
    <>
      <section>
        <div class="heading">
          <h1 tabIndex={-1}>{subjectText(c.subject)}</h1>
          <Badge status={c.status} />
        </div>
        {banners}
        <div class="actions">
          {canIssue && c.status === 'ACTIVE' ? (
            <a class="button primary" href={`#/cas/${id}/issue`}>
              Request a certificate
            </a>
          ) : null}
          {canUpdate && c.status === 'ACTIVE' ? (
            <button type="button" onClick={() => act(() => api('PATCH', `/v1/cas/${id}`, { status: 'DISABLED' }), 'The CA is disabled: it issues nothing until it is enabled again.')}>
              Disable
            </button>
          ) : null}
          {canUpdate && c.status === 'DISABLED' ? (
            <button type="button" onClick={() => act(() => api('PATCH', `/v1/cas/${id}`, { status: 'ACTIVE' }), 'The CA is active again.')}>
              Enable
            </button>
          ) : null}
          {canPublish && c.revocation.crl.enabled && hasCert && c.status !== 'DELETED' ? (
            <button type="button" onClick={() => act(() => api('POST', `/v1/cas/${id}/crl`), 'A new CRL is published.')}>
              Publish CRL now
            </button>
          ) : null}
          {canDelete && c.status !== 'DELETED' ? (
            <button
              type="button"
              class="danger"
              onClick={() => {
                if (confirm(`Delete the CA "${subjectText(c.subject)}"? It can be restored for 30 days.`)) void act(() => api('DELETE', `/v1/cas/${id}`), 'The CA is deleted; it can be restored until its restore window ends.');
              }}
            >
              Delete
            </button>
          ) : null}
          {canRestore && c.status === 'DELETED' ? (
            <button type="button" onClick={() => act(() => api('POST', `/v1/cas/${id}/restore`), 'The CA is restored.')}>
              Restore
            </button>
          ) : null}
        </div>
        <dl class="facts">
          <dt>Type</dt>
          <dd>{c.type}</dd>
          <dt>CA id</dt>
          <dd>
            <code>{c.id}</code>
          </dd>
          <dt>Issuer</dt>
          <dd>{c.issuer ? (c.type === 'ROOT' ? `${subjectText(c.issuer)} (itself)` : subjectText(c.issuer)) : '—'}</dd>
          <dt>Serial</dt>
          <dd>{c.serial ? <code>{c.serial}</code> : '—'}</dd>
          <dt>Valid</dt>
          <dd>
            {when(c.notBefore)} to {when(c.notAfter)}
          </dd>
          <dt>Key</dt>
          <dd>
            {c.keyAlgorithm}, signs with {c.signingAlgorithm}
          </dd>
          <dt>Key store</dt>
          <dd>
            {c.keyStore.type} <Badge status={c.keyStore.status} /> {c.keyStore.reason ?? ''}
          </dd>
          <dt>SHA-256 fingerprint</dt>
          <dd class="wrap">{fp ? <code>{fp}</code> : hasCert ? '(shown over HTTPS or on localhost)' : '—'}</dd>
          {c.restorableUntil ? (
            <>
              <dt>Restorable until</dt>
              <dd>{when(c.restorableUntil)}</dd>
            </>
          ) : null}
          <dt>Tags</dt>
          <dd>{Object.entries(c.tags ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</dd>
        </dl>
        {cert.data ? (
          <div class="actions">
            <DownloadButton text={cert.data.certificate} filename={`${c.subject.commonName}.pem`} label="Download certificate" />
            <DownloadButton text={cert.data.certificate + cert.data.chain} filename={`${c.subject.commonName}-chain.pem`} label="Download certificate and chain" />
          </div>
        ) : null}
        {cert.data?.chain ? (
          <details>
            <summary>Chain ({(cert.data.chain.match(/BEGIN CERTIFICATE/g) ?? []).length} certificates, the issuer first)</summary>
            <pre class="pem">{cert.data.chain}</pre>
          </details>
        ) : null}
      </section>
      <section aria-labelledby="crl-heading">
        <h2 id="crl-heading">CRL</h2>
        {!c.revocation.crl.enabled ? <p>This CA publishes no CRL.</p> : null}
        <ProblemBanner error={crl.error} />
        {crl.data ? (
          <dl class="facts">
            <dt>Number</dt>
            <dd>{crl.data.crlNumber}</dd>
            <dt>This update</dt>
            <dd>{when(crl.data.thisUpdate)}</dd>
            <dt>Next update</dt>
            <dd>{when(crl.data.nextUpdate)}</dd>
            <dt>Entries</dt>
            <dd>{crl.data.revokedCount}</dd>
            <dt>URL</dt>
            <dd class="wrap">
              <code>{crl.data.url}</code>
            </dd>
            <dt>Publication</dt>
            <dd>
              {crl.data.targets.length === 0
                ? 'served by the service'
                : crl.data.targets.map((t) => (
                    <div key={`${t.target}/${t.partition}`}>
                      {t.target}
                      {t.partition ? ` ${t.partition}` : ''}: {t.ok ? 'published' : `failed (${t.error ?? 'error'})`} CRL {t.crlNumber}, {when(t.at)}
                    </div>
                  ))}
            </dd>
          </dl>
        ) : c.revocation.crl.enabled && !crl.loading ? (
          <p>No CRL published yet.</p>
        ) : null}
      </section>
      <section aria-labelledby="ocsp-heading">
        <h2 id="ocsp-heading">OCSP</h2>
        {!c.revocation.ocsp.enabled ? <p>OCSP is off: certificates carry no OCSP URL.</p> : null}
        <ProblemBanner error={ocsp.error} />
        {ocsp.data ? (
          <dl class="facts">
            <dt>URL</dt>
            <dd class="wrap">
              <code>{ocsp.data.url}</code>
            </dd>
            <dt>Answers valid for</dt>
            <dd>{ocsp.data.validityHours} hours</dd>
            <dt>Responder key</dt>
            <dd>{ocsp.data.responderKeyStore === 'ca' ? "in the CA's key store" : 'in software'}</dd>
            <dt>Responder certificate</dt>
            <dd>
              {ocsp.data.responder ? (
                <>
                  {ocsp.data.responder.subject}, serial <code>{ocsp.data.responder.serial}</code>, valid {when(ocsp.data.responder.notBefore)} to {when(ocsp.data.responder.notAfter)}
                </>
              ) : (
                'none yet: the first OCSP request makes one'
              )}
            </dd>
          </dl>
        ) : null}
      </section>
      {canReport && hasCert ? <AuditReports caId={id} /> : null}
      {hasCert ? <Certificates caId={id} /> : <p>This CA has no certificate yet: finish its set-up in the wizard.</p>}
    </>
  );
}
