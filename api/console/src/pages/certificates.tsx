import { useRef, useState } from 'preact/hooks';
import { api, REVOCATION_REASONS, type CertificateItem, type Page } from '../api.ts';
import { Badge, Field, ProblemBanner, Table, useAllowed, useCursor, useLoad, useSubmit, when } from '../ui.tsx';

export const commonName = (subject: string) => /(?:^|,)CN=((?:\\.|[^,])*)/.exec(subject)?.[1]?.replace(/\\(.)/g, '$1') ?? subject;
const sans = (c: CertificateItem) => Object.values(c.subjectAlternativeNames ?? {}).flat().join(', ');

/** A CA's certificates, a page at a time, with a status filter; revoke with a reason after a confirmation naming it. */
export function Certificates({ caId }: { caId: string }) {
  const [status, setStatus] = useState('');
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const [expiry, setExpiry] = useState('');
  const { cursor, reset, pager } = useCursor();
  const [revoking, setRevoking] = useState<CertificateItem>();
  const [done, setDone] = useState<string>();
  const qs = new URLSearchParams({ limit: '50' });
  if (status) qs.set('status', status);
  if (q) qs.set('q', q);
  if (expiry) qs.set('expiresBefore', new Date(Date.now() + Number(expiry) * 86_400_000).toISOString());
  if (expiry) qs.set('expiresAfter', new Date().toISOString());
  if (cursor) qs.set('cursor', cursor);
  const { data, error, loading, reload } = useLoad(() => api<Page<CertificateItem>>('GET', `/v1/cas/${caId}/certificates?${qs}`), [caId, status, q, expiry, cursor]);
  const [canRevoke] = useAllowed([{ action: 'RevokeCertificate', resource: `ca/${caId}` }]) ?? [];
  const filter = (f: () => void) => {
    f();
    reset();
  };
  return (
    <section aria-labelledby="certs-heading">
      <h2 id="certs-heading">Certificates</h2>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          filter(() => setQ(search.trim()));
        }}
      >
        <Field id="cert-search" label="Search" hint="Start of a common name or SAN, or of a serial">
          <input id="cert-search" type="search" value={search} maxLength={256} aria-describedby="cert-search-hint" onInput={(e) => setSearch(e.currentTarget.value)} />
        </Field>
        <button type="submit">Search</button>
        <Field id="cert-status" label="Status">
          <select id="cert-status" value={status} onChange={(e) => filter(() => setStatus(e.currentTarget.value))}>
            <option value="">All</option>
            <option value="ISSUED">Issued</option>
            <option value="REVOKED">Revoked</option>
          </select>
        </Field>
        <Field id="cert-expiry" label="Expires">
          <select id="cert-expiry" value={expiry} onChange={(e) => filter(() => setExpiry(e.currentTarget.value))}>
            <option value="">Any time</option>
            <option value="7">Within 7 days</option>
            <option value="30">Within 30 days</option>
            <option value="90">Within 90 days</option>
          </select>
        </Field>
      </form>
      {done ? (
        <div class="banner ok" role="status">
          {done}
        </div>
      ) : null}
      <ProblemBanner error={error} />
      {loading && !data ? <p class="loading">Loading…</p> : null}
      {data && data.items.length === 0 ? <p>{q || status || expiry ? 'No certificates match.' : 'No certificates.'}</p> : null}
      {data && data.items.length > 0 ? (
        <Table caption="Certificates of this CA" columns={['Common name', 'Names', 'Serial', 'Template', 'Expires', 'Status', <span class="visually-hidden">Actions</span>]}>
          {data.items.map((c) => (
            <tr key={c.serial} data-serial={c.serial}>
              <td>
                <a href={`#/cas/${caId}/certificates/${c.serial}`}>{commonName(c.subject)}</a>
              </td>
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
                  <button type="button" class="danger" onClick={() => (setDone(undefined), setRevoking(c))} aria-label={`Revoke ${commonName(c.subject)} (serial ${c.serial})`}>
                    Revoke
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      {pager(data?.nextCursor)}
      {revoking ? (
        <RevokeDialog
          caId={caId}
          cert={revoking}
          onClose={(revoked) => {
            setRevoking(undefined);
            if (revoked) {
              setDone(`Revoked ${commonName(revoked.subject)} (serial ${revoked.serial}).`);
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
  const { busy, error, submit } = useSubmit(async () => {
    await api('POST', `/v1/cas/${caId}/certificates/${cert.serial}/revoke`, { reason });
    onClose(cert);
  });
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
        onSubmit={submit}
      >
        <h2 id="revoke-title">Revoke {commonName(cert.subject)}?</h2>
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
