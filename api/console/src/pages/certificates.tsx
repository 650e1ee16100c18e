import { useRef, useState } from 'preact/hooks';
import { api, REVOCATION_REASONS, type CertificateItem, type Page } from '../api.ts';
import { Badge, Field, ProblemBanner, useAllowed, useCursor, useLoad, when } from '../ui.tsx';

const cn = (subject: string) => /(?:^|,)CN=((?:\\.|[^,])*)/.exec(subject)?.[1]?.replace(/\\(.)/g, '$1') ?? subject;
const sans = (c: CertificateItem) => Object.values(c.subjectAlternativeNames ?? {}).flat().join(', ');

/** A CA's certificates, a page at a time, with a status filter; revoke with a reason after a confirmation naming it. */
export function Certificates({ caId }: { caId: string }) {
  const [status, setStatus] = useState('');
  const { cursor, reset, pager } = useCursor();
  const [revoking, setRevoking] = useState<CertificateItem>();
  const [done, setDone] = useState<string>();
  const qs = new URLSearchParams({ limit: '50' });
  if (status) qs.set('status', status);
  if (cursor) qs.set('cursor', cursor);
  const { data, error, loading, reload } = useLoad(() => api<Page<CertificateItem>>('GET', `/v1/cas/${caId}/certificates?${qs}`), [caId, status, cursor]);
  const [canRevoke] = useAllowed([{ action: 'RevokeCertificate', resource: `ca/${caId}` }]) ?? [];
  const filter = (s: string) => {
    setStatus(s);
    reset();
  };
  return (
    <section aria-labelledby="certs-heading">
      <h2 id="certs-heading">Certificates</h2>
      <div class="filters">
        <Field id="cert-status" label="Status">
          <select id="cert-status" value={status} onChange={(e) => filter(e.currentTarget.value)}>
            <option value="">All</option>
            <option value="ISSUED">Issued</option>
            <option value="REVOKED">Revoked</option>
          </select>
        </Field>
      </div>
      {done ? (
        <div class="banner ok" role="status">
          {done}
        </div>
      ) : null}
      <ProblemBanner error={error} />
      {loading && !data ? <p class="loading">Loading…</p> : null}
      {data && data.items.length === 0 ? <p>No certificates.</p> : null}
      {data && data.items.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Certificates of this CA</caption>
            <thead>
              <tr>
                <th scope="col">Common name</th>
                <th scope="col">Names</th>
                <th scope="col">Serial</th>
                <th scope="col">Template</th>
                <th scope="col">Expires</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((c) => (
                <tr key={c.serial} data-serial={c.serial}>
                  <td>{cn(c.subject)}</td>
                  <td class="wrap">{sans(c)}</td>
                  <td>
                    <code>{c.serial}</code>
                  </td>
                  <td>{c.template.replace(/Certificate\/V1$/, '')}</td>
                  <td>{when(c.notAfter)}</td>
                  <td>
                    <Badge status={c.status} />
                    {c.revocationReason ? <small> {c.revocationReason}</small> : null}
                  </td>
                  <td>
                    {canRevoke && c.status === 'ISSUED' ? (
                      <button type="button" class="danger" onClick={() => (setDone(undefined), setRevoking(c))} aria-label={`Revoke ${cn(c.subject)} (serial ${c.serial})`}>
                        Revoke
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {pager(data?.nextCursor)}
      {revoking ? (
        <RevokeDialog
          caId={caId}
          cert={revoking}
          onClose={(revoked) => {
            setRevoking(undefined);
            if (revoked) {
              setDone(`Revoked ${cn(revoked.subject)} (serial ${revoked.serial}).`);
              reload();
            }
          }}
        />
      ) : null}
    </section>
  );
}

function RevokeDialog({ caId, cert, onClose }: { caId: string; cert: CertificateItem; onClose: (revoked?: CertificateItem) => void }) {
  const [reason, setReason] = useState('UNSPECIFIED');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLDialogElement>(null);
  return (
    <dialog
      ref={(el) => {
        ref.current = el;
        if (el && !el.open) el.showModal();
      }}
      aria-labelledby="revoke-title"
      onCancel={() => onClose()}
    >
      <form
        method="dialog"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            await api('POST', `/v1/cas/${caId}/certificates/${cert.serial}/revoke`, { reason });
            onClose(cert);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h2 id="revoke-title">Revoke {cn(cert.subject)}?</h2>
        <p>
          Serial <code>{cert.serial}</code>, valid until {when(cert.notAfter)}. Revocation cannot be undone: the certificate goes into the CRL and OCSP answers it revoked.
        </p>
        <ProblemBanner error={error} />
        <Field id="revoke-reason" label="Reason">
          <select id="revoke-reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
            {REVOCATION_REASONS.map(([value, label]) => (
              <option value={value} key={value}>
                {label}
              </option>
            ))}
          </select>
        </Field>
        <div class="actions">
          <button type="button" onClick={() => onClose()}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={busy}>
            Revoke certificate
          </button>
        </div>
      </form>
    </dialog>
  );
}
