import { get } from '../api';
import { Json, Show } from '../components';
import { time } from '../format';
import { useLoad } from '../hooks';
import { POLICY_KINDS, type Page, type PolicyKind, type StoredPolicy } from '../types';

export function PoliciesPage() {
  return (
    <>
      <h1>Policies</h1>
      <p class="muted">The four policy documents the decisions read, with their earlier versions. Version 0 is the documented default.</p>
      <div class="policies">
        {POLICY_KINDS.map((kind) => (
          <Policy key={kind} kind={kind} />
        ))}
      </div>
    </>
  );
}

function Policy({ kind }: { kind: PolicyKind }) {
  const loaded = useLoad(async () => {
    const [current, versions] = await Promise.all([get<StoredPolicy>(`/${kind}-policy`), get<Page<StoredPolicy>>(`/${kind}-policy/versions?limit=20`)]);
    return { current, versions: versions.items };
  }, [kind]);
  return (
    <section class="card" aria-labelledby={`policy-${kind}`}>
      <h2 id={`policy-${kind}`}>{kind[0]!.toUpperCase() + kind.slice(1)} policy</h2>
      <Show loaded={loaded}>
        {({ current, versions }) => (
          <>
            <p class="small">
              Version <strong>{current.version}</strong> ·{' '}
              {current.version === 0 ? 'the documented default' : `updated ${time(current.updatedAt)}${current.updatedBy ? ` by ${current.updatedBy}` : ''}`}
              {current.comment ? ` · ${current.comment}` : ''}
            </p>
            <Json value={current.document} />
            {versions.length ? (
              <details>
                <summary>Earlier versions ({versions.length})</summary>
                {versions.map((v) => (
                  <div key={v.version}>
                    <h3>
                      Version {v.version} · {time(v.updatedAt)} {v.updatedBy ?? ''}
                    </h3>
                    <Json value={v.document} />
                  </div>
                ))}
              </details>
            ) : (
              <p class="small muted">No earlier versions.</p>
            )}
          </>
        )}
      </Show>
    </section>
  );
}
