// Install time of a 50 MB zip release by dcp-agent (download over local HTTP with a streaming sha256,
// signature and anti-rollback checks, size+sha256 check, unpack with CRC-32 checks and an fsync per file,
// atomic `current` switch) next to a bare `sha256sum` + `unzip` of the same file, in the same run,
// alternating, median of the rounds. Goal: the agent within 2x of the bare tools.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../agent/src/agent.js';
import { initKeys, pinKey, saveConfig, saveToken } from '../agent/src/config.js';
import { enrollmentConfig } from '../agent/src/main.js';
import { createZip } from '../agent/src/zip.js';
import { sampleSigned, signedBy, testKey } from '../test/unit/crypto/release-fixtures.js';
import { formatMs, formatRatio, percentile } from './harness.js';
import type { Bench, BenchContext, BenchResult } from './index.js';

const ROUNDS = 5;
const GOAL = 2;

export const agentInstall: Bench = { id: 'agent', title: 'Installing a 50 MB release with dcp-agent', run };

function release(): Record<string, Buffer> {
  // 400 binary files of 100 KB (incompressible) and 1,000 text files of 10 KB: about 50 MB zipped.
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 400; i++) files[`vendor/blob/${i}.bin`] = randomBytes(100 * 1024);
  const text = Buffer.from('<?php\n// generated application source line for the benchmark\n'.repeat(160));
  for (let i = 0; i < 1000; i++) files[`app/src/${i % 20}/File${i}.php`] = Buffer.concat([text, Buffer.from(String(i))]).subarray(0, 10 * 1024);
  return files;
}

async function run(context: BenchContext): Promise<BenchResult> {
  const base = mkdtempSync(join(tmpdir(), 'dcp-bench-agent-'));
  try {
    context.log('[bench] building the 50 MB release');
    const zip = createZip(release());
    const zipFile = join(base, 'app.zip');
    writeFileSync(zipFile, zip);
    const sha256 = createHash('sha256').update(zip).digest('hex');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(zip.length) });
      createReadStream(zipFile).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/app.zip`;
    const signer = testKey('bench-agent');
    const agentMs: number[] = [];
    const bareMs: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      // A fresh host each round so every install unpacks the whole release.
      const dir = join(base, `host-${round}`, 'agent');
      initKeys(dir);
      saveToken(dir, 'bench-token-not-used-here');
      saveConfig(dir, enrollmentConfig({ api: 'http://127.0.0.1:9', targetId: 'bench', trustedKeys: [pinKey(signer.publicKeyBase64)], threshold: 1, host: { driver: { kind: 'zip', root: join(base, `host-${round}`, 'app') }, envFile: join(base, `host-${round}`, 'env') } }));
      const version = `1.0.${round}`;
      const manifest = signedBy(sampleSigned({ version, artifacts: [{ name: 'app.zip', kind: 'zip', sha256, size: zip.length }], publishedAt: new Date(Date.now() - 1000).toISOString(), expiresAt: new Date(Date.now() + 86400_000).toISOString(), minUpgradeFrom: '0.1.0' }), signer);
      const agent = new Agent({ dir, log: () => undefined, releaseSource: { release: async () => ({ manifest, artifacts: [{ name: 'app.zip', url }] }) } });
      const t0 = performance.now();
      const out = await agent.execute({ id: `bench-${round}`, targetId: 'bench', type: 'install-release', payload: { releaseId: version }, createdAt: new Date().toISOString() });
      const t1 = performance.now();
      if (out.status !== 'succeeded') throw new Error(`agent install failed: ${JSON.stringify(out)}`);
      const bareDir = join(base, `bare-${round}`);
      mkdirSync(bareDir);
      const t2 = performance.now();
      execFileSync('sha256sum', [zipFile]);
      execFileSync('unzip', ['-q', zipFile, '-d', bareDir]);
      const t3 = performance.now();
      if (round > 0) {
        agentMs.push(t1 - t0);
        bareMs.push(t3 - t2);
      }
      rmSync(join(base, `host-${round}`), { recursive: true, force: true });
      rmSync(bareDir, { recursive: true, force: true });
      context.log(`[bench] round ${round}${round === 0 ? ' (warm-up)' : ''}: agent ${formatMs(t1 - t0)}, sha256sum+unzip ${formatMs(t3 - t2)}`);
    }
    server.close();
    const a = percentile(agentMs, 50);
    const b = percentile(bareMs, 50);
    const ratio = Math.round((a / b) * 100) / 100;
    const failures = a / b > GOAL ? [`the agent took ${formatRatio(ratio)} the time of sha256sum+unzip (goal ≤ ${GOAL}×)`] : [];
    const lines = [
      `One zip of ${(statSync(zipFile).size / 1e6).toFixed(1)} MB (400 incompressible 100 KB files, 1,000 deflated 10 KB text files), installed`,
      `${ROUNDS} times after one warm-up, each time on a fresh host folder, alternating with the bare tools on the same file.`,
      'The agent: `install-release` through its command executor — the manifest judged against the pinned key',
      '(strict Ed25519 over RFC 8785 bytes, expiry, anti-rollback), the artifact downloaded over local HTTP with a',
      'streaming sha256 and size check, unpacked by `agent/src/zip.ts` (CRC-32 per entry, then one `sync -f` of the file system),',
      'sealed with its marker and `current` switched by rename. Bare: `sha256sum app.zip && unzip -q app.zip -d dir`',
      '(no download, no fsync).',
      '',
      '| | median | min | max |',
      '|---|---:|---:|---:|',
      `| dcp-agent install | ${formatMs(a)} | ${formatMs(Math.min(...agentMs))} | ${formatMs(Math.max(...agentMs))} |`,
      `| sha256sum + unzip | ${formatMs(b)} | ${formatMs(Math.min(...bareMs))} | ${formatMs(Math.max(...bareMs))} |`,
      '',
      `Ratio (median): **${formatRatio(ratio)}** (goal ≤ ${GOAL}×).`,
    ];
    return { markdown: lines.join('\n'), failures };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
