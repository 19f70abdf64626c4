import { get } from '../api';
import { Badge, Blockers, Json, Show } from '../components';
import { between, time } from '../format';
import { useLoad } from '../hooks';
import { enc, href } from '../router';
import type { Execution, HistoryEvent } from '../types';

const REFRESH_MS = 1000;

/** A run as the Step Functions console shows one: a step timeline, then the raw event history. */
export function ExecutionPage({ id }: { id: string }) {
  const run = useLoad(
    async () => {
      const [execution, history] = await Promise.all([
        get<Execution>(`/executions/${enc(id)}`),
        get<{ executionId: string; events: HistoryEvent[] }>(`/executions/${enc(id)}/history`),
      ]);
      return { execution, history: history.events };
    },
    [id],
    (d) => (d.execution.status === 'RUNNING' ? REFRESH_MS : undefined),
  );
  return (
    <Show loaded={run}>
      {({ execution: x, history }) => (
        <>
          <p class="crumbs">
            <a href={href('/targets')}>Targets</a> / <a href={href(`/targets/${enc(x.targetId)}`)}>{x.targetId}</a> / {x.id}
          </p>
          <h1>
            {x.kind === 'provisioning' ? 'Provisioning' : 'Update'} of {x.targetId} to {x.releaseId}{' '}
            <span data-testid="execution-status">
              <Badge value={x.status} />
            </span>
          </h1>
          <p class="muted">
            {x.id} · started {time(x.startedAt)} · {x.stoppedAt ? `stopped ${time(x.stoppedAt)}` : 'running'} · {between(x.startedAt, x.stoppedAt)}
            {x.status === 'RUNNING' ? <span class="live"> · refreshing every second</span> : null}
            {x.compensatedAt ? ` · compensated ${time(x.compensatedAt)}` : ''}
          </p>
          {x.blockers?.length ? (
            <section class="card" aria-labelledby="run-blockers">
              <h2 id="run-blockers">Blockers</h2>
              <Blockers blockers={x.blockers} />
            </section>
          ) : null}
          <section class="card" aria-labelledby="steps-title">
            <h2 id="steps-title">Steps</h2>
            <ol class="timeline">
              {x.steps.map((s, i) => (
                <li key={`${s.key}-${i}`} class={`step step-${s.status.toLowerCase()}`} data-step={s.key}>
                  <div class="step-head">
                    <span class="step-name">{s.name}</span> <Badge value={s.status} />
                    <span class="muted small">
                      {' '}
                      attempt{s.attempts === 1 ? '' : 's'}: {s.attempts}
                    </span>
                  </div>
                  <div class="step-times small">
                    {time(s.startedAt)} → {s.stoppedAt ? time(s.stoppedAt) : '…'} · {between(s.startedAt, s.stoppedAt)}
                  </div>
                  {s.summary ? <div class="small">{s.summary}</div> : null}
                  {s.error ? (
                    <div class="step-error small">
                      <strong>{s.error.name}</strong>: {s.error.message}
                    </div>
                  ) : null}
                </li>
              ))}
            </ol>
          </section>
          <section class="card" aria-labelledby="history-title">
            <h2 id="history-title">Event history</h2>
            <table class="history">
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  <th scope="col">Time</th>
                  <th scope="col">Type</th>
                  <th scope="col">State</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {history.map((e) => (
                  <tr key={e.id}>
                    <td>{e.id}</td>
                    <td>{time(e.timestamp)}</td>
                    <td>{e.type}</td>
                    <td>{e.state ?? ''}</td>
                    <td>
                      {e.details ? (
                        <details>
                          <summary>details</summary>
                          <Json value={e.details} />
                        </details>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      )}
    </Show>
  );
}
