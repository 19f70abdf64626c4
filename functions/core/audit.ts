// The audit chain (SPEC §8), pure: building the next record of a stream and verifying a stream.
// hash = SHA-256 over the RFC 8785 form of the record without `hash`; prevHash links to the record before;
// the head item (last seq and hash) lets verification notice records cut off the end.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export const GENESIS_HASH = '0'.repeat(64);
export const CONTROL_STREAM = 'control';

export function targetStream(targetId: string): string {
  return `target:${targetId}`;
}

export interface AuditInput {
  stream: string;
  actor: string;
  action: string;
  targetId?: string;
  details: Record<string, unknown>;
}

export interface AuditRecord {
  stream: string;
  seq: number;
  at: string;
  actor: string;
  action: string;
  targetId?: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditHead {
  stream: string;
  lastSeq: number;
  lastHash: string;
}

/** Plain JSON copy: drops undefined members so the stored and the hashed forms are the same. */
function jsonClone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
  const canonical = (canonicalize as unknown as (v: unknown) => string | undefined)(record);
  if (canonical === undefined) throw new Error('audit record is not canonicalizable');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

export function nextRecord(head: AuditHead | undefined, input: AuditInput, at: Date): AuditRecord {
  const body: Omit<AuditRecord, 'hash'> = jsonClone({
    stream: input.stream,
    seq: (head?.lastSeq ?? 0) + 1,
    at: at.toISOString(),
    actor: input.actor,
    action: input.action,
    ...(input.targetId !== undefined ? { targetId: input.targetId } : {}),
    details: input.details,
    prevHash: head?.lastHash ?? GENESIS_HASH,
  });
  return { ...body, hash: hashRecord(body) };
}

export interface VerifyResult {
  valid: boolean;
  checked: number;
  head: { seq: number; hash: string } | null;
  firstBrokenSeq?: number;
  reason?: string;
}

/**
 * Incremental verifier: feed records in seq order (pages), then finish with the head item.
 * Reports the first seq whose record is missing, altered or out of place.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private broken?: { seq: number; reason: string };
  checked = 0;

  constructor(readonly stream: string) {}

  add(record: AuditRecord): void {
    if (this.broken) return;
    this.checked++;
    const seq = record.seq;
    if (seq !== this.expectedSeq) {
      this.broken = { seq: this.expectedSeq, reason: `record ${this.expectedSeq} is missing (next stored is ${seq})` };
      return;
    }
    const { hash, ...rest } = record;
    if (record.stream !== this.stream) {
      this.broken = { seq, reason: `record ${seq} names stream ${record.stream}` };
    } else if (record.prevHash !== this.prevHash) {
      this.broken = { seq, reason: `record ${seq} does not link to record ${seq - 1}` };
    } else if (hashRecord(rest) !== hash) {
      this.broken = { seq, reason: `record ${seq} was altered (hash mismatch)` };
    }
    this.prevHash = hash;
    this.expectedSeq++;
  }

  finish(head: AuditHead | undefined): VerifyResult {
    const headOut = head ? { seq: head.lastSeq, hash: head.lastHash } : null;
    if (this.broken) {
      return { valid: false, checked: this.checked, head: headOut, firstBrokenSeq: this.broken.seq, reason: this.broken.reason };
    }
    const lastSeq = this.expectedSeq - 1;
    if (!head) {
      if (lastSeq === 0) return { valid: true, checked: 0, head: null };
      return { valid: false, checked: this.checked, head: null, firstBrokenSeq: 1, reason: 'the stream has records but no head item' };
    }
    if (head.lastSeq !== lastSeq || head.lastHash !== this.prevHash) {
      const firstBrokenSeq = head.lastSeq > lastSeq ? lastSeq + 1 : head.lastSeq < lastSeq ? head.lastSeq + 1 : lastSeq;
      return {
        valid: false,
        checked: this.checked,
        head: headOut,
        firstBrokenSeq,
        reason:
          head.lastSeq > lastSeq
            ? `records ${lastSeq + 1}..${head.lastSeq} were cut off the end (head says ${head.lastSeq})`
            : `the head (seq ${head.lastSeq}) does not match the last record (seq ${lastSeq})`,
      };
    }
    return { valid: true, checked: this.checked, head: headOut };
  }
}
