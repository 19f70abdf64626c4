// The generated OpenAPI document under Spectral's OpenAPI rules and the OWASP API Security Top 10 (2023)
// ruleset, as configured in .spectral.yaml: one spawn of the CLI on the document written to a temp dir.
// Any error or warning fails; a rule switched off in .spectral.yaml must say why next to it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/core/openapi.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const RULESET = join(ROOT, '.spectral.yaml');
const CLI = join(ROOT, 'node_modules/@stoplight/spectral-cli/dist/index.js');

interface SpectralResult {
  code: string;
  message: string;
  path: string[];
  severity: number;
}

describe('Spectral: spectral:oas + OWASP API Security 2023', () => {
  it('the generated document has no error and no warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcp-spectral-'));
    try {
      // Named openapi.json: the ruleset's overrides address the document by that name.
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(openApiDocument(), null, 2));
      // Exit status 1 means "results at error severity"; the JSON on stdout is judged either way.
      const out = await run(process.execPath, [CLI, 'lint', file, '--ruleset', RULESET, '--format', 'json', '--quiet'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).catch(
        (e: { code?: number; stdout?: string; stderr?: string }) => {
          if (e.code === 1 && e.stdout) return { stdout: e.stdout, stderr: e.stderr ?? '' };
          throw new Error(`spectral failed to run (exit ${e.code}): ${e.stderr}`);
        },
      );
      const results = JSON.parse(out.stdout) as SpectralResult[];
      const findings = results.filter((r) => r.severity <= 1).map((r) => `${['error', 'warn'][r.severity]} ${r.code} at ${r.path.join('/')}: ${r.message}`);
      expect(findings).toEqual([]);
      // Infos and hints would be listed too; there are none today and none should creep in unseen.
      expect(results.map((r) => `${r.code} at ${r.path.join('/')}`)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('extends spectral:oas and the OWASP ruleset, and every rule switched off carries its reason', () => {
    const lines = readFileSync(RULESET, 'utf8').split('\n');
    expect(lines).toContain('  - spectral:oas');
    expect(lines).toContain('  - "@stoplight/spectral-owasp-ruleset"');
    const off = lines.map((line, i) => ({ line, i })).filter(({ line }) => /:\s*off\s*$/.test(line));
    expect(off.length).toBeGreaterThan(0);
    for (const { line, i } of off) {
      // The comment above the rule, or above the override block the rule sits in.
      let j = i - 1;
      while (j >= 0 && !lines[j]!.trim().startsWith('#') && !/^\s*- files:/.test(lines[j]!) && lines[j]!.trim() !== '') j--;
      if (j >= 0 && /^\s*- files:/.test(lines[j]!)) j--;
      expect(lines[j]?.trim().startsWith('#'), `no reason written above "${line.trim()}"`).toBe(true);
    }
  });
});
