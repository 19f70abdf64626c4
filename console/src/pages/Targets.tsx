import { get, query } from '../api';
import { Badge, Blockers, Freshness, Show } from '../components';
import { useLoad } from '../hooks';
import { enc, href, navigate } from '../router';
import { DEPLOYMENT_MODES, TARGET_STATUSES, type Page, type StoredPolicy, type Target } from '../types';

const FILTERS = ['mode', 'status', 'channel', 'tenantId'] as const;
const PAGE_SIZE = 25;

/** Maximum ages from the target and attestation policies, for marking freshness. */
export function useFreshnessLimits() {
  return useLoad(async () => {
    const [t, a] = await Promise.all([get<StoredPolicy>('/target-policy'), get<StoredPolicy>('/attestation-policy')]);
    return { heartbeat: t.document.heartbeatMaxAgeSeconds as number, attestation: a.document.maxAgeSeconds as number };
  }, []);
}

export function TargetsPage({ params }: { params: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const cursor = params.get('cursor') ?? '';
  // Earlier cursors, so "Previous page" can go back: kept in the URL (they are opaque, not secret).
  const trail = params.get('trail') ? params.get('trail')!.split(' ') : [];
  const key = JSON.stringify([filters, cursor]);
  const targets = useLoad(() => get<Page<Target>>(`/targets${query({ ...filters, cursor, limit: PAGE_SIZE })}`), [key]);
  const limits = useFreshnessLimits();

  function applyFilters(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    navigate('/targets', Object.fromEntries(FILTERS.map((f) => [f, String(form.get(f) ?? '').trim()])));
  }

  return (
    <>
      <h1>Targets</h1>
      <form class="filters" onSubmit={applyFilters} aria-label="Filter targets">
        <label>
          Mode
          <select name="mode" value={filters.mode}>
            <option value="">any</option>
            {DEPLOYMENT_MODES.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select name="status" value={filters.status}>
            <option value="">any</option>
            {TARGET_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Channel
          <input name="channel" value={filters.channel} size={10} />
        </label>
        <label>
          Tenant
          <input name="tenantId" value={filters.tenantId} size={12} />
        </label>
        <button type="submit">Apply</button>
        <a class="button secondary" href={href('/targets')}>
          Clear
        </a>
      </form>
      <Show loaded={targets}>
        {(page) => (
          <>
            {page.items.length === 0 ? <p>No targets match.</p> : null}
            <table class="targets">
              <caption class="visually-hidden">Targets</caption>
              <thead>
                <tr>
                  <th scope="col">Target</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Status</th>
                  <th scope="col">Release</th>
                  <th scope="col">Freshness</th>
                  <th scope="col">Blockers</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((t) => (
                  <tr key={t.id} data-target={t.id}>
                    <td>
                      <a href={href(`/targets/${enc(t.id)}`)}>{t.id}</a>
                      <div class="muted small">{t.name}</div>
                    </td>
                    <td>{t.mode}</td>
                    <td>{t.tenantId}</td>
                    <td>{t.channel}</td>
                    <td>
                      <Badge value={t.status} />
                    </td>
                    <td>{t.currentRelease ?? '—'}</td>
                    <td class="freshness">
                      <Freshness label="Heartbeat" at={t.lastHeartbeatAt} maxAgeSeconds={limits.data?.heartbeat} />
                      <br />
                      <Freshness label={`Attestation${t.attestation ? ` ${t.attestation.result}` : ''}`} at={t.attestation?.issuedAt} maxAgeSeconds={limits.data?.attestation} />
                    </td>
                    <td>
                      <Blockers blockers={t.blockers} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <nav class="pager" aria-label="Pages">
              {cursor ? (
                <a class="button secondary" href={href('/targets', { ...filters, cursor: trail.at(-1), trail: trail.slice(0, -1).join(' ') })}>
                  Previous page
                </a>
              ) : null}
              {page.cursor ? (
                <a class="button secondary" href={href('/targets', { ...filters, cursor: page.cursor, trail: [...trail, cursor].filter(Boolean).join(' ') })}>
                  Next page
                </a>
              ) : null}
            </nav>
          </>
        )}
      </Show>
    </>
  );
}
