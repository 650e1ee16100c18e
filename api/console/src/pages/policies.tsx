import { useMemo, useRef, useState } from 'preact/hooks';
import { all, api, ApiError, type Policy } from '../api.ts';
import { lineOfPointer, parseJson } from '../json-lines.ts';
import { navigate } from '../main.tsx';
import { Banner, Field, ProblemBanner, Table, useAllowed, useLoad, when } from '../ui.tsx';

/** The policies, built-in first. */
export function PolicyList() {
  const list = useLoad(() => all<Policy>('/v1/policies'), []);
  const [canCreate] = useAllowed([{ action: 'CreatePolicy', resource: 'policy/*' }]) ?? [];
  const items = [...(list.data ?? [])].sort((a, b) => Number(b.builtIn) - Number(a.builtIn) || a.name.localeCompare(b.name));
  return (
    <section>
      <div class="heading">
        <h1 tabIndex={-1}>Policies</h1>
        {canCreate ? (
          <a class="button primary" href="#/policies/new">
            New policy
          </a>
        ) : null}
      </div>
      <ProblemBanner error={list.error} />
      {list.loading && !list.data ? <p class="loading">Loading…</p> : null}
      {list.data ? (
        <Table caption="Policies" columns={['Name', 'Description', 'Statements', 'Updated']}>
          {items.map((p) => (
            <tr key={p.id}>
              <td>
                <a href={`#/policies/${p.id}`}>{p.name}</a> {p.builtIn ? <span class="badge muted">built in</span> : null}
              </td>
              <td>{p.description ?? ''}</td>
              <td>{statementCount(p.document)}</td>
              <td>{when(p.updatedAt)}</td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}

const statementCount = (doc: unknown): number => {
  const s = (doc as { Statement?: unknown })?.Statement;
  return Array.isArray(s) ? s.length : s ? 1 : 0;
};

const TEMPLATE = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "IssueServerCertificates",
      "Effect": "Allow",
      "Action": "privateca:IssueCertificate",
      "Resource": "ca/*",
      "Condition": {
        "StringEquals": { "privateca:Template": "EndEntityServerAuthCertificate/V1" },
        "ForAllValues:StringLike": { "privateca:DnsNames": "*.example.internal" },
        "NumericLessThanEquals": { "privateca:ValidityDays": 90 }
      }
    }
  ]
}
`;

interface LineError {
  line?: number;
  path: string;
  message: string;
}

/** Create (id undefined) or edit a policy; the API's errors are shown at the line they concern. */
export function PolicyEditor({ id }: { id?: string }) {
  const existing = useLoad(() => (id ? api<Policy>('GET', `/v1/policies/${id}`) : Promise.resolve(undefined)), [id]);
  const [canChange, canDelete] =
    useAllowed(id ? [
      { action: 'UpdatePolicy', resource: `policy/${id}` },
      { action: 'DeletePolicy', resource: `policy/${id}` },
    ] : [{ action: 'CreatePolicy', resource: 'policy/*' }]) ?? [];
  if (existing.error) return <ProblemBanner error={existing.error} />;
  if (id && !existing.data) return <p class="loading">Loading…</p>;
  return <PolicyForm key={existing.data?.updatedAt ?? 'new'} policy={existing.data} canChange={!!canChange && !existing.data?.builtIn} canDelete={!!canDelete && !existing.data?.builtIn} saved={existing.reload} />;
}

function PolicyForm({ policy, canChange, canDelete, saved }: { policy?: Policy; canChange: boolean; canDelete: boolean; saved: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState(policy?.description ?? '');
  const [text, setText] = useState(policy ? JSON.stringify(policy.document, null, 2) + '\n' : TEMPLATE);
  const [errors, setErrors] = useState<LineError[]>([]);
  const [problem, setProblem] = useState<unknown>();
  const [message, setMessage] = useState<string>();
  const [busy, setBusy] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const lines = useMemo(() => text.split('\n').length, [text]);
  const badLines = new Set(errors.map((e) => e.line).filter((l): l is number => l !== undefined));

  const goTo = (line: number) => {
    const el = area.current;
    if (!el) return;
    const start = text.split('\n').slice(0, line - 1).join('\n').length + (line > 1 ? 1 : 0);
    el.focus();
    el.setSelectionRange(start, start + (text.split('\n')[line - 1]?.length ?? 0));
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setErrors([]);
    setProblem(undefined);
    setMessage(undefined);
    const parsed = parseJson(text);
    if ('problem' in parsed) {
      setErrors([{ line: parsed.problem.line, path: '', message: `This is not JSON: ${parsed.problem.message}` }]);
      return;
    }
    setBusy(true);
    try {
      if (policy) {
        await api('PUT', `/v1/policies/${policy.id}`, { description: description || undefined, document: parsed.value });
        setMessage('The policy is saved. It applies on every node within 5 seconds.');
        saved();
      } else {
        const created = await api<Policy>('POST', '/v1/policies', { name, description: description || undefined, document: parsed.value });
        navigate(`/policies/${created.id}`);
      }
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_policy' && err.problem.errors?.length) {
        setErrors(err.problem.errors.map((x) => ({ ...x, line: lineOfPointer(text, x.path) })));
      } else setProblem(err);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!policy || !confirm(`Delete the policy "${policy.name}"?`)) return;
    try {
      await api('DELETE', `/v1/policies/${policy.id}`);
      navigate('/policies');
    } catch (err) {
      setProblem(err);
    }
  };

  const readOnly = !!policy && !canChange;
  return (
    <section>
      <div class="heading">
        <h1 tabIndex={-1}>{policy ? policy.name : 'New policy'}</h1>
        {policy?.builtIn ? <span class="badge muted">built in</span> : null}
      </div>
      {policy?.builtIn ? <Banner kind="info">A built-in policy cannot be changed or deleted.</Banner> : null}
      {message ? <Banner kind="ok">{message}</Banner> : null}
      <ProblemBanner error={problem} />
      <form onSubmit={save} class="policy-form">
        {!policy ? (
          <Field id="policy-name" label="Name" hint="1 to 128 of A–Z a–z 0–9 . _ + = , @ -">
            <input id="policy-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} aria-describedby="policy-name-hint" />
          </Field>
        ) : null}
        <Field id="policy-description" label="Description">
          <input id="policy-description" value={description} readOnly={readOnly} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        <div class={`field${errors.length ? ' invalid' : ''}`}>
          <label for="policy-document">Policy document (JSON, as IAM's)</label>
          <div class="editor">
            <ol class="gutter" aria-hidden="true">
              {Array.from({ length: lines }, (_, i) => (
                <li key={i} class={badLines.has(i + 1) ? 'bad' : undefined}>
                  {i + 1}
                </li>
              ))}
            </ol>
            <textarea
              id="policy-document"
              ref={area}
              rows={lines + 1}
              spellcheck={false}
              readOnly={readOnly}
              value={text}
              aria-invalid={errors.length > 0}
              aria-describedby={errors.length ? 'policy-document-error' : undefined}
              onInput={(e) => {
                setText(e.currentTarget.value);
              }}
            />
          </div>
          {errors.length ? (
            <ul id="policy-document-error" class="field-error line-errors" role="alert">
              {errors.map((x, i) => (
                <li key={i}>
                  {x.line !== undefined ? (
                    <button type="button" class="link" onClick={() => goTo(x.line!)}>
                      Line {x.line}
                    </button>
                  ) : null}{' '}
                  {x.path ? <code>{x.path}</code> : null} {x.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
        <div class="actions">
          {!readOnly ? (
            <button type="submit" class="primary" disabled={busy || (!policy && !canChange)}>
              {policy ? 'Save policy' : 'Create policy'}
            </button>
          ) : null}
          {policy && canDelete ? (
            <button type="button" class="danger" onClick={remove}>
              Delete
            </button>
          ) : null}
          <a href="#/policies">Back to policies</a>
        </div>
      </form>
    </section>
  );
}
