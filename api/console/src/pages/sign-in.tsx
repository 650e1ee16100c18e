import { useState } from 'preact/hooks';
import { api, token } from '../api.ts';
import type { Me } from '../main.tsx';
import { Field, ProblemBanner, useSubmit } from '../ui.tsx';

/** Sign-in with an API token: checked with GET /v1/me before it is kept (in sessionStorage). */
export function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [value, setValue] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    const me = await api<Me>('GET', '/v1/me', undefined, { token: value.trim() });
    token.set(value.trim());
    setValue('');
    onSignedIn(me);
  });
  return (
    <main id="main" class="sign-in">
      <h1 tabIndex={-1}>Sign in to privateca</h1>
      <form
        onSubmit={submit}
      >
        <ProblemBanner error={error} />
        <Field id="token" label="API token" hint="A token of your principal (pca_…). It is kept in this tab only, until you sign out or close it.">
          <input id="token" type="password" autoComplete="off" required value={value} onInput={(e) => setValue(e.currentTarget.value)} aria-describedby="token-hint" />
        </Field>
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
