import { useState } from 'preact/hooks';
import { can, get, post, type Role } from '../api';
import { Badge, ErrorBox, Show } from '../components';
import { time } from '../format';
import { useLoad } from '../hooks';
import { enc } from '../router';
import type { Page, Release, SigningKey } from '../types';

const short = (keyId: string) => `${keyId.slice(0, 12)}…`;

export function ReleasesPage({ role }: { role: Role | null }) {
  const releases = useLoad(() => get<Page<Release>>('/releases?limit=100'), []);
  const keys = useLoad(() => get<Page<SigningKey>>('/signing-keys?limit=100'), []);
  return (
    <>
      <h1>Releases and keys</h1>
      <section class="card" aria-labelledby="releases-title">
        <h2 id="releases-title">Releases</h2>
        <Show loaded={releases}>
          {(page) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Release</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Modes</th>
                  <th scope="col">Status</th>
                  <th scope="col">Signatures</th>
                  <th scope="col">Published / expires</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((r) => (
                  <tr key={r.id}>
                    <td>
                      {r.id}
                      <div class="small muted">{r.name}</div>
                    </td>
                    <td>{r.channel}</td>
                    <td>{r.modes.join(', ')}</td>
                    <td>
                      <Badge value={r.status} />
                      {r.revokedReason ? <div class="small">{r.revokedReason}</div> : null}
                    </td>
                    <td>
                      <Badge value={r.validSignerKeyIds.length > 0 ? 'valid' : 'invalid'} label={`${r.validSignerKeyIds.length} valid of ${r.manifest.signatures.length}`} />
                      <ul class="signers small">
                        {r.manifest.signatures.map((s) => (
                          <li key={s.keyId} class="mono">
                            {short(s.keyId)} {r.validSignerKeyIds.includes(s.keyId) ? '✓ verified' : '✗ not verified'}
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td class="small">
                      {time(r.publishedAt)}
                      <br />
                      {time(r.expiresAt)}
                    </td>
                    <td>{can.revokeRelease(role) && r.status === 'published' ? <Revoke path={`/releases/${enc(r.id)}/revoke`} label={`Revoke ${r.id}`} onDone={releases.reload} /> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Show>
      </section>
      <section class="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Signing keys</h2>
        <Show loaded={keys}>
          {(page) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Key id</th>
                  <th scope="col">Status</th>
                  <th scope="col">Valid from</th>
                  <th scope="col">Revoked</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((k) => (
                  <tr key={k.keyId}>
                    <td class="mono" title={k.keyId}>
                      {short(k.keyId)}
                    </td>
                    <td>
                      <Badge value={k.status === 'active' ? 'valid' : 'revoked'} label={k.status} />
                    </td>
                    <td>{time(k.notBefore)}</td>
                    <td>{time(k.revokedAt)}</td>
                    <td>{can.revokeKey(role) && k.status === 'active' ? <Revoke path={`/signing-keys/${enc(k.keyId)}/revoke`} label={`Revoke key ${short(k.keyId)}`} onDone={keys.reload} /> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Show>
      </section>
    </>
  );
}

function Revoke({ path, label, onDone }: { path: string; label: string; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>();
  async function submit(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    try {
      await post(path, { reason: String(form.get('reason')) });
      setOpen(false);
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  if (!open) {
    return (
      <button type="button" class="danger small" onClick={() => setOpen(true)}>
        Revoke
      </button>
    );
  }
  return (
    <form class="inline-form" onSubmit={submit} aria-label={label}>
      <label>
        Reason
        <input name="reason" required />
      </label>
      <button type="submit" class="danger">
        Confirm revoke
      </button>
      <button type="button" class="secondary" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {error ? <ErrorBox error={error} /> : null}
    </form>
  );
}
