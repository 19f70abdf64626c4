import { render } from 'preact';
import { useState } from 'preact/hooks';
import './styles.css';
import { session, type Role } from './api';
import { href, matchPath, useLocation } from './router';
import { SignIn } from './pages/SignIn';
import { TargetsPage } from './pages/Targets';
import { TargetPage } from './pages/Target';
import { TargetActionPage } from './pages/TargetAction';
import { ExecutionPage } from './pages/Execution';
import { RolloutsPage, RolloutPage } from './pages/Rollouts';
import { ReleasesPage } from './pages/Releases';
import { DecisionsPage } from './pages/Decisions';
import { PoliciesPage } from './pages/Policies';

const NAV: [string, string][] = [
  ['/targets', 'Targets'],
  ['/rollouts', 'Rollouts'],
  ['/releases', 'Releases and keys'],
  ['/decisions', 'Decisions'],
  ['/policies', 'Policies'],
];

function Page({ path, params, role }: { path: string; params: URLSearchParams; role: Role | null }) {
  let m: Record<string, string> | undefined;
  if (path === '/targets') return <TargetsPage params={params} />;
  if ((m = matchPath('/targets/:id', path))) return <TargetPage id={m.id!} role={role} />;
  if ((m = matchPath('/targets/:id/:action', path))) return <TargetActionPage id={m.id!} action={m.action!} />;
  if ((m = matchPath('/executions/:id', path))) return <ExecutionPage id={m.id!} />;
  if (path === '/rollouts') return <RolloutsPage params={params} />;
  if ((m = matchPath('/rollouts/:id', path))) return <RolloutPage id={m.id!} role={role} />;
  if (path === '/releases') return <ReleasesPage role={role} />;
  if (path === '/decisions') return <DecisionsPage params={params} />;
  if (path === '/policies') return <PoliciesPage />;
  return (
    <>
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <a href={href('/targets')}>Targets</a>
      </p>
    </>
  );
}

function App() {
  const loc = useLocation();
  const [signedIn, setSignedIn] = useState(() => session.token() !== null);
  const role = session.role();
  if (!signedIn) {
    return (
      <main id="main" class="signin-main">
        <SignIn onSignedIn={() => setSignedIn(true)} />
      </main>
    );
  }
  const section = '/' + (loc.path.split('/')[1] ?? '');
  return (
    <>
      <header class="top">
        <span class="brand">Deployment Control Plane</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([path, label]) => (
              <li key={path}>
                <a href={href(path)} aria-current={section === path || (path === '/targets' && section === '/executions') ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          Signed in as <strong>{role ?? 'unknown'}</strong>
        </span>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            session.clear();
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">
        <Page path={loc.path} params={loc.params} role={role} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
