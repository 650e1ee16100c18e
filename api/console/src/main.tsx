import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, token, whenUnauthorized } from './api.ts';
import { CaList } from './pages/ca-list.tsx';
import { CaPage } from './pages/ca-page.tsx';
import { AuditLog } from './pages/audit.tsx';
import { CertificatePage } from './pages/certificate-page.tsx';
import { CreateCa } from './pages/create-ca.tsx';
import { Dashboard } from './pages/dashboard.tsx';
import { IssueCertificate } from './pages/issue.tsx';
import { PolicyEditor, PolicyList } from './pages/policies.tsx';
import { PrincipalList, PrincipalPage } from './pages/principals.tsx';
import { SignIn } from './pages/sign-in.tsx';
import './styles.css';

/*
 * The admin console: a single page over the public API. Routes are in the URL's fragment
 * (#/cas/{id}), so that the service serves one file for all of them and a reload stays in place.
 */

export interface Me {
  principal: { id: string; name: string };
}

const route = () => location.hash.replace(/^#/, '') || '/';

const NAV = [
  ['', 'Dashboard'],
  ['cas', 'Certificate authorities'],
  ['principals', 'Principals'],
  ['policies', 'Policies'],
  ['audit', 'Audit log'],
] as const;

export function navigate(to: string): void {
  location.hash = to;
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [path, setPath] = useState(route());
  useEffect(() => {
    const on = () => setPath(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    whenUnauthorized(() => {
      token.clear();
      setMe(null);
    });
    if (!token.get()) return setMe(null);
    api<Me>('GET', '/v1/me').then(setMe, () => {
      token.clear();
      setMe(null);
    });
  }, []);
  // Move focus to the page's heading on navigation, so that keyboard and screen-reader users follow.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [path, me]);

  if (me === undefined) return <p class="loading">Loading…</p>;
  if (me === null) return <SignIn onSignedIn={setMe} />;

  const signOut = () => {
    token.clear();
    setMe(null);
    navigate('/');
  };
  const parts = path.split('/').filter(Boolean);
  let page;
  if (parts[0] === 'cas' && parts[1] === 'new') page = <CreateCa />;
  else if (parts[0] === 'cas' && parts[1] && parts[2] === 'issue') page = <IssueCertificate caId={parts[1]} />;
  else if (parts[0] === 'cas' && parts[1] && parts[2] === 'certificates' && parts[3]) page = <CertificatePage caId={parts[1]} serial={parts[3]} />;
  else if (parts[0] === 'cas' && parts[1]) page = <CaPage id={parts[1]} />;
  else if (parts[0] === 'cas') page = <CaList />;
  else if (parts[0] === 'audit') page = <AuditLog />;
  else if (parts[0] === 'principals' && parts[1]) page = <PrincipalPage id={parts[1]} />;
  else if (parts[0] === 'principals') page = <PrincipalList />;
  else if (parts[0] === 'policies' && parts[1] === 'new') page = <PolicyEditor />;
  else if (parts[0] === 'policies' && parts[1]) page = <PolicyEditor id={parts[1]} />;
  else if (parts[0] === 'policies') page = <PolicyList />;
  else page = <Dashboard />;

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.querySelector<HTMLElement>('main h1')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">privateca</span>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <a key={to} href={`#/${to}`} aria-current={(parts[0] ?? '') === to && !parts[1] ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          Signed in as <strong>{me.principal.name}</strong>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main">{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
