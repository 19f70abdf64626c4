// The compose driver, driven through the agent's command executor with a fake `docker` on PATH that
// records its arguments: the exact docker commands of install, update and rollback, the retained compose
// file and image tags, and a release whose manifest does not verify never reaching docker at all.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type ReleaseSource } from '../../agent/src/agent.js';
import { initKeys, pinKey, saveConfig, saveToken } from '../../agent/src/config.js';
import { enrollmentConfig } from '../../agent/src/main.js';
import { sampleSigned, signedBy, testKey } from '../unit/crypto/release-fixtures.js';

const signer = testKey('agent-compose');
const base = mkdtempSync(join(tmpdir(), 'dcp-compose-'));
const root = join(base, 'project');
const dir = join(base, 'agent');
const log = join(base, 'docker.log');
const oldPath = process.env.PATH;
const files = new Map<string, { manifest: unknown; bytes: Buffer }>();

const composeFile = (tag: string) => `services:\n  app:\n    image: registry.example.com/app:${tag}\n  worker:\n    image: registry.example.com/worker:${tag}\n`;

function release(version: string, opts: { signer?: ReturnType<typeof testKey> } = {}) {
  const bytes = Buffer.from(composeFile(version));
  const manifest = signedBy(
    sampleSigned({
      version,
      artifacts: [{ name: 'compose.yaml', kind: 'compose', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length }],
      publishedAt: new Date(Date.now() - 60_000).toISOString(),
      expiresAt: new Date(Date.now() + 86400_000).toISOString(),
      minUpgradeFrom: '0.1.0',
    }),
    opts.signer ?? signer,
  );
  files.set(version, { manifest, bytes });
}

const source: ReleaseSource = {
  async release(id) {
    const f = files.get(id)!;
    return { manifest: f.manifest, artifacts: [{ name: 'compose.yaml', url: `data:text/yaml;base64,${f.bytes.toString('base64')}` }] };
  },
};

let agent: Agent;
const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
let seen = 0;
/** The docker invocations since the last call. */
const newCalls = () => {
  const all = calls();
  const fresh = all.slice(seen);
  seen = all.length;
  return fresh;
};
const cmd = (type: 'install-release' | 'rollback', payload: Record<string, unknown>) => ({ id: `c-${type}-${Math.random()}`, targetId: 'compose-host', type, payload, createdAt: new Date().toISOString() });

beforeAll(() => {
  const bin = join(base, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> "${log}"\ncase "$*" in\n  *"config --images"*) grep 'image:' "$(echo "$*" | sed 's/.*--file \\([^ ]*\\).*/\\1/')" | sed 's/.*image: //' ;;\nesac\nexit 0\n`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
  process.env.PATH = `${bin}:${oldPath}`;
  initKeys(dir);
  saveToken(dir, 'target-token-for-the-compose-test');
  saveConfig(
    dir,
    enrollmentConfig({
      api: 'http://127.0.0.1:9/unused',
      targetId: 'compose-host',
      trustedKeys: [pinKey(signer.publicKeyBase64)],
      threshold: 1,
      host: { driver: { kind: 'compose', root, projectName: 'shop' }, envFile: join(base, 'app.env') },
    }),
  );
  agent = new Agent({ dir, releaseSource: source, log: () => undefined });
  for (const v of ['1.0.0', '1.1.0']) release(v);
});

afterAll(() => {
  process.env.PATH = oldPath;
});

const composeArgs = (file: string) => `compose --project-name shop --project-directory ${root} --file ${file}`;

describe('compose driver', () => {
  it('install: validate the file, pull, switch, up', async () => {
    const out = await agent.execute(cmd('install-release', { releaseId: '1.0.0' }));
    expect(out.status, JSON.stringify(out)).toBe('succeeded');
    const f = join(root, 'releases', '1.0.0', 'compose.yaml');
    expect(newCalls()).toEqual([
      `${composeArgs(join(root, 'releases', '.staging-1.0.0', 'compose.yaml'))} config --quiet`,
      `${composeArgs(f)} pull --quiet`,
      `${composeArgs(f)} up --detach --remove-orphans`,
    ]);
    expect(readlinkSync(join(root, 'current'))).toBe(join('releases', '1.0.0'));
  });

  it('update: the running file and its image tags are retained, then pull and up from the new file', async () => {
    const out = await agent.execute(cmd('install-release', { releaseId: '1.1.0' }));
    expect(out.status, JSON.stringify(out)).toBe('succeeded');
    expect(out.output).toMatchObject({ rollbackRelease: '1.0.0' });
    const old = join(root, 'releases', '1.0.0', 'compose.yaml');
    const f = join(root, 'releases', '1.1.0', 'compose.yaml');
    expect(newCalls()).toEqual([
      `${composeArgs(join(root, 'releases', '.staging-1.1.0', 'compose.yaml'))} config --quiet`,
      `${composeArgs(old)} config --images`,
      `${composeArgs(f)} pull --quiet`,
      `${composeArgs(f)} up --detach --remove-orphans`,
    ]);
    expect(readFileSync(old, 'utf8')).toBe(composeFile('1.0.0'));
    expect(readFileSync(join(root, 'releases', '1.0.0', 'images.txt'), 'utf8').trim().split('\n')).toEqual(['registry.example.com/app:1.0.0', 'registry.example.com/worker:1.0.0']);
  });

  it('rollback: up from the retained file, no pull', async () => {
    const out = await agent.execute(cmd('rollback', { toRelease: '1.0.0', fromRelease: '1.1.0' }));
    expect(out.status, JSON.stringify(out)).toBe('succeeded');
    expect(newCalls()).toEqual([`${composeArgs(join(root, 'releases', '1.0.0', 'compose.yaml'))} up --detach --remove-orphans`]);
    expect(readlinkSync(join(root, 'current'))).toBe(join('releases', '1.0.0'));
  });

  it('a release signed by an unpinned key never reaches docker', async () => {
    release('1.2.0', { signer: testKey('agent-compose-stranger') });
    const out = await agent.execute(cmd('install-release', { releaseId: '1.2.0' }));
    expect(out).toMatchObject({ status: 'failed', error: { name: 'RELEASE_SIGNATURE_INVALID' } });
    expect(newCalls()).toEqual([]);
  });
});
