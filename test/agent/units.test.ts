// Pieces of dcp-agent on their own: the zip reader (round trip, CRC, traversal and link refusal), the
// journal (torn last line, pending commands and results), hook scripts (stdin JSON, exit codes), the env
// file writer (0600, other lines kept), backoff with jitter, and key files (0600, refused when readable).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeEnvValues } from '../../agent/src/agent.js';
import { initKeys, loadIdentity, paths } from '../../agent/src/config.js';
import { backoffMs } from '../../agent/src/fsutil.js';
import { runHook } from '../../agent/src/hooks.js';
import { Journal } from '../../agent/src/journal.js';
import { createZip, extractZip, ZipError } from '../../agent/src/zip.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'dcp-agent-unit-'));

describe('zip', () => {
  it('round-trips files, folders and the executable bit', () => {
    const d = tmp();
    const big = Buffer.alloc(200_000, 7);
    writeFileSync(join(d, 'a.zip'), createZip({ 'x/y.txt': 'hello', 'bin/run': { data: '#!/bin/sh\n', mode: 0o755 }, 'big.bin': big }));
    const out = join(d, 'out');
    require_dir(out);
    expect(extractZip(join(d, 'a.zip'), out)).toBe(3);
    expect(readFileSync(join(out, 'x/y.txt'), 'utf8')).toBe('hello');
    expect(statSync(join(out, 'bin/run')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(out, 'big.bin')).equals(big)).toBe(true);
  });

  it('refuses a changed byte (CRC-32), "..", absolute names and links', () => {
    const d = tmp();
    const good = createZip({ 'f.txt': 'some content here' }, { store: true });
    const bad = Buffer.from(good);
    bad[30 + 'f.txt'.length + 2] ^= 1;
    writeFileSync(join(d, 'bad.zip'), bad);
    require_dir(join(d, 'o1'));
    expect(() => extractZip(join(d, 'bad.zip'), join(d, 'o1'))).toThrow(/CRC-32/);
    for (const name of ['../evil', '/etc/evil', 'a/../../evil']) {
      writeFileSync(join(d, 'e.zip'), createZip({ [name]: 'x' }));
      require_dir(join(d, 'o2'));
      expect(() => extractZip(join(d, 'e.zip'), join(d, 'o2'))).toThrow(ZipError);
    }
    const linkZip = createZip({ link: { data: '/etc/passwd', mode: 0o777 } });
    // Mark the entry as a symlink (S_IFLNK) in the central directory's external attributes.
    const cen = linkZip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    linkZip.writeUInt32LE(((0o120000 | 0o777) << 16) >>> 0, cen + 38);
    writeFileSync(join(d, 'l.zip'), linkZip);
    require_dir(join(d, 'o3'));
    expect(() => extractZip(join(d, 'l.zip'), join(d, 'o3'))).toThrow(/links are refused/);
  });
});

function require_dir(p: string) {
  mkdirSync(p, { recursive: true });
}

describe('journal', () => {
  it('finds the interrupted command and the undelivered result, ignoring a torn last line', () => {
    const d = tmp();
    const j = new Journal(join(d, 'j'));
    j.begin('a', 'install-release');
    j.mark('a', 'staging');
    j.begin('b', 'run-migrations');
    j.append({ op: 'result', id: 'b', body: { statement: { x: 1 }, signature: 's' } });
    j.begin('c', 'lock-installer');
    j.append({ op: 'result', id: 'c', body: { statement: {}, signature: 's' } });
    j.append({ op: 'posted', id: 'c' });
    j.close();
    appendFileSync(join(d, 'j'), '{"op":"begin","id":"d"');
    const { open, unposted } = Journal.pending(Journal.read(join(d, 'j')));
    expect(open).toEqual([{ id: 'a', type: 'install-release', marks: [{ step: 'staging' }] }]);
    expect(unposted.map((u) => u.id)).toEqual(['b']);
  });
});

describe('hooks', () => {
  it('get the command as JSON on stdin; exit 0 answers stdout, 75 is transient, others fail', async () => {
    const d = tmp();
    const hook = join(d, 'h');
    writeFileSync(hook, '#!/bin/sh\nread input\ncase "$input" in *fail*) echo "no luck" >&2; exit 3;; *later*) exit 75;; esac\necho "{\\"seen\\": $input}"\n');
    chmodSync(hook, 0o755);
    expect(await runHook(hook, { a: 1 }, { timeoutMs: 5000 })).toMatchObject({ ok: true, output: { seen: { a: 1 } } });
    expect(await runHook(hook, { fail: 1 }, { timeoutMs: 5000 })).toMatchObject({ ok: false, exitCode: 3, message: expect.stringContaining('no luck') });
    expect(await runHook(hook, { later: 1 }, { timeoutMs: 5000 })).toMatchObject({ ok: false, transient: true });
  });
});

describe('host files', () => {
  it('writes env values with mode 0600 and keeps other lines', () => {
    const d = tmp();
    const env = join(d, '.env');
    writeFileSync(env, 'APP_NAME=shop\nAPP_KEY=old\n', { mode: 0o644 });
    writeEnvValues(env, { APP_KEY: 'new value', DB_PASSWORD: 'p"w' });
    expect(readFileSync(env, 'utf8')).toBe('APP_NAME=shop\nAPP_KEY="new value"\nDB_PASSWORD="p\\"w"\n');
    expect(statSync(env).mode & 0o777).toBe(0o600);
  });

  it('generates the three keys 0600 once and refuses key files others can read', () => {
    const d = join(tmp(), 'agent');
    const first = initKeys(d);
    expect(initKeys(d)).toEqual(first);
    for (const f of [paths(d).attestationKey, paths(d).agentKey, paths(d).encryptionKey]) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(statSync(d).mode & 0o777).toBe(0o700);
    chmodSync(paths(d).agentKey, 0o644);
    expect(() => loadIdentity(d)).toThrow(/0600/);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(0, 100, 1000, () => 0)).toBe(100);
    expect(backoffMs(3, 100, 1000, () => 1)).toBe(800);
    expect(backoffMs(10, 100, 1000, () => 1)).toBe(1000);
    const spread = new Set(Array.from({ length: 20 }, () => backoffMs(4, 100, 10_000)));
    expect(spread.size).toBeGreaterThan(5);
  });
});
