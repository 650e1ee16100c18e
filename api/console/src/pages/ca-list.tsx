import { api, type Ca, type Page } from '../api.ts';
import { Badge, ProblemBanner, subjectText, Table, useAllowed, useCursor, useLoad, when } from '../ui.tsx';

/** Every CA, with its status; "Create CA" only for a principal that may create one. */
export function CaList() {
  const { cursor, pager } = useCursor();
  const { data, error, loading } = useLoad(() => api<Page<Ca>>('GET', `/v1/cas?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`), [cursor]);
  const [canCreate] = useAllowed([{ action: 'CreateCertificateAuthority', resource: 'ca/*' }]) ?? [];
  return (
    <section>
      <div class="heading">
        <h1 tabIndex={-1}>Certificate authorities</h1>
        {canCreate ? (
          <a class="button primary" href="#/cas/new">
            Create CA
          </a>
        ) : null}
      </div>
      <ProblemBanner error={error} />
      {loading && !data ? <p class="loading">Loading…</p> : null}
      {data ? (
        data.items.length === 0 ? (
          <p>No certificate authorities yet.</p>
        ) : (
          <Table caption="Certificate authorities" columns={['Subject', 'Type', 'Status', 'Key', 'Key store', 'Valid until']}>
            {data.items.map((ca) => (
              <tr key={ca.id}>
                <td>
                  <a href={`#/cas/${ca.id}`}>{subjectText(ca.subject)}</a>
                </td>
                <td>{ca.type}</td>
                <td>
                  <Badge status={ca.status} />
                </td>
                <td>{ca.keyAlgorithm}</td>
                <td>
                  {ca.keyStore.type} <Badge status={ca.keyStore.status} />
                </td>
                <td>{when(ca.notAfter)}</td>
              </tr>
            ))}
          </Table>
        )
      ) : null}
      {pager(data?.nextCursor)}
    </section>
  );
}
