import { useState } from 'preact/hooks';
import { api, ApiError, type Page } from '../api.ts';
import { Badge, Field, ProblemBanner, Table, useAllowed, useCursor, useLoad, when } from '../ui.tsx';

interface AuditEvent {
  seq: number | null;
  time: string;
  principal: { id: string; name: string } | null;
  action: string;
  resource: string;
  outcome: 'SUCCESS' | 'DENIED';
  sourceIp?: string;
  requestId?: string;
  details: Record<string, unknown>;
  hash: string | null;
}

interface Checkpoint {
  size: number;
  hash: string;
  time: string;
  keyId: string;
}

type Verify = { ok: true; events: number; checkpoint?: Checkpoint } | { ok: false; firstBadSeq: number; problem: string };

const FILTERS = ['action', 'principal', 'resource', 'outcome', 'since', 'until'] as const;

/** The audit log: events newest first with filters, the latest checkpoint, and a chain verification on request. */
export function AuditLog() {
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [filters, setFilters] = useState<Record<string, string>>({});
  const { cursor, reset, pager } = useCursor();
  const qs = new URLSearchParams({ limit: '50' });
  for (const f of FILTERS) if (filters[f]) qs.set(f, f === 'since' || f === 'until' ? new Date(filters[f]!).toISOString() : filters[f]!);
  if (cursor) qs.set('cursor', cursor);
  const events = useLoad(() => api<Page<AuditEvent>>('GET', `/v1/audit/events?${qs}`), [JSON.stringify(filters), cursor]);
  const checkpoint = useLoad(
    () =>
      api<Checkpoint>('GET', '/v1/audit/checkpoints/latest').catch((e) => {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      }),
    [],
  );
  const [canVerify] = useAllowed([{ action: 'VerifyAuditLog', resource: 'audit' }]) ?? [];
  const [verify, setVerify] = useState<Verify>();
  const [verifyError, setVerifyError] = useState<unknown>();
  const [verifying, setVerifying] = useState(false);
  return (
    <>
      <section>
        <h1 tabIndex={-1}>Audit log</h1>
        <h2>Chain</h2>
        <ProblemBanner error={checkpoint.error} />
        {checkpoint.data ? (
          <p>
            Latest checkpoint: {checkpoint.data.size} events, signed {when(checkpoint.data.time)}, hash <code class="wrap">{checkpoint.data.hash.slice(0, 16)}…</code>
          </p>
        ) : !checkpoint.loading ? (
          <p>No checkpoint signed yet.</p>
        ) : null}
        {canVerify ? (
          <div class="actions">
            <button
              type="button"
              disabled={verifying}
              onClick={async () => {
                setVerifying(true);
                setVerifyError(undefined);
                try {
                  setVerify(await api<Verify>('GET', '/v1/audit/verify'));
                } catch (e) {
                  setVerifyError(e);
                } finally {
                  setVerifying(false);
                }
              }}
            >
              {verifying ? 'Verifying…' : 'Verify the chain'}
            </button>
          </div>
        ) : null}
        <ProblemBanner error={verifyError} />
        {verify ? (
          verify.ok ? (
            <div class="banner ok" role="status">
              The chain verifies: {verify.events} events{verify.checkpoint ? `, checkpoint of ${verify.checkpoint.size} signed ${when(verify.checkpoint.time)}` : ''}.
            </div>
          ) : (
            <div class="banner error" role="alert">
              The chain does not verify: {verify.problem} at event {verify.firstBadSeq}.
            </div>
          )
        ) : null}
      </section>
      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Events</h2>
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setFilters({ ...draft });
            reset();
          }}
        >
          <Field id="audit-action" label="Action">
            <input id="audit-action" placeholder="RevokeCertificate" value={draft.action ?? ''} onInput={(e) => setDraft({ ...draft, action: e.currentTarget.value })} />
          </Field>
          <Field id="audit-principal" label="Principal">
            <input id="audit-principal" value={draft.principal ?? ''} onInput={(e) => setDraft({ ...draft, principal: e.currentTarget.value })} />
          </Field>
          <Field id="audit-resource" label="Resource">
            <input id="audit-resource" placeholder="ca/…" value={draft.resource ?? ''} onInput={(e) => setDraft({ ...draft, resource: e.currentTarget.value })} />
          </Field>
          <Field id="audit-outcome" label="Outcome">
            <select id="audit-outcome" value={draft.outcome ?? ''} onChange={(e) => setDraft({ ...draft, outcome: e.currentTarget.value })}>
              <option value="">Any</option>
              <option value="SUCCESS">Success</option>
              <option value="DENIED">Denied</option>
            </select>
          </Field>
          <Field id="audit-since" label="Since">
            <input id="audit-since" type="datetime-local" value={draft.since ?? ''} onInput={(e) => setDraft({ ...draft, since: e.currentTarget.value })} />
          </Field>
          <Field id="audit-until" label="Until">
            <input id="audit-until" type="datetime-local" value={draft.until ?? ''} onInput={(e) => setDraft({ ...draft, until: e.currentTarget.value })} />
          </Field>
          <button type="submit">Filter</button>
        </form>
        <ProblemBanner error={events.error} />
        {events.data && events.data.items.length === 0 ? <p>No events.</p> : null}
        {events.data && events.data.items.length > 0 ? (
          <Table caption="Audit events, newest first" columns={['Time', 'Principal', 'Action', 'Resource', 'Outcome', 'Details']}>
            {events.data.items.map((e, i) => (
              <tr key={e.seq ?? `u${i}`} data-action={e.action}>
                <td>{when(e.time)}</td>
                <td>{e.principal?.name ?? 'system'}</td>
                <td>{e.action.replace(/^privateca:/, '')}</td>
                <td class="wrap">{e.resource}</td>
                <td>
                  <Badge status={e.outcome} tone={e.outcome === 'SUCCESS' ? 'ACTIVE' : 'REVOKED'} />
                </td>
                <td class="wrap">
                  <code>{JSON.stringify(e.details)}</code>
                </td>
              </tr>
            ))}
          </Table>
        ) : null}
        {pager(events.data?.nextCursor)}
      </section>
    </>
  );
}
