// Structured log lines to stdout (CloudWatch in AWS). Callers never pass secret values.
export type Logger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export const log: Logger = (level, message, fields) => {
  if (process.env.DCP_LOG_LEVEL === 'silent') return;
  const line = JSON.stringify({ level, message, ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
};
