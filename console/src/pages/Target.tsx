import { useState } from 'preact/hooks';
import { can, get, query, type Role } from '../api';
import { Badge, Blockers, ErrorBox, Field, Freshness, Json, Show } from '../components';
import { between, time } from '../format';
import { useLoad } from '../hooks';
import { enc, href } from '../router';
import type { AuditRecord, AuditVerification, Execution, Page, Target } from '../types';
import { useFreshnessLimits } from './Targets';

export function TargetPage({ id, role }: { id: string; role: Role | null }) {
  const target = useLoad(() => get<Target>(`/targets/${enc(id)}`), [id]);
  const limits = useFreshnessLimits();
  return (
    <>
      <p class="crumbs">
        <a href={href('/targets')}>Targets</a> / {id}
      </p>
      <Show loaded={target}>
        {(t) => (
          <>
            <h1>
              {t.name} <Badge value={t.status} />
            </h1>
            <Actions target={t} role={role} />
            <div class="columns">
              <section class="card" aria-labelledby="settings-title">
                <h2 id="settings-title">Settings</h2>
                <dl class="fields">
                  <Field label="Id">{t.id}</Field>
                  <Field label="Mode">{t.mode}</Field>
                  <Field label="Tenant">{t.tenantId}</Field>
                  <Field label="License">{t.licenseId}</Field>
                  <Field label="Channel">{t.channel}</Field>
                  <Field label="Current release">{t.currentRelease ?? '—'}</Field>
                  <Field label="Rollback release">{t.rollbackRelease ?? '—'}</Field>
                  <Field label="Installer lock">{t.installerLocked ? 'locked' : 'unlocked'}</Field>
                  <Field label="Maintenance mode">{t.maintenanceMode ? 'on' : 'off'}</Field>
                  <Field label="Strategy">{t.strategy ?? '—'}</Field>
                  <Field label="Maintenance window">{t.maintenanceWindow ? `${t.maintenanceWindow.cron} for ${t.maintenanceWindow.durationMinutes} min` : '—'}</Field>
                  <Field label="Agent">{t.agent ?? 'update client'}</Field>
                  <Field label="Heartbeat">
                    <Freshness label="last" at={t.lastHeartbeatAt} maxAgeSeconds={limits.data?.heartbeat} />
                  </Field>
                  <Field label="Attestation">
                    {t.attestation ? <Badge value={t.attestation.result} /> : null}{' '}
                    <Freshness label="issued" at={t.attestation?.issuedAt} maxAgeSeconds={limits.data?.attestation} />
                    {t.attestation?.reasons.length ? <div class="small">{t.attestation.reasons.join('; ')}</div> : null}
                  </Field>
                  <Field label="Version (ETag)">{t.version}</Field>
                  <Field label="Updated">{time(t.updatedAt)}</Field>
                </dl>
                <details>
                  <summary>Runtime components</summary>
                  <Json value={t.runtime} />
                </details>
              </section>
              <section class="card" aria-labelledby="blockers-title">
                <h2 id="blockers-title">Blockers</h2>
                {t.blockers.length ? <Blockers blockers={t.blockers} /> : <p class="muted">None.</p>}
              </section>
            </div>
            <Executions id={t.id} />
            <Audit id={t.id} />
          </>
        )}
      </Show>
    </>
  );
}

function Actions({ target, role }: { target: Target; role: Role | null }) {
  const links: [string, string][] = [];
  if (can.provision(role) && target.status !== 'decommissioned') {
    links.push(['provision', 'Provision'], ['update', 'Update']);
  }
  if (can.unblock(role) && target.status === 'blocked') links.push(['unblock', 'Unblock']);
  if (can.decommission(role) && target.status !== 'decommissioned') links.push(['decommission', 'Decommission']);
  if (!links.length) return null;
  return (
    <nav class="actions" aria-label="Target actions">
      {links.map(([action, label]) => (
        <a key={action} class={`button${action === 'decommission' ? ' danger' : ''}`} href={href(`/targets/${enc(target.id)}/${action}`)}>
          {label}
        </a>
      ))}
    </nav>
  );
}

function Executions({ id }: { id: string }) {
  const [cursor, setCursor] = useState<string | undefined>();
  const runs = useLoad(() => get<Page<Execution>>(`/targets/${enc(id)}/executions${query({ limit: 10, cursor })}`), [id, cursor]);
  return (
    <section class="card" aria-labelledby="executions-title">
      <h2 id="executions-title">Executions</h2>
      <Show loaded={runs}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">No runs yet.</p>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Execution</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Release</th>
                    <th scope="col">Status</th>
                    <th scope="col">Started</th>
                    <th scope="col">Duration</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((x) => (
                    <tr key={x.id}>
                      <td>
                        <a href={href(`/executions/${enc(x.id)}`)}>{x.id}</a>
                      </td>
                      <td>{x.kind}</td>
                      <td>{x.releaseId}</td>
                      <td>
                        <Badge value={x.status} />
                      </td>
                      <td>{time(x.startedAt)}</td>
                      <td>{between(x.startedAt, x.stoppedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {page.cursor ? (
                <button type="button" class="secondary" onClick={() => setCursor(page.cursor ?? undefined)}>
                  Older runs
                </button>
              ) : null}
              {cursor ? (
                <button type="button" class="secondary" onClick={() => setCursor(undefined)}>
                  Newest runs
                </button>
              ) : null}
            </>
          )
        }
      </Show>
    </section>
  );
}

function Audit({ id }: { id: string }) {
  const [cursor, setCursor] = useState<string | undefined>();
  const records = useLoad(() => get<{ items: AuditRecord[]; cursor: string | null }>(`/audit${query({ targetId: id, limit: 50, cursor })}`), [id, cursor]);
  const [verify, setVerify] = useState<{ result?: AuditVerification; error?: unknown; busy?: boolean }>({});
  async function runVerify() {
    setVerify({ busy: true });
    try {
      setVerify({ result: await get<AuditVerification>(`/audit/verify${query({ targetId: id })}`) });
    } catch (error) {
      setVerify({ error });
    }
  }
  const v = verify.result;
  return (
    <section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit stream</h2>
      <div class="verify">
        <button type="button" onClick={runVerify} disabled={verify.busy}>
          Verify
        </button>
        <div class="verify-result" aria-live="polite" data-testid="verify-result">
          {v ? (
            <>
              <Badge value={v.valid ? 'valid' : 'invalid'} /> checked <strong>{v.checked}</strong> record{v.checked === 1 ? '' : 's'}
              {v.head ? ` · head seq ${v.head.seq}` : ''}
              {v.firstBrokenSeq !== undefined ? (
                <>
                  {' · '}first broken seq <strong class="broken-seq">{v.firstBrokenSeq}</strong>
                </>
              ) : null}
              {v.reason ? <span class="small"> ({v.reason})</span> : null}
            </>
          ) : null}
          {verify.error ? <ErrorBox error={verify.error} /> : null}
        </div>
      </div>
      <Show loaded={records}>
        {(page) => (
          <>
            <table class="audit">
              <thead>
                <tr>
                  <th scope="col">Seq</th>
                  <th scope="col">At</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((r) => (
                  <tr key={r.seq} class={v?.firstBrokenSeq === r.seq ? 'row-broken' : undefined}>
                    <td>{r.seq}</td>
                    <td>{time(r.at)}</td>
                    <td>{r.actor}</td>
                    <td>{r.action}</td>
                    <td>
                      <details>
                        <summary>{summarize(r.details) || 'details'}</summary>
                        <Json value={r.details} />
                        <p class="small mono">hash {r.hash}</p>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {page.cursor ? (
              <button type="button" class="secondary" onClick={() => setCursor(page.cursor ?? undefined)}>
                Later records
              </button>
            ) : null}
            {cursor ? (
              <button type="button" class="secondary" onClick={() => setCursor(undefined)}>
                First records
              </button>
            ) : null}
          </>
        )}
      </Show>
    </section>
  );
}

/** A few scalar fields of an audit record's details (the step, the status, a reason…), for the summary. */
function summarize(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .slice(0, 3)
    .map(([k, v]) => `${k}=${String(v).length > 40 ? `${String(v).slice(0, 40)}…` : String(v)}`)
    .join(' · ');
}
