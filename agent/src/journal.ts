// The agent's durable journal: one JSON record per line, each appended and fsync'd before the agent acts
// on it, so a process killed at any point (kill -9, power loss) finds on restart which command was under
// way, how far it got, and which signed results were made but not yet delivered.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { writeFileDurable } from './fsutil.js';

export type JournalRecord =
  | { op: 'begin'; id: string; type: string; at: string }
  | { op: 'mark'; id: string; step: string; data?: Record<string, unknown>; at: string }
  | { op: 'result'; id: string; body: { statement: Record<string, unknown>; signature: string }; at: string }
  | { op: 'posted'; id: string; at: string }
  | { op: 'recovered'; id: string; action: string; at: string };

type WithoutAt<T> = T extends unknown ? Omit<T, 'at'> : never;

export interface OpenCommand {
  id: string;
  type: string;
  marks: { step: string; data?: Record<string, unknown> }[];
}

export class Journal {
  private fd: number;

  constructor(private readonly file: string) {
    this.fd = openSync(file, 'a', 0o600);
  }

  append(record: WithoutAt<JournalRecord>): void {
    const line = Buffer.from(`${JSON.stringify({ ...record, at: new Date().toISOString() })}\n`, 'utf8');
    let done = 0;
    while (done < line.length) done += writeSync(this.fd, line, done, line.length - done);
    fsyncSync(this.fd);
  }

  begin(id: string, type: string): void {
    this.append({ op: 'begin', id, type });
  }

  mark(id: string, step: string, data?: Record<string, unknown>): void {
    this.append({ op: 'mark', id, step, ...(data ? { data } : {}) });
  }

  /** Every record; a torn last line (the process died while writing it) is ignored. */
  static read(file: string): JournalRecord[] {
    if (!existsSync(file)) return [];
    const out: JournalRecord[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as JournalRecord);
      } catch {
        // torn write at the end
      }
    }
    return out;
  }

  /** Commands begun without a result, and results made but not posted. */
  static pending(records: JournalRecord[]): { open: OpenCommand[]; unposted: Extract<JournalRecord, { op: 'result' }>[] } {
    const open = new Map<string, OpenCommand>();
    const results = new Map<string, Extract<JournalRecord, { op: 'result' }>>();
    for (const r of records) {
      if (r.op === 'begin') open.set(r.id, { id: r.id, type: r.type, marks: [] });
      else if (r.op === 'mark') open.get(r.id)?.marks.push({ step: r.step, ...(r.data ? { data: r.data } : {}) });
      else if (r.op === 'result') {
        open.delete(r.id);
        results.set(r.id, r);
      } else if (r.op === 'posted') results.delete(r.id);
      else if (r.op === 'recovered') open.delete(r.id);
    }
    return { open: [...open.values()], unposted: [...results.values()] };
  }

  /** Rewrite the journal keeping only what is still pending (after recovery and delivery). */
  compact(): void {
    const { open, unposted } = Journal.pending(Journal.read(this.file));
    const keep: string[] = [];
    for (const u of unposted) keep.push(JSON.stringify(u));
    for (const o of open) {
      keep.push(JSON.stringify({ op: 'begin', id: o.id, type: o.type, at: new Date().toISOString() }));
      for (const m of o.marks) keep.push(JSON.stringify({ op: 'mark', id: o.id, ...m, at: new Date().toISOString() }));
    }
    closeSync(this.fd);
    writeFileDurable(this.file, keep.length ? `${keep.join('\n')}\n` : '', 0o600);
    this.fd = openSync(this.file, 'a', 0o600);
  }

  close(): void {
    closeSync(this.fd);
  }
}
