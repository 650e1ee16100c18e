import { useState } from 'preact/hooks';
import { api, ApiError, KEY_ALGORITHMS, type Ca } from '../api.ts';
import { navigate } from '../main.tsx';
import { Banner, CopyButton, DownloadButton, Field, ProblemBanner, describedBy, subjectText, useLoad, useSubmit } from '../ui.tsx';

/*
 * Create a CA step by step: type → subject → key → revocation → validity (ROOT) → tags → review →
 * create. A SUBORDINATE CA then shows its CSR to copy or download, and takes the signed certificate
 * and chain back; the API's import checks are shown in words, beside the field they concern.
 */

const SUBJECT_FIELDS = [
  ['commonName', 'Common name', 'The CA\'s name, e.g. "Example Issuing CA 1"'],
  ['organization', 'Organization', ''],
  ['organizationalUnit', 'Organizational unit', ''],
  ['country', 'Country', 'Two letters, e.g. DE'],
  ['state', 'State or province', ''],
  ['locality', 'Locality', ''],
] as const;

interface Draft {
  type: 'ROOT' | 'SUBORDINATE';
  subject: Record<string, string>;
  keyAlgorithm: string;
  keyStore: string;
  crl: { enabled: boolean; baseUrl: string; schedule: string; partitioned: boolean };
  ocsp: { enabled: boolean; baseUrl: string };
  validityDays: string;
  tags: string;
}

const STEPS = ['Type', 'Subject', 'Key', 'Revocation', 'Validity', 'Tags', 'Review'] as const;

function request(d: Draft) {
  const subject = Object.fromEntries(Object.entries(d.subject).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, v.trim()]));
  const tags = Object.fromEntries(
    d.tags
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const i = l.indexOf('=');
        return i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
      }),
  );
  const crl = d.crl.enabled
    ? { enabled: true, ...(d.crl.baseUrl ? { baseUrl: d.crl.baseUrl } : {}), ...(d.crl.schedule ? { schedule: d.crl.schedule } : {}), ...(d.crl.partitioned ? { partitioned: true } : {}) }
    : { enabled: false };
  const ocsp = d.ocsp.enabled ? { enabled: true, ...(d.ocsp.baseUrl ? { baseUrl: d.ocsp.baseUrl } : {}) } : { enabled: false };
  return {
    type: d.type,
    subject,
    keyAlgorithm: d.keyAlgorithm,
    keyStore: { type: d.keyStore },
    revocation: { crl, ocsp },
    ...(d.type === 'ROOT' && d.validityDays ? { validityDays: Number(d.validityDays) } : {}),
    ...(Object.keys(tags).length ? { tags } : {}),
  };
}

/** The API's validation errors by field: `/subject/commonName` → "subject.commonName". */
function fieldErrors(e: unknown): Record<string, string> {
  if (!(e instanceof ApiError) || !e.problem.errors) return {};
  return Object.fromEntries(e.problem.errors.map((x) => [x.path.replace(/^\//, '').replace(/\//g, '.'), x.message]));
}

/** Which step holds a field, so that an error from the API takes the user back to it. */
const STEP_OF: [RegExp, (typeof STEPS)[number]][] = [
  [/^type/, 'Type'],
  [/^subject/, 'Subject'],
  [/^key/, 'Key'],
  [/^revocation/, 'Revocation'],
  [/^validity/, 'Validity'],
  [/^tags/, 'Tags'],
];

export function CreateCa() {
  const [step, setStep] = useState(0);
  const [d, setD] = useState<Draft>({
    type: 'ROOT',
    subject: { commonName: '' },
    keyAlgorithm: 'EC_prime256v1',
    keyStore: 'software',
    crl: { enabled: true, baseUrl: '', schedule: '', partitioned: false },
    ocsp: { enabled: false, baseUrl: '' },
    validityDays: '3650',
    tags: '',
  });
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<Ca>();
  const [busy, setBusy] = useState(false);
  const [localError, setLocalError] = useState<string>();
  const errors = fieldErrors(error);
  const set = (patch: Partial<Draft>) => setD({ ...d, ...patch });
  const steps = STEPS.filter((s) => s !== 'Validity' || d.type === 'ROOT');
  const name = steps[step]!;

  if (created) return created.type === 'SUBORDINATE' && created.status === 'PENDING_CERTIFICATE' ? <SubordinateSetup ca={created} onActive={setCreated} /> : <Done ca={created} />;

  const local = (): string | undefined => {
    if (name === 'Subject' && !d.subject.commonName?.trim()) return 'A common name is needed.';
    if (name === 'Subject' && d.subject.country && !/^[A-Z]{2}$/.test(d.subject.country)) return 'The country is two capital letters (ISO 3166), e.g. DE.';
    if (name === 'Validity' && !(Number(d.validityDays) >= 1 && Number(d.validityDays) <= 36500)) return 'The validity is 1 to 36500 days.';
    return undefined;
  };

  const create = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setCreated(await api<Ca>('POST', '/v1/cas', request(d)));
    } catch (e) {
      setError(e);
      const first = Object.keys(fieldErrors(e))[0];
      const back = first ? STEP_OF.find(([re]) => re.test(first))?.[1] : undefined;
      if (back && steps.includes(back)) setStep(steps.indexOf(back));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>Create a certificate authority</h1>
      <ol class="steps" aria-label="Steps">
        {steps.map((s, i) => (
          <li key={s} aria-current={i === step ? 'step' : undefined} class={i < step ? 'done' : undefined}>
            {s}
          </li>
        ))}
      </ol>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const problem = local();
          setLocalError(problem);
          if (problem) return;
          if (name === 'Review') void create();
          else setStep(step + 1);
        }}
      >
        <h2>
          Step {step + 1} of {steps.length}: {name}
        </h2>
        <ProblemBanner error={error} />
        {localError ? (
          <p class="field-error" role="alert">
            {localError}
          </p>
        ) : null}
        {name === 'Type' ? (
          <fieldset>
            <legend>What kind of CA?</legend>
            {(
              [
                ['ROOT', 'Root CA', 'Self-signed: the top of a hierarchy, kept offline in spirit and used to sign subordinates.'],
                ['SUBORDINATE', 'Subordinate CA', 'Signed by another CA (here or elsewhere): you get a CSR to have signed, then import the certificate.'],
              ] as const
            ).map(([value, label, hint]) => (
              <label class="choice" key={value}>
                <input type="radio" name="type" value={value} checked={d.type === value} onChange={() => set({ type: value })} />
                <span>
                  <strong>{label}</strong> <small>{hint}</small>
                </span>
              </label>
            ))}
          </fieldset>
        ) : null}
        {name === 'Subject'
          ? SUBJECT_FIELDS.map(([key, label, hint]) => {
              const id = `subject-${key}`;
              const err = errors[`subject.${key}`];
              return (
                <Field id={id} label={label} hint={hint || undefined} error={err} key={key}>
                  <input
                    id={id}
                    value={d.subject[key] ?? ''}
                    required={key === 'commonName'}
                    aria-invalid={err ? true : undefined}
                    aria-describedby={describedBy(id, hint || undefined, err)}
                    onInput={(e) => set({ subject: { ...d.subject, [key]: e.currentTarget.value } })}
                  />
                </Field>
              );
            })
          : null}
        {name === 'Key' ? (
          <>
            <Field id="key-algorithm" label="Key algorithm" error={errors.keyAlgorithm}>
              <select id="key-algorithm" value={d.keyAlgorithm} onChange={(e) => set({ keyAlgorithm: e.currentTarget.value })}>
                {KEY_ALGORITHMS.map((k) => (
                  <option key={k}>{k}</option>
                ))}
              </select>
            </Field>
            <Field id="key-store" label="Key store" hint="Where the CA key is made and kept; it never leaves it." error={errors['keyStore.type'] ?? errors.keyStore}>
              <select id="key-store" value={d.keyStore} aria-describedby="key-store-hint" onChange={(e) => set({ keyStore: e.currentTarget.value })}>
                <option value="software">Software (encrypted at rest)</option>
                <option value="pkcs11">PKCS#11 HSM</option>
                <option value="aws-kms">AWS KMS</option>
              </select>
            </Field>
          </>
        ) : null}
        {name === 'Revocation' ? (
          <>
            <fieldset>
              <legend>CRL</legend>
              <label class="check">
                <input type="checkbox" checked={d.crl.enabled} onChange={(e) => set({ crl: { ...d.crl, enabled: e.currentTarget.checked } })} /> Publish CRLs
              </label>
              {d.crl.enabled ? (
                <>
                  <Field id="crl-base" label="CRL base URL" hint="Optional: where clients fetch CRLs; the service's own URL otherwise." error={errors['revocation.crl.baseUrl']}>
                    <input id="crl-base" type="url" value={d.crl.baseUrl} aria-describedby={describedBy('crl-base', 'x', errors['revocation.crl.baseUrl'])} onInput={(e) => set({ crl: { ...d.crl, baseUrl: e.currentTarget.value } })} />
                  </Field>
                  <Field id="crl-schedule" label="Schedule (cron)" hint="Optional, e.g. 0 * * * * for hourly." error={errors['revocation.crl.schedule']}>
                    <input id="crl-schedule" value={d.crl.schedule} aria-describedby={describedBy('crl-schedule', 'x', errors['revocation.crl.schedule'])} onInput={(e) => set({ crl: { ...d.crl, schedule: e.currentTarget.value } })} />
                  </Field>
                  <label class="check">
                    <input type="checkbox" checked={d.crl.partitioned} onChange={(e) => set({ crl: { ...d.crl, partitioned: e.currentTarget.checked } })} /> Partitioned CRLs (needs a base URL)
                  </label>
                </>
              ) : null}
            </fieldset>
            <fieldset>
              <legend>OCSP</legend>
              <label class="check">
                <input type="checkbox" checked={d.ocsp.enabled} onChange={(e) => set({ ocsp: { ...d.ocsp, enabled: e.currentTarget.checked } })} /> Answer OCSP
              </label>
              {d.ocsp.enabled ? (
                <Field id="ocsp-base" label="OCSP base URL" hint="Optional; the service's own URL otherwise." error={errors['revocation.ocsp.baseUrl']}>
                  <input id="ocsp-base" type="url" value={d.ocsp.baseUrl} aria-describedby={describedBy('ocsp-base', 'x', errors['revocation.ocsp.baseUrl'])} onInput={(e) => set({ ocsp: { ...d.ocsp, baseUrl: e.currentTarget.value } })} />
                </Field>
              ) : null}
            </fieldset>
          </>
        ) : null}
        {name === 'Validity' ? (
          <Field id="validity" label="Validity (days)" hint="How long the root certificate is valid." error={errors.validityDays}>
            <input id="validity" type="number" min={1} max={36500} value={d.validityDays} aria-describedby="validity-hint" onInput={(e) => set({ validityDays: e.currentTarget.value })} />
          </Field>
        ) : null}
        {name === 'Tags' ? (
          <Field id="tags" label="Tags" hint="One key=value per line; policies can match them (privateca:ResourceTag/…)." error={Object.entries(errors).find(([k]) => k.startsWith('tags'))?.[1]}>
            <textarea id="tags" rows={4} value={d.tags} aria-describedby="tags-hint" onInput={(e) => set({ tags: e.currentTarget.value })} />
          </Field>
        ) : null}
        {name === 'Review' ? (
          <dl class="facts">
            <dt>Type</dt>
            <dd>{d.type}</dd>
            <dt>Subject</dt>
            <dd>{Object.entries(request(d).subject).map(([k, v]) => `${k}=${v}`).join(', ')}</dd>
            <dt>Key</dt>
            <dd>
              {d.keyAlgorithm} in {d.keyStore}
            </dd>
            <dt>CRL</dt>
            <dd>{d.crl.enabled ? `on${d.crl.baseUrl ? `, ${d.crl.baseUrl}` : ''}${d.crl.schedule ? `, ${d.crl.schedule}` : ''}${d.crl.partitioned ? ', partitioned' : ''}` : 'off'}</dd>
            <dt>OCSP</dt>
            <dd>{d.ocsp.enabled ? `on${d.ocsp.baseUrl ? `, ${d.ocsp.baseUrl}` : ''}` : 'off'}</dd>
            {d.type === 'ROOT' ? (
              <>
                <dt>Validity</dt>
                <dd>{d.validityDays} days</dd>
              </>
            ) : null}
            <dt>Tags</dt>
            <dd>{d.tags.trim() ? d.tags.trim().split('\n').join(', ') : '—'}</dd>
          </dl>
        ) : null}
        <div class="actions">
          <button type="button" disabled={step === 0} onClick={() => (setLocalError(undefined), setStep(step - 1))}>
            Back
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {name === 'Review' ? 'Create CA' : 'Next'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** What an import check's code means, in words, and which field it concerns. */
const IMPORT_PROBLEMS: Record<string, [field: 'certificate' | 'chain', words: string]> = {
  invalid_certificate: ['certificate', 'Paste exactly one PEM certificate here: the one signed for this CA.'],
  certificate_key_mismatch: ['certificate', 'This certificate is for another key: it was not signed from this CA\'s CSR.'],
  not_a_ca_certificate: ['certificate', 'This is not a CA certificate: it needs basicConstraints CA:TRUE and keyUsage keyCertSign.'],
  certificate_not_valid_now: ['certificate', 'This certificate is not valid now (look at its validity dates).'],
  chain_invalid: ['chain', 'The chain does not lead from this certificate to a self-signed root.'],
};

function SubordinateSetup({ ca, onActive }: { ca: Ca; onActive: (ca: Ca) => void }) {
  const csr = useLoad(() => api<{ csr: string }>('GET', `/v1/cas/${ca.id}/csr`).then((r) => r.csr), [ca.id]);
  const [certificate, setCertificate] = useState('');
  const [chain, setChain] = useState('');
  const { busy, error, submit } = useSubmit(async () => onActive(await api<Ca>('POST', `/v1/cas/${ca.id}/certificate`, { certificate, chain })));
  const code = error instanceof ApiError ? error.code : undefined;
  const known = code ? IMPORT_PROBLEMS[code] : undefined;
  const detail = error instanceof ApiError ? error.problem.detail : undefined;
  const fieldError = (f: 'certificate' | 'chain') => (known?.[0] === f ? `${known[1]} (${detail})` : undefined);
  const readFile = (f: File | undefined, into: (s: string) => void) => f?.text().then(into);
  return (
    <section>
      <h1 tabIndex={-1}>Set up {subjectText(ca.subject)}</h1>
      <Banner kind="info">The CA is created and waits for its certificate. Have the CSR below signed by the parent CA, then paste the certificate and its chain.</Banner>
      <h2>1. The CSR</h2>
      {csr.error ? <ProblemBanner error={csr.error} /> : null}
      <pre class="pem" aria-label="CSR" data-testid="csr">
        {csr.data ?? 'Loading…'}
      </pre>
      {csr.data ? (
        <div class="actions">
          <CopyButton text={csr.data} label="Copy CSR" />
          <DownloadButton text={csr.data} filename={`${ca.subject.commonName}.csr`} label="Download CSR" type="application/pkcs10" />
        </div>
      ) : null}
      <h2>2. The signed certificate and its chain</h2>
      <form
        onSubmit={submit}
      >
        {!known ? <ProblemBanner error={error} /> : null}
        <Field id="import-certificate" label="Certificate (PEM)" error={fieldError('certificate')}>
          <textarea id="import-certificate" rows={8} required value={certificate} aria-invalid={fieldError('certificate') ? true : undefined} aria-describedby={describedBy('import-certificate', undefined, fieldError('certificate'))} onInput={(e) => setCertificate(e.currentTarget.value)} />
        </Field>
        <Field id="import-certificate-file" label="…or upload the certificate file">
          <input id="import-certificate-file" type="file" accept=".pem,.crt,.cer" onChange={(e) => readFile(e.currentTarget.files?.[0], setCertificate)} />
        </Field>
        <Field id="import-chain" label="Chain (PEM): the issuer first, the root last" error={fieldError('chain')}>
          <textarea id="import-chain" rows={8} required value={chain} aria-invalid={fieldError('chain') ? true : undefined} aria-describedby={describedBy('import-chain', undefined, fieldError('chain'))} onInput={(e) => setChain(e.currentTarget.value)} />
        </Field>
        <Field id="import-chain-file" label="…or upload the chain file">
          <input id="import-chain-file" type="file" accept=".pem,.crt,.cer" onChange={(e) => readFile(e.currentTarget.files?.[0], setChain)} />
        </Field>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Import and activate
          </button>
        </div>
      </form>
    </section>
  );
}

function Done({ ca }: { ca: Ca }) {
  return (
    <section>
      <h1 tabIndex={-1}>{subjectText(ca.subject)}</h1>
      <Banner kind="ok">
        The CA is <strong>{ca.status}</strong>
        {ca.status === 'ACTIVE' ? ' and issues certificates.' : '.'}
      </Banner>
      {ca.warnings?.length ? <Banner kind="warn">{ca.warnings.join(' ')}</Banner> : null}
      <div class="actions">
        <button type="button" class="primary" onClick={() => navigate(`/cas/${ca.id}`)}>
          Open the CA
        </button>
      </div>
    </section>
  );
}
