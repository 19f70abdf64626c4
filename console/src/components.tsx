import type { ComponentChildren } from 'preact';
import { ApiError } from './api';
import { age } from './format';
import type { Loaded } from './hooks';
import type { Blocker, Problem } from './types';

const TONES: Record<string, string> = {
  active: 'ok', SUCCEEDED: 'ok', succeeded: 'ok', allow: 'ok', valid: 'ok', passed: 'ok', published: 'ok',
  blocked: 'bad', FAILED: 'bad', failed: 'bad', TIMED_OUT: 'bad', deny: 'bad', invalid: 'bad', revoked: 'bad', 'skipped-blocked': 'bad',
  ABORTED: 'warn', HALTED: 'warn', halted: 'warn', PENDING_REDRIVE: 'warn', decommissioned: 'muted', skipped: 'muted', SKIPPED: 'muted',
  RUNNING: 'run', WAITING: 'run', provisioning: 'run', updating: 'run', updating_: 'run', PLANNING: 'run', 'waiting-window': 'run',
};

export function Badge({ value, label }: { value: string; label?: string }) {
  return <span class={`badge tone-${TONES[value] ?? 'neutral'}`}>{label ?? value}</span>;
}

export function ProblemBox({ problem, status }: { problem: Problem; status?: number }) {
  return (
    <div class="problem" role="alert">
      <p class="problem-title">
        {problem.title}
        {status ? <span class="problem-status"> ({status}{problem.code ? ` ${problem.code}` : ''})</span> : null}
      </p>
      {problem.detail ? <p class="problem-detail">{problem.detail}</p> : null}
      {problem.errors?.length ? (
        <ul>
          {problem.errors.map((e) => (
            <li key={e.path}>
              <code>{e.path || '/'}</code> {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (error instanceof ApiError) return <ProblemBox problem={error.problem} status={error.status || undefined} />;
  return <ProblemBox problem={{ title: 'Error', detail: String(error) }} />;
}

/** Renders its children with the data once loaded; the problem document when the API refused. */
export function Show<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  if (loaded.data === undefined) return <p class="muted" aria-live="polite">Loading…</p>;
  return <>{children(loaded.data)}</>;
}

export function Blockers({ blockers }: { blockers: Blocker[] | undefined }) {
  if (!blockers?.length) return null;
  return (
    <ul class="blockers">
      {blockers.map((b, i) => (
        <li key={`${b.code}-${i}`} class="blocker">
          <code class="blocker-code">{b.code}</code> <span class="blocker-message">{b.message}</span>
          {b.remediation ? (
            <p class="remediation">
              <span class="remediation-label">Remediation:</span> {b.remediation}
            </p>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

/** How old a heartbeat or attestation is, marked stale past the policy's maximum age. */
export function Freshness({ at, maxAgeSeconds, label }: { at: string | undefined; maxAgeSeconds: number | undefined; label: string }) {
  if (!at) return <span class="fresh-none">{label}: never</span>;
  const stale = maxAgeSeconds !== undefined && Date.now() - Date.parse(at) > maxAgeSeconds * 1000;
  return (
    <span class={stale ? 'fresh-stale' : 'fresh-ok'} title={at}>
      {label}: {age(at)}
      {stale ? ' (stale)' : ''}
    </span>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

export function Json({ value }: { value: unknown }) {
  return (
    <pre class="json" tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
