import { useState } from 'preact/hooks';
import { get, post } from '../api';
import { Badge, Blockers, ErrorBox } from '../components';
import { time } from '../format';
import { useLoad } from '../hooks';
import { DECISION_ACTIONS, type Decision, type Page, type Release, type Target } from '../types';

export function DecisionsPage({ params }: { params: URLSearchParams }) {
  const choices = useLoad(async () => {
    const [targets, releases] = await Promise.all([get<Page<Target>>('/targets?limit=100'), get<Page<Release>>('/releases?limit=100')]);
    return { targets: targets.items, releases: releases.items };
  }, []);
  const [result, setResult] = useState<{ decision?: Decision; error?: unknown }>({});
  async function submit(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setResult({});
    try {
      const body = { targetId: String(form.get('targetId')), releaseId: String(form.get('releaseId')), action: String(form.get('action')) };
      setResult({ decision: await post<Decision>('/decisions', body) });
    } catch (error) {
      setResult({ error });
    }
  }
  const d = result.decision;
  return (
    <>
      <h1>Decisions</h1>
      <p class="muted">May this target do this action with this release? The same decision the workflows take, with every blocker's remediation.</p>
      <form class="card form filters" onSubmit={submit}>
        <label>
          Target
          <input name="targetId" list="target-ids" required defaultValue={params.get('targetId') ?? ''} />
        </label>
        <datalist id="target-ids">
          {choices.data?.targets.map((t) => <option key={t.id} value={t.id} />)}
        </datalist>
        <label>
          Release
          <input name="releaseId" list="release-ids" required defaultValue={params.get('releaseId') ?? ''} />
        </label>
        <datalist id="release-ids">
          {choices.data?.releases.map((r) => <option key={r.id} value={r.id} />)}
        </datalist>
        <label>
          Action
          <select name="action">
            {DECISION_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Decide</button>
      </form>
      {result.error ? <ErrorBox error={result.error} /> : null}
      {d ? (
        <section class="card" aria-labelledby="decision-title" aria-live="polite">
          <h2 id="decision-title">
            <Badge value={d.decision} /> {d.action}
          </h2>
          <p class="small muted">
            Evaluated {time(d.evaluatedAt)} with policy versions{' '}
            {Object.entries(d.policyVersions)
              .map(([k, v]) => `${k} v${v}`)
              .join(', ')}
          </p>
          {d.blockers.length ? <Blockers blockers={d.blockers} /> : <p>No blockers.</p>}
        </section>
      ) : null}
    </>
  );
}
