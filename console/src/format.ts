export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function between(start: string | undefined, stop: string | null | undefined, now = Date.now()): string {
  if (!start) return '—';
  const end = stop ? Date.parse(stop) : now;
  return duration(end - Date.parse(start));
}

export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  return `${duration(now - Date.parse(iso))} ago`;
}

export function newId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}
