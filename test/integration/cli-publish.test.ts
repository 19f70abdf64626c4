// The release engineer's round trip through real processes and real HTTP: `dcp keys generate` →
// `dcp release sign` → POST /signing-keys + POST /releases → `dcp release verify` of what was published.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { sampleSigned } from '../unit/crypto/release-fixtures.js';

const api = useApi();
const BIN = fileURLToPath(new URL('../../cli/bin.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dcp-publish-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dcp(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dcp round trip with the API', () => {
  it('a manifest signed by the CLI publishes, and the published manifest verifies with the CLI', async () => {
    const generated = dcp('keys', 'generate', '--out', 'release');
    expect(generated.status).toBe(0);
    const publicKey = readFileSync(join(dir, 'release.pub'), 'utf8').trim();
    const keyId = /keyId: ([0-9a-f]{64})/.exec(generated.stdout)?.[1];
    expect(dcp('keys', 'id', 'release.pub').stdout.trim()).toBe(keyId);
    expect(keyId).toMatch(/^[0-9a-f]{64}$/);
    expect((await api.call('POST', '/signing-keys', { body: { keyId, publicKey } })).status).toBe(201);

    const signed = sampleSigned({ version: '7.0.0', minUpgradeFrom: '6.0.0', publishedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 90 * 86400_000).toISOString() });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(signed, null, 2));
    const sign = dcp('release', 'sign', 'manifest.json', '--key', 'release.key');
    expect(sign.status, sign.stderr).toBe(0);

    const published = await api.call('POST', '/releases', { raw: readFileSync(join(dir, 'manifest.json'), 'utf8') });
    expect(published.status, published.text).toBe(201);
    expect(published.body.validSignerKeyIds).toEqual([keyId]);

    const fetched = await api.call('GET', '/releases/7.0.0');
    writeFileSync(join(dir, 'published.json'), JSON.stringify(fetched.body.manifest));
    const verify = dcp('release', 'verify', 'published.json', '--pub', 'release.pub');
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toContain('verified 7.0.0');

    // A byte changed after signing: the CLI and the API both refuse it.
    const tampered = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    tampered.signed.version = '7.0.1';
    writeFileSync(join(dir, 'tampered.json'), JSON.stringify(tampered));
    expect(dcp('release', 'verify', 'tampered.json', '--pub', 'release.pub').status).toBe(1);
    const refused = await api.call('POST', '/releases', { body: tampered });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('RELEASE_SIGNATURE_INVALID');
  });
});
