import { useState } from 'preact/hooks';
import { get, post, query } from '../api';
import { ErrorBox, Show } from '../components';
import { newId } from '../format';
import { useLoad } from '../hooks';
import { enc, href, navigate } from '../router';
import type { Page, Release, Target } from '../types';

const TITLES: Record<string, string> = {
  provision: 'Provision',
  update: 'Update',
  unblock: 'Unblock',
  decommission: 'Decommission',
};

/**
 * One write on a target. The target page links here only for actions the token's role may take; the page
 * itself is reachable by URL whatever the role, and the API's 403 problem is what a refused token sees.
 */
export function TargetActionPage({ id, action }: { id: string; action: string }) {
  const target = useLoad(() => get<Target>(`/targets/${enc(id)}`), [id]);
  const title = TITLES[action];
  if (!title) {
    return <h1>Unknown action {action}</h1>;
  }
  return (
    <>
      <p class="crumbs">
        <a href={href('/targets')}>Targets</a> / <a href={href(`/targets/${enc(id)}`)}>{id}</a> / {action}
      </p>
      <h1>
        {title} {id}
      </h1>
      <Show loaded={target}>
        {(t) => (action === 'provision' || action === 'update' ? <RunForm target={t} kind={action} /> : <ReasonForm target={t} action={action} />)}
      </Show>
    </>
  );
}

function RunForm({ target, kind }: { target: Target; kind: 'provision' | 'update' }) {
  const releases = useLoad(() => get<Page<Release>>(`/releases${query({ channel: target.channel, limit: 50 })}`), [target.channel]);
  const [key] = useState(() => newId(`${kind}-${target.id}`));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      const r = await post<{ executionId: string; replayed: boolean }>(
        `/targets/${enc(target.id)}/${kind}`,
        { releaseId: String(form.get('releaseId')) },
        { 'idempotency-key': String(form.get('idempotencyKey')) },
      );
      navigate(`/executions/${enc(r.executionId)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  const published = releases.data?.items.filter((r) => r.status === 'published') ?? [];
  return (
    <form class="card form" onSubmit={submit}>
      <label for="releaseId">Release</label>
      {published.length ? (
        <select id="releaseId" name="releaseId" required>
          {published.map((r) => (
            <option key={r.id} value={r.id}>
              {r.id} ({r.channel})
            </option>
          ))}
        </select>
      ) : (
        <input id="releaseId" name="releaseId" required />
      )}
      <label for="idempotencyKey">Idempotency key</label>
      <input id="idempotencyKey" name="idempotencyKey" defaultValue={key} required />
      <p class="small muted">Sending the same key again answers the same execution instead of starting a second run.</p>
      <button type="submit" disabled={busy}>
        Start {kind === 'provision' ? 'provisioning' : 'update'}
      </button>
      {error ? <ErrorBox error={error} /> : null}
    </form>
  );
}

function ReasonForm({ target, action }: { target: Target; action: string }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      await post(`/targets/${enc(target.id)}/${action}`, { reason: String(form.get('reason')) });
      navigate(`/targets/${enc(target.id)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <form class="card form" onSubmit={submit}>
      <label for="reason">Reason</label>
      <textarea id="reason" name="reason" required rows={3} />
      {action === 'decommission' ? (
        <label class="check">
          <input type="checkbox" name="confirm" required /> I understand that {target.id} is decommissioned for good.
        </label>
      ) : null}
      <button type="submit" class={action === 'decommission' ? 'danger' : undefined} disabled={busy}>
        {TITLES[action]}
      </button>
      {error ? <ErrorBox error={error} /> : null}
    </form>
  );
}
