import { useState } from 'preact/hooks';
import { can, get, post, query, type Role } from '../api';
import { Badge, Blockers, ErrorBox, Show } from '../components';
import { between, time } from '../format';
import { useLoad } from '../hooks';
import { enc, href, navigate } from '../router';
import type { Page, Release, Rollout, RolloutDetail, RolloutTarget } from '../types';

/** Rollouts are listed per release (GET /rollouts?releaseId=): pick one, newest releases first. */
export function RolloutsPage({ params }: { params: URLSearchParams }) {
  const releases = useLoad(() => get<Page<Release>>('/releases?limit=100'), []);
  const releaseId = params.get('releaseId') ?? releases.data?.items[0]?.id ?? '';
  const rollouts = useLoad(
    () => (releaseId ? get<Page<Rollout>>(`/rollouts${query({ releaseId, limit: 50 })}`) : Promise.resolve({ items: [], cursor: null })),
    [releaseId],
  );
  return (
    <>
      <h1>Rollouts</h1>
      <Show loaded={releases}>
        {(page) => (
          <form class="filters" aria-label="Choose a release" onSubmit={(e) => e.preventDefault()}>
            <label>
              Release
              <select value={releaseId} onChange={(e) => navigate('/rollouts', { releaseId: (e.currentTarget as HTMLSelectElement).value })}>
                {page.items.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.id} ({r.channel})
                  </option>
                ))}
              </select>
            </label>
          </form>
        )}
      </Show>
      <Show loaded={rollouts}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">No rollouts of {releaseId || 'any release'} yet.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Rollout</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <a href={href(`/rollouts/${enc(r.id)}`)}>{r.id}</a>
                    </td>
                    <td>{r.channel}</td>
                    <td>
                      <Badge value={r.status} />
                    </td>
                    <td>
                      <Progress rollout={r} />
                    </td>
                    <td>{time(r.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </>
  );
}

function Progress({ rollout }: { rollout: Rollout }) {
  const c = rollout.counts;
  const done = c.succeeded + c.failed + c.blocked + c.skipped;
  return (
    <span class="progress">
      <progress max={Math.max(1, c.targets)} value={done} aria-label={`Progress of rollout ${rollout.id}`} />{' '}
      <span class="small">
        {done}/{c.targets} done · {c.succeeded} succeeded · {c.failed} failed · {c.blocked} blocked · {c.skipped} skipped
      </span>
    </span>
  );
}

const REFRESH_MS = 1500;

export function RolloutPage({ id, role }: { id: string; role: Role | null }) {
  const [extra, setExtra] = useState<RolloutTarget[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const rollout = useLoad(
    async () => {
      const r = await get<RolloutDetail>(`/rollouts/${enc(id)}?limit=100`);
      setExtra([]);
      setCursor(r.targets.cursor);
      return r;
    },
    [id],
    (r) => (r.status === 'RUNNING' || r.status === 'PLANNING' ? REFRESH_MS : undefined),
  );
  async function more() {
    if (!cursor) return;
    const r = await get<RolloutDetail>(`/rollouts/${enc(id)}${query({ limit: 100, cursor })}`);
    setExtra((x) => [...x, ...r.targets.items]);
    setCursor(r.targets.cursor);
  }
  return (
    <>
      <p class="crumbs">
        <a href={href('/rollouts')}>Rollouts</a> / {id}
      </p>
      <Show loaded={rollout}>
        {(r) => {
          const targets = [...r.targets.items, ...extra];
          const waves = [...r.waves].sort((a, b) => (a.kind === b.kind ? a.index - b.index : a.kind === 'canary' ? -1 : 1));
          const unwaved = targets.filter((t) => t.wave === null);
          return (
            <>
              <h1>
                Rollout of {r.releaseId} <Badge value={r.status} />
              </h1>
              <p class="muted">
                {r.id} · channel {r.channel} · modes {r.modes.join(', ')} · created {time(r.createdAt)} by {r.createdBy}
                {r.finishedAt ? ` · finished ${time(r.finishedAt)}` : ''}
              </p>
              <Progress rollout={r} />
              <p class="small">
                Canary {r.settings.canarySize}, waves of {r.settings.waveSize}, at most {r.settings.maxConcurrency} at once, {r.settings.maxFailures} failure
                {r.settings.maxFailures === 1 ? '' : 's'} allowed
                {r.adjustments.length ? ` · ${r.adjustments.join('; ')}` : ''}
              </p>
              {r.haltedAt ? (
                <p>
                  Halted {time(r.haltedAt)} by {r.haltedBy}: {r.haltReason}
                </p>
              ) : null}
              {r.failureReason ? <p>Failed: {r.failureReason}</p> : null}
              {can.haltRollout(role) && r.status === 'RUNNING' ? <Halt id={r.id} onHalted={rollout.reload} /> : null}
              <div class="waves">
                {waves.map((w) => (
                  <section key={w.index} class={`card wave wave-${w.kind}`} aria-labelledby={`wave-${w.index}`} data-wave={w.index}>
                    <h2 id={`wave-${w.index}`}>
                      {w.kind === 'canary' ? 'Canary' : `Wave ${w.index}`} <Badge value={w.status} />
                    </h2>
                    <p class="small muted">
                      {w.size} target{w.size === 1 ? '' : 's'} · {w.succeeded} succeeded · {w.failures} failed
                      {w.startedAt ? ` · ${between(w.startedAt, w.stoppedAt)}` : ''}
                    </p>
                    <TargetOutcomes targets={targets.filter((t) => t.wave === w.index)} />
                  </section>
                ))}
              </div>
              {unwaved.length ? (
                <section class="card" aria-labelledby="skipped-title">
                  <h2 id="skipped-title">Not in a wave</h2>
                  <TargetOutcomes targets={unwaved} />
                </section>
              ) : null}
              {cursor ? (
                <button type="button" class="secondary" onClick={() => void more()}>
                  More targets
                </button>
              ) : null}
            </>
          );
        }}
      </Show>
    </>
  );
}

function TargetOutcomes({ targets }: { targets: RolloutTarget[] }) {
  if (!targets.length) return <p class="muted small">No targets listed yet.</p>;
  return (
    <ul class="outcomes">
      {targets.map((t) => (
        <li key={t.targetId} data-outcome={t.outcome}>
          <a href={href(`/targets/${enc(t.targetId)}`)}>{t.targetId}</a> <Badge value={t.outcome} />
          {t.executionId ? (
            <>
              {' '}
              <a class="small" href={href(`/executions/${enc(t.executionId)}`)}>
                run
              </a>
            </>
          ) : null}
          {t.windowOpensAt ? <span class="small"> window opens {time(t.windowOpensAt)}</span> : null}
          {t.skip ? (
            <div class="small">
              <code>{t.skip.code}</code> {t.skip.message}
            </div>
          ) : null}
          <Blockers blockers={t.blockers} />
        </li>
      ))}
    </ul>
  );
}

function Halt({ id, onHalted }: { id: string; onHalted: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>();
  async function submit(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    try {
      await post(`/rollouts/${enc(id)}/halt`, { reason: String(form.get('reason')) });
      setConfirming(false);
      onHalted();
    } catch (err) {
      setError(err);
    }
  }
  if (!confirming) {
    return (
      <button type="button" class="danger" onClick={() => setConfirming(true)}>
        Halt rollout
      </button>
    );
  }
  return (
    <form class="card form confirm" onSubmit={submit} aria-label="Confirm halt">
      <p>Halting stops the running waves and their executions. Targets already updated stay updated.</p>
      <label for="halt-reason">Reason</label>
      <input id="halt-reason" name="reason" required />
      <div>
        <button type="submit" class="danger">
          Confirm halt
        </button>{' '}
        <button type="button" class="secondary" onClick={() => setConfirming(false)}>
          Cancel
        </button>
      </div>
      {error ? <ErrorBox error={error} /> : null}
    </form>
  );
}
