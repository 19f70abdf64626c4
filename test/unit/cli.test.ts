import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../../functions/core/crypto/base64.js';
import { keyIdOf } from '../../functions/core/crypto/ed25519.js';
import { parseJsonStrict } from '../../functions/core/json.js';
import { verifyManifest } from '../../functions/core/manifest.js';
import { main, type CliIo } from '../../cli/main.js';
import { sampleSigned } from './crypto/release-fixtures.js';

const BIN = fileURLToPath(new URL('../../cli/bin.mjs', import.meta.url));
let dir: string;

function dcp(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** In-process run, for the cases that need no real process. */
function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), now: () => new Date('2026-11-02T12:00:00Z') };
  const status = main(args, io);
  return { status, stdout: out.join('\n'), stderr: err.join('\n') };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcp-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('dcp (spawned)', () => {
  it('generates keys, signs and verifies a manifest, and fails a tampered one with exit 1', () => {
    const generated = dcp('keys', 'generate', '--out', 'release');
    expect(generated.status, generated.stderr).toBe(0);
    const publicKey = decodeBase64Strict(readFileSync(join(dir, 'release.pub'), 'utf8').trim(), 32);
    expect(generated.stdout).toContain(`keyId: ${keyIdOf(publicKey)}`);
    expect(statSync(join(dir, 'release.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'release.key'), 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);

    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(sampleSigned({ expiresAt: '2099-01-01T00:00:00Z' }), null, 2));
    const signed = dcp('release', 'sign', 'manifest.json', '--key', 'release.key');
    expect(signed.status, signed.stderr).toBe(0);
    const envelope = parseJsonStrict(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { signatures: { keyId: string }[] };
    expect(envelope.signatures.map((s) => s.keyId)).toEqual([keyIdOf(publicKey)]);

    const verified = dcp('release', 'verify', 'manifest.json', '--pub', 'release.pub');
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('verified 2.4.0');

    // The server-side verifier agrees with the CLI's output.
    const trusted = [{ keyId: keyIdOf(publicKey), publicKey: readFileSync(join(dir, 'release.pub'), 'utf8').trim(), status: 'active' as const, notBefore: '2026-01-01T00:00:00Z', createdAt: '2026-01-01T00:00:00Z' }];
    expect(verifyManifest(envelope, { trustedKeys: trusted, threshold: 1, now: new Date(), channelVersions: [] }).ok).toBe(true);

    const original = readFileSync(join(dir, 'manifest.json'), 'utf8');
    const altered = original.replace('"required": false', '"required": true');
    expect(altered).not.toBe(original);
    writeFileSync(join(dir, 'tampered.json'), altered);
    const tampered = dcp('release', 'verify', 'tampered.json', '--pub', 'release.pub');
    expect(tampered.status).toBe(1);
    expect(tampered.stderr).toContain('RELEASE_SIGNATURE_INVALID');

    const refused = dcp('keys', 'generate', '--out', 'release');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/already exists/);
  });

  it('prints help and refuses unknown commands with exit 2', () => {
    const help = dcp('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('dcp release sign');
    expect(dcp('release', 'publish').status).toBe(2);
  });
});

describe('dcp (in process)', () => {
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  const path = (name: string) => join(dir, name);

  it('co-signs with a second key and enforces --threshold', () => {
    expect(run('keys', 'generate', '--out', path('k1')).status).toBe(0);
    expect(run('keys', 'generate', '--out', path('k2')).status).toBe(0);
    write('two.json', JSON.stringify({ signed: sampleSigned({ expiresAt: '2099-01-01T00:00:00Z' }), signatures: [] }));
    expect(run('release', 'sign', path('two.json'), '--key', path('k1.key')).status).toBe(0);
    expect(run('release', 'verify', path('two.json'), '--pub', path('k1.pub'), '--pub', path('k2.pub'), '--threshold', '2').status).toBe(1);
    expect(run('release', 'sign', path('two.json'), '--key', path('k2.key'), '--out', path('two-signed.json')).status).toBe(0);
    const ok = run('release', 'verify', path('two-signed.json'), '--pub', path('k1.pub'), '--pub', path('k2.pub'), '--threshold', '2');
    expect(ok.status, ok.stderr).toBe(0);
    // Re-signing replaces the key's entry instead of adding a second one.
    expect(run('release', 'sign', path('two-signed.json'), '--key', path('k1.key')).status).toBe(0);
    expect((JSON.parse(readFileSync(path('two-signed.json'), 'utf8')) as { signatures: unknown[] }).signatures).toHaveLength(2);
  });

  it('refuses to sign a manifest whose content is invalid, and explains why', () => {
    expect(run('keys', 'generate', '--out', path('k3')).status).toBe(0);
    write('debug.json', JSON.stringify(sampleSigned({ config: { APP_DEBUG: 'true', APP_ENV: 'production' } })));
    const result = run('release', 'sign', path('debug.json'), '--key', path('k3.key'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('RELEASE_CONFIG_INVALID');
    write('dup.json', '{"signed": {"_type": "release", "_type": "release"}}');
    expect(run('release', 'sign', path('dup.json'), '--key', path('k3.key')).stderr).toMatch(/Duplicate member name/);
  });

  it('reports expired releases and unusable key files', () => {
    expect(run('keys', 'generate', '--out', path('k4')).status).toBe(0);
    write('old.json', JSON.stringify(sampleSigned({ publishedAt: '2020-01-01T00:00:00Z', expiresAt: '2021-01-01T00:00:00Z' })));
    const signed = run('release', 'sign', path('old.json'), '--key', path('k4.key'));
    expect(signed.status).toBe(0);
    expect(signed.stderr).toMatch(/warning: the release expired/);
    expect(run('release', 'verify', path('old.json'), '--pub', path('k4.pub')).stderr).toContain('RELEASE_EXPIRED');
    write('bad.pub', 'not base64\n');
    const bad = run('release', 'verify', path('old.json'), '--pub', path('bad.pub'));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/is not a public key file/);
    expect(run('release', 'verify', path('missing.json'), '--pub', path('k4.pub')).stderr).toMatch(/Cannot read manifest .*ENOENT/);
    expect(run('release', 'verify', path('old.json'), '--pub', path('k4.pub'), '--threshold', 'x').status).toBe(2);
  });

  it('validates .env files and JSON objects for a mode', () => {
    write('bad.env', 'APP_DEBUG=true\nAPP_ENV=production\nDB_PASSWORD=hunter2\n');
    const bad = run('package', 'validate-config', path('bad.env'), '--mode', 'self-hosted');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('APP_DEBUG_NOT_FALSE');
    expect(bad.stderr).toContain('DB_PASSWORD SECRET_LITERAL');
    expect(bad.stderr).not.toContain('hunter2');
    const env = {
      APP_ENV: 'production', APP_DEBUG: 'false', APP_KEY: 'secretsmanager:app', APP_URL: 'https://x.example.com',
      DB_CONNECTION: 'pgsql', DB_HOST: 'db', DB_DATABASE: 'app', DB_USERNAME: 'app', DB_PASSWORD: 'secretsmanager:db',
      REDIS_HOST: 'redis', REDIS_PASSWORD: 'secretsmanager:redis', QUEUE_CONNECTION: 'redis', AWS_BUCKET: 'files',
    };
    write('good.json', JSON.stringify(env));
    expect(run('package', 'validate-config', path('good.json'), '--mode', 'saas')).toMatchObject({ status: 0 });
    expect(run('package', 'validate-config', path('good.json')).status).toBe(2);
  });
});
