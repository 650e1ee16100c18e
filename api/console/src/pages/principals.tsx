import { useState } from 'preact/hooks';
import { ACTIONS } from '../../../../src/services/policy/actions.ts';
import { all, api, type Ca, type Decision, type Policy, type Principal, type Token } from '../api.ts';
import { navigate } from '../main.tsx';
import { Badge, CopyButton, Field, ProblemBanner, subjectText, Table, useActions, useAllowed, useLoad, useSubmit, when } from '../ui.tsx';

/** The policies a principal may be given; none to pick for a caller who may not list them. */
const policiesToPick = () => all<Policy>('/v1/policies').catch(() => [] as Policy[]);

/** Policy checkboxes: which of the policies are attached. */
function PolicyPicker({ policies, chosen, onChange, disabled }: { policies: Policy[]; chosen: string[]; onChange: (ids: string[]) => void; disabled?: boolean }) {
  return (
    <fieldset class="checks">
      <legend>Attached policies</legend>
      {policies.map((p) => (
        <label key={p.id} class="check">
          <input
            type="checkbox"
            disabled={disabled}
            checked={chosen.includes(p.id)}
            onChange={(e) => onChange(e.currentTarget.checked ? [...chosen, p.id] : chosen.filter((x) => x !== p.id))}
          />
          {p.name}
          {p.description ? <small class="hint"> {p.description}</small> : null}
        </label>
      ))}
    </fieldset>
  );
}

/** The principals, and a form to create one. */
export function PrincipalList() {
  const list = useLoad(() => all<Principal>('/v1/principals'), []);
  const policies = useLoad(policiesToPick, []);
  const [canCreate] = useAllowed([{ action: 'CreatePrincipal', resource: 'principal/*' }]) ?? [];
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const create = useSubmit(async () => {
    const p = await api<Principal>('POST', '/v1/principals', { name, description: description || undefined, policies: chosen });
    navigate(`/principals/${p.id}`);
  });
  const policyName = new Map((policies.data ?? []).map((p) => [p.id, p.name]));
  return (
    <section>
      <div class="heading">
        <h1 tabIndex={-1}>Principals</h1>
        {canCreate && !creating ? (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            New principal
          </button>
        ) : null}
      </div>
      {creating ? (
        <form class="card" onSubmit={create.submit} aria-labelledby="new-principal">
          <h2 id="new-principal">New principal</h2>
          <ProblemBanner error={create.error} />
          <Field id="principal-name" label="Name" hint="1 to 64 of A–Z a–z 0–9 . _ @ -, unique: a service or a person">
            <input id="principal-name" required pattern="[A-Za-z0-9._@\-]{1,64}" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-describedby="principal-name-hint" />
          </Field>
          <Field id="principal-description" label="Description">
            <input id="principal-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          </Field>
          <PolicyPicker policies={policies.data ?? []} chosen={chosen} onChange={setChosen} />
          <div class="actions">
            <button type="submit" class="primary" disabled={create.busy}>
              Create principal
            </button>
            <button type="button" onClick={() => setCreating(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      <ProblemBanner error={list.error} />
      {list.loading && !list.data ? <p class="loading">Loading…</p> : null}
      {list.data ? (
        <Table caption="Principals" columns={['Name', 'Status', 'Policies', 'Description']}>
          {list.data.map((p) => (
            <tr key={p.id}>
              <td>
                <a href={`#/principals/${p.id}`}>{p.name}</a>
              </td>
              <td>
                <Badge status={p.status} />
              </td>
              <td>{p.policies.map((id) => policyName.get(id) ?? id).join(', ') || '—'}</td>
              <td>{p.description ?? ''}</td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}

/** One principal: status, policies, tokens, and what it may do. */
export function PrincipalPage({ id }: { id: string }) {
  const principal = useLoad(() => api<Principal>('GET', `/v1/principals/${id}`), [id]);
  const policies = useLoad(policiesToPick, []);
  const r = `principal/${id}`;
  const [canUpdate, canDelete, canListTokens, canCreateToken, canDeleteToken, canSimulate] =
    useAllowed([
      { action: 'UpdatePrincipal', resource: r },
      { action: 'DeletePrincipal', resource: r },
      { action: 'ListTokens', resource: r },
      { action: 'CreateToken', resource: r },
      { action: 'DeleteToken', resource: r },
      { action: 'SimulatePrincipalPolicy', resource: r },
    ]) ?? [];
  const { act, banners, fail } = useActions(principal.reload);
  const [chosen, setChosen] = useState<string[]>();


  if (principal.error) return <ProblemBanner error={principal.error} />;
  if (!principal.data) return <p class="loading">Loading…</p>;
  const p = principal.data;
  const attached = chosen ?? p.policies;
  const changed = chosen !== undefined && JSON.stringify([...chosen].sort()) !== JSON.stringify([...p.policies].sort());
  return (
    <>
      <section>
        <div class="heading">
          <h1 tabIndex={-1}>{p.name}</h1>
          <Badge status={p.status} />
        </div>
        {banners}
        <div class="actions">
          {canUpdate && p.status === 'ACTIVE' ? (
            <button type="button" onClick={() => act(() => api('PATCH', `/v1/principals/${id}`, { status: 'DISABLED' }), 'The principal is disabled: its tokens are refused on every node within 5 seconds.')}>
              Disable
            </button>
          ) : null}
          {canUpdate && p.status === 'DISABLED' ? (
            <button type="button" onClick={() => act(() => api('PATCH', `/v1/principals/${id}`, { status: 'ACTIVE' }), 'The principal is active again.')}>
              Enable
            </button>
          ) : null}
          {canDelete ? (
            <button
              type="button"
              class="danger"
              onClick={() => {
                if (confirm(`Delete the principal "${p.name}" and all its tokens?`))
                  void api('DELETE', `/v1/principals/${id}`).then(() => navigate('/principals'), fail);
              }}
            >
              Delete
            </button>
          ) : null}
        </div>
        <dl class="facts">
          <dt>Principal id</dt>
          <dd>
            <code>{p.id}</code>
          </dd>
          <dt>Description</dt>
          <dd>{p.description ?? '—'}</dd>
          <dt>Tags</dt>
          <dd>{Object.entries(p.tags ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</dd>
          <dt>Rate limit</dt>
          <dd>{p.rateLimit ? `${p.rateLimit.requestsPerSecond}/s, burst ${p.rateLimit.burst ?? Math.ceil(p.rateLimit.requestsPerSecond)}${p.rateLimit.perCa ? ', per CA' : ''}` : 'none'}</dd>
          <dt>Created</dt>
          <dd>{when(p.createdAt)}</dd>
        </dl>
      </section>
      <section aria-labelledby="policies-heading">
        <h2 id="policies-heading">Policies</h2>
        <PolicyPicker policies={policies.data ?? []} chosen={attached} onChange={setChosen} disabled={!canUpdate} />
        <p class="hint">
          {(policies.data ?? [])
            .filter((x) => attached.includes(x.id))
            .map((x) => (
              <a key={x.id} href={`#/policies/${x.id}`} class="chip">
                {x.name}
              </a>
            ))}
        </p>
        {canUpdate ? (
          <div class="actions">
            <button type="button" class="primary" disabled={!changed} onClick={() => act(() => api('PATCH', `/v1/principals/${id}`, { policies: attached }).then(() => setChosen(undefined)), 'The policies are saved; they apply on every node within 5 seconds.')}>
              Save policies
            </button>
          </div>
        ) : null}
      </section>
      {canListTokens ? <Tokens principalId={id} canCreate={!!canCreateToken} canDelete={!!canDeleteToken} /> : null}
      {canSimulate ? <WouldItBeAllowed principal={p} /> : null}
    </>
  );
}

function Tokens({ principalId, canCreate, canDelete }: { principalId: string; canCreate: boolean; canDelete: boolean }) {
  const tokens = useLoad(() => api<{ items: Token[] }>('GET', `/v1/principals/${principalId}/tokens`), [principalId]);
  const [description, setDescription] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const [fresh, setFresh] = useState<{ id: string; token: string }>();
  const [problem, setProblem] = useState<unknown>();
  const create = useSubmit(async () => {
    const t = await api<{ id: string; token: string }>('POST', `/v1/principals/${principalId}/tokens`, {
      description: description || undefined,
      expiresAt: expiresAt ? new Date(`${expiresAt}T00:00:00Z`).toISOString() : undefined,
    });
    setFresh(t);
    setDescription('');
    setExpiresAt('');
    tokens.reload();
  });
  const remove = async (t: Token) => {
    if (!confirm(`Delete the token ${t.description ? `"${t.description}"` : t.id}? Requests with it are refused within 5 seconds.`)) return;
    setProblem(undefined);
    try {
      await api('DELETE', `/v1/principals/${principalId}/tokens/${t.id}`);
      if (fresh?.id === t.id) setFresh(undefined);
      tokens.reload();
    } catch (e) {
      setProblem(e);
    }
  };
  return (
    <section aria-labelledby="tokens-heading">
      <h2 id="tokens-heading">Tokens</h2>
      {fresh ? (
        <div class="banner warn" role="status">
          <strong>The new token, shown this once.</strong>
          <span>Copy it now: the service keeps only its hash.</span>
          <code class="secret" data-testid="new-token">
            {fresh.token}
          </code>
          <CopyButton text={fresh.token} label="Copy token" />
        </div>
      ) : null}
      <ProblemBanner error={problem ?? tokens.error} />
      {tokens.data?.items.length ? (
        <Table caption="Tokens" columns={['Description', 'Created', 'Expires', 'Last used', canDelete ? <span class="visually-hidden">Actions</span> : null]}>
          {tokens.data.items.map((t) => (
            <tr key={t.id}>
              <td>{t.description || <code>{t.id}</code>}</td>
              <td>{when(t.createdAt)}</td>
              <td>{t.expiresAt ? when(t.expiresAt) : 'never'}</td>
              <td>{t.lastUsedAt ? when(t.lastUsedAt) : 'never'}</td>
              {canDelete ? (
                <td>
                  <button type="button" class="danger" onClick={() => remove(t)} aria-label={`Delete token ${t.description || t.id}`}>
                    Delete
                  </button>
                </td>
              ) : null}
            </tr>
          ))}
        </Table>
      ) : tokens.data ? (
        <p>No tokens.</p>
      ) : null}
      {canCreate ? (
        <form class="inline-form" onSubmit={create.submit} aria-label="New token">
          <ProblemBanner error={create.error} />
          <Field id="token-description" label="Token description">
            <input id="token-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          </Field>
          <Field id="token-expires" label="Expires on (UTC, optional)">
            <input id="token-expires" type="date" value={expiresAt} onInput={(e) => setExpiresAt(e.currentTarget.value)} />
          </Field>
          <button type="submit" class="primary" disabled={create.busy}>
            Create token
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** Context lines `key=value` (a key given twice is a set): the condition keys a check adds. */
function contextOf(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at).trim();
    const value = line.slice(at + 1).trim();
    const had = out[key];
    out[key] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
  }
  return out;
}

/** "Would this be allowed?": POST /v1/authorize with principalId, for the principal shown. */
function WouldItBeAllowed({ principal }: { principal: Principal }) {
  const cas = useLoad(() => all<Ca>('/v1/cas').catch(() => [] as Ca[]), []);
  const [action, setAction] = useState('IssueCertificate');
  const [resource, setResource] = useState('');
  const [context, setContext] = useState('privateca:Template=EndEntityServerAuthCertificate/V1\nprivateca:DnsNames=api.example.internal');
  const [result, setResult] = useState<Decision>();
  const check = useSubmit(async () => {
    setResult(undefined);
    const ctx = contextOf(context);
    const r = await api<{ results: Decision[] }>('POST', '/v1/authorize', {
      principalId: principal.id,
      checks: [{ action: `privateca:${action}`, resource: resource || 'ca/*', ...(Object.keys(ctx).length ? { context: ctx } : {}) }],
    });
    setResult(r.results[0]);
  });
  return (
    <section aria-labelledby="simulate-heading">
      <h2 id="simulate-heading">Would this be allowed?</h2>
      <p class="hint">Evaluates {principal.name}'s policies as the service would, without doing anything.</p>
      <form class="card" onSubmit={check.submit}>
        <Field id="sim-action" label="Action">
          <select id="sim-action" value={action} onChange={(e) => setAction(e.currentTarget.value)}>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                privateca:{a}
              </option>
            ))}
          </select>
        </Field>
        <Field id="sim-resource" label="Resource" hint="ca/{caId}, ca/*, principal/{id}, policy/{id} or audit">
          <input id="sim-resource" list="sim-resources" placeholder="ca/*" value={resource} onInput={(e) => setResource(e.currentTarget.value)} aria-describedby="sim-resource-hint" />
          <datalist id="sim-resources">
            {(cas.data ?? []).map((c) => (
              <option key={c.id} value={`ca/${c.id}`}>
                {subjectText(c.subject)}
              </option>
            ))}
            <option value="audit" />
            <option value={`principal/${principal.id}`} />
          </datalist>
        </Field>
        <Field id="sim-context" label="Condition keys (one key=value a line; a key given twice is a set)">
          <textarea id="sim-context" rows={4} spellcheck={false} value={context} onInput={(e) => setContext(e.currentTarget.value)} />
        </Field>
        <ProblemBanner error={check.error} />
        <button type="submit" class="primary" disabled={check.busy}>
          Check
        </button>
      </form>
      {result ? (
        <div class={`banner ${result.allowed ? 'ok' : 'error'}`} role="status" data-testid="simulation">
          <strong>{result.allowed ? 'Allowed' : 'Denied'}</strong>
          <span>
            {result.reason === 'explicit_deny' ? 'An explicit Deny matches' : result.reason === 'no_allow' ? 'No Allow statement matches' : 'An Allow statement matches'}
            {result.statement ? ` (statement ${result.statement}${result.policy ? ` of ${result.policy}` : ''})` : ''}. {result.detail}
          </span>
        </div>
      ) : null}
    </section>
  );
}
