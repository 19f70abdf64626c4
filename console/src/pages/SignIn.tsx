import { useState } from 'preact/hooks';
import { ApiError, detectRole, session } from '../api';
import { ErrorBox } from '../components';

/** One password field; the token is checked against the API and kept in sessionStorage only. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('token') as HTMLInputElement;
    const token = input.value.trim();
    if (!token) return;
    setBusy(true);
    setError(undefined);
    try {
      const role = await detectRole(token);
      session.save(token, role);
      input.value = '';
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, { title: 'Sign-in failed', detail: String(err) }));
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="signin card" aria-labelledby="signin-title">
      <h1 id="signin-title">Deployment Control Plane</h1>
      <p class="muted">Sign in with an API token (admin, operator or auditor).</p>
      <form onSubmit={submit} autocomplete="off">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" required autocomplete="off" spellcheck={false} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {error ? <ErrorBox error={error} /> : null}
      <p class="muted small">The token stays in this tab's session storage and is cleared by signing out or closing the tab.</p>
    </section>
  );
}
