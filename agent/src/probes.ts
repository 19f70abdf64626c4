// The runtime as this host runs it, discovered by configurable probes (`php -v`, `nginx -v`, compose image
// tags…), plus the agent's own components.
import { execFile } from 'node:child_process';
import type { ProbeSpec } from './config.js';

export const AGENT_VERSION = '1.0.0';

function run(command: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command[0]!, command.slice(1), { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(err);
      resolve(`${stdout}\n${stderr}`);
    });
  });
}

export async function probeRuntime(probes: readonly ProbeSpec[], timeoutMs = 5000): Promise<{ runtime: Record<string, string>; failures: string[] }> {
  const runtime: Record<string, string> = { 'update-client': AGENT_VERSION, 'license-heartbeat-client': AGENT_VERSION };
  const failures: string[] = [];
  await Promise.all(
    probes.map(async (p) => {
      if (p.version !== undefined) {
        runtime[p.component] = p.version;
        return;
      }
      if (!p.command?.length) return;
      try {
        const text = await run(p.command, timeoutMs);
        const m = new RegExp(p.pattern ?? '(\\d+\\.\\d+(?:\\.\\d+)?)').exec(text);
        if (m?.[1]) runtime[p.component] = m[1];
        else failures.push(`${p.component}: no version in the output of ${p.command.join(' ')}`);
      } catch (e) {
        failures.push(`${p.component}: ${p.command.join(' ')} failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }),
  );
  return { runtime, failures };
}
