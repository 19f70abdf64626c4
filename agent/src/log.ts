// Structured log lines (one JSON object per line on stderr). Fields named like secrets are redacted and
// callers never pass secret values: sealed boxes, env values and tokens stay out of every line.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /token|secret|password|sealed|signature|privatekey|authorization/i;

export interface Logger {
  (level: Level, message: string, fields?: Record<string, unknown>): void;
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_FIELD.test(k) ? '[redacted]' : v;
  return out;
}

export function createLogger(opts: { level?: Level | 'silent'; write?: (line: string) => void } = {}): Logger {
  const level = opts.level ?? ((process.env.DCP_AGENT_LOG_LEVEL as Level | 'silent' | undefined) ?? 'info');
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  return (l, message, fields = {}) => {
    if (level === 'silent' || ORDER[l] < ORDER[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: l, component: 'dcp-agent', message, ...redact(fields) }));
  };
}
