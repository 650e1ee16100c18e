import { useState } from 'preact/hooks';
import { api, ApiError, fromBase64, KEY_ALGORITHMS } from '../api.ts';
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
  privateKey?: string;
  pkcs12?: string;
}

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);


/**
 * Request a certificate (POST /v1/cas/{caId}/certificates) from a pasted or uploaded CSR, or with a
 * key the service makes (keyGeneration) for a device that cannot: the key then comes back once, as
 * encrypted PKCS#8 and as a PKCS#12 download, and is gone when the page is left.
 */
export function IssueCertificate({ caId }: { caId: string }) {
  const [mode, setMode] = useState<'csr' | 'generate'>('csr');
  const [csr, setCsr] = useState('');
  const [gen, setGen] = useState({ keyAlgorithm: 'EC_prime256v1', commonName: '', dnsNames: '', ipAddresses: '', passphrase: '', confirm: '' });
  const [template, setTemplate] = useState<string>('EndEntityServerAuthCertificate/V1');
  const [days, setDays] = useState('90');
  const [issued, setIssued] = useState<Issued>();
  const [mismatch, setMismatch] = useState(false);
  const { busy, error, submit } = useSubmit(async () => {
    const validity = { days: Number(days) };
    if (mode === 'csr') return setIssued(await api<Issued>('POST', `/v1/cas/${caId}/certificates`, { csr, template, validity }));
    const keyGeneration = {
      keyAlgorithm: gen.keyAlgorithm,
      passphrase: gen.passphrase,
      ...(gen.commonName.trim() ? { subject: { commonName: gen.commonName.trim() } } : {}),
      subjectAlternativeNames: { ...(list(gen.dnsNames).length ? { dnsNames: list(gen.dnsNames) } : {}), ...(list(gen.ipAddresses).length ? { ipAddresses: list(gen.ipAddresses) } : {}) },
    };
    setIssued(await api<Issued>('POST', `/v1/cas/${caId}/certificates`, { keyGeneration, template, validity }));
  });
  const passphraseError = mismatch ? 'The two passphrases differ.' : error instanceof ApiError && /passphrase/.test(JSON.stringify(error.problem.errors ?? '')) ? 'At least 12 characters.' : undefined;
  const csrError = error instanceof ApiError && /csr|key|san|subject/i.test(error.code ?? '') ? (error.problem.detail ?? error.message) : undefined;
  const validityError = error instanceof ApiError && /validity/i.test(error.code ?? '') ? (error.problem.detail ?? error.message) : undefined;
  if (issued) {
    return (
      <section>
        <h1 tabIndex={-1}>Certificate issued</h1>
        <Banner kind="ok">
          Serial <code>{issued.serial}</code>. <a href={`#/cas/${caId}/certificates/${issued.serial}`}>Open its page</a>.
        </Banner>
        {issued.privateKey ? (
          <>
            <Banner kind="warn">
              The key was made for this request and is shown only now: the service keeps no copy. Download it before you leave this page; both files open with the passphrase.
            </Banner>
            <div class="actions">
              <DownloadButton text={fromBase64(issued.pkcs12!)} filename={`${issued.serial}.p12`} label="Download PKCS#12" type="application/x-pkcs12" />
              <DownloadButton text={issued.privateKey} filename={`${issued.serial}.key`} label="Download encrypted key (PKCS#8)" />
            </div>
          </>
        ) : null}
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
        onSubmit={(e) => {
          const differ = mode === 'generate' && gen.passphrase !== gen.confirm;
          setMismatch(differ);
          if (differ) return e.preventDefault();
          submit(e);
        }}
      >
        {!csrError && !validityError ? <ProblemBanner error={error} /> : null}
        <fieldset>
          <legend>The key</legend>
          <label class="choice">
            <input type="radio" name="mode" checked={mode === 'csr'} onChange={() => setMode('csr')} /> From a CSR (the device made its key)
          </label>
          <label class="choice">
            <input type="radio" name="mode" checked={mode === 'generate'} onChange={() => setMode('generate')} /> Generate the key here (for a device that cannot)
          </label>
        </fieldset>
        {mode === 'csr' ? (
          <>
            <Field id="issue-csr" label="CSR (PEM)" hint="The subject and names come from the CSR." error={csrError}>
              <textarea id="issue-csr" rows={10} required value={csr} aria-invalid={csrError ? true : undefined} aria-describedby={describedBy('issue-csr', 'x', csrError)} onInput={(e) => setCsr(e.currentTarget.value)} />
            </Field>
            <Field id="issue-csr-file" label="…or upload the CSR file">
              <input id="issue-csr-file" type="file" accept=".csr,.pem,.req" onChange={(e) => e.currentTarget.files?.[0]?.text().then(setCsr)} />
            </Field>
          </>
        ) : (
          <>
            <Field id="gen-algorithm" label="Key algorithm">
              <select id="gen-algorithm" value={gen.keyAlgorithm} onChange={(e) => setGen({ ...gen, keyAlgorithm: e.currentTarget.value })}>
                {KEY_ALGORITHMS.map((k) => (
                  <option key={k}>{k}</option>
                ))}
              </select>
            </Field>
            <Field id="gen-cn" label="Common name" error={csrError}>
              <input id="gen-cn" value={gen.commonName} aria-describedby={describedBy('gen-cn', undefined, csrError)} onInput={(e) => setGen({ ...gen, commonName: e.currentTarget.value })} />
            </Field>
            <Field id="gen-dns" label="DNS names" hint="Separated by spaces or commas">
              <input id="gen-dns" value={gen.dnsNames} aria-describedby="gen-dns-hint" onInput={(e) => setGen({ ...gen, dnsNames: e.currentTarget.value })} />
            </Field>
            <Field id="gen-ip" label="IP addresses" hint="Separated by spaces or commas">
              <input id="gen-ip" value={gen.ipAddresses} aria-describedby="gen-ip-hint" onInput={(e) => setGen({ ...gen, ipAddresses: e.currentTarget.value })} />
            </Field>
            <Field id="gen-pass" label="Passphrase" hint="At least 12 characters; it protects the key and the PKCS#12, and is not kept." error={passphraseError}>
              <input id="gen-pass" type="password" autoComplete="new-password" minLength={12} required value={gen.passphrase} aria-describedby={describedBy('gen-pass', 'x', passphraseError)} onInput={(e) => setGen({ ...gen, passphrase: e.currentTarget.value })} />
            </Field>
            <Field id="gen-pass2" label="Passphrase again">
              <input id="gen-pass2" type="password" autoComplete="new-password" required value={gen.confirm} onInput={(e) => setGen({ ...gen, confirm: e.currentTarget.value })} />
            </Field>
          </>
        )}
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
