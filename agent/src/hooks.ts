// Vendor hook scripts: `<hooksDir>/<command-type>` (any executable). The hook gets a JSON document on
// stdin (the command without secret material, the release folder, the env file path), exit code 0 means
// success, 75 (EX_TEMPFAIL) a failure worth retrying, anything else a failure; stdout is the result
// (a JSON object, or text). stderr goes to the agent's log, truncated.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface HookOutcome {
  ran: boolean;
  ok: boolean;
  transient?: boolean;
  exitCode?: number | null;
  output?: Record<string, unknown>;
  message?: string;
}

const MAX_OUTPUT = 64 * 1024;
export const EX_TEMPFAIL = 75;

export function hookPath(hooksDir: string | undefined, name: string): string | undefined {
  if (!hooksDir) return undefined;
  const file = join(hooksDir, name);
  if (!existsSync(file)) return undefined;
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`hook ${file} exists but is not executable`);
  }
  return file;
}

export function runHook(file: string, input: unknown, opts: { timeoutMs: number; env?: Record<string, string>; onStderr?: (text: string) => void }): Promise<HookOutcome> {
  return new Promise((resolve) => {
    const child = spawn(file, [], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString('utf8');
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(input));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ran: true, ok: false, message: `hook could not start: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (stderr.trim()) opts.onStderr?.(stderr.trim().slice(-2000));
      const text = stdout.trim();
      let output: Record<string, unknown> = {};
      if (text) {
        try {
          const parsed: unknown = JSON.parse(text);
          output = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { stdout: text.slice(0, 4000) };
        } catch {
          output = { stdout: text.slice(0, 4000) };
        }
      }
      if (code === 0) return resolve({ ran: true, ok: true, exitCode: 0, output });
      const why = signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (timeout)' : ''}` : `exit code ${code}`;
      const detail = (typeof output.message === 'string' ? output.message : text || stderr.trim()).slice(-1000);
      resolve({ ran: true, ok: false, transient: code === EX_TEMPFAIL, exitCode: code, output, message: `hook ${why}${detail ? `: ${detail}` : ''}` });
    });
  });
}
