// Timing helpers shared by the bench sections. The machine is shared and noisy, so contenders that are
// compared are measured in the same run and interleaved in short rounds: a burst of noise then hits all of
// them instead of one, and the ratios stay meaningful even when the absolute numbers move.
import { performance } from 'node:perf_hooks';

export interface Contender<T> {
  readonly name: string;
  /** The inputs, used round-robin. */
  readonly items: readonly T[];
  /** One operation; its return value is folded into a sink so the work cannot be optimised away. */
  readonly run: (item: T) => unknown;
}

export interface RateResult {
  readonly name: string;
  readonly ops: number;
  readonly ms: number;
  /** Operations per second over all rounds. */
  readonly perSecond: number;
  /** Operations per second of each round, for the spread. */
  readonly roundRates: readonly number[];
}

/** Prevents dead-code elimination of the measured calls. */
export let sink = 0;

function fold(value: unknown): void {
  if (value === undefined || value === null) sink ^= 1;
  else if (typeof value === 'number') sink ^= value | 0;
  else if (typeof value === 'boolean') sink ^= value ? 3 : 5;
  else sink ^= 7;
}

/**
 * Synchronous throughput of each contender on one core: `rounds` rounds, each giving every contender
 * `roundMs` of back-to-back calls in turn. Each contender first runs over all its items once (JIT warm-up).
 */
export function interleavedRates<T>(
  contenders: readonly Contender<T>[],
  options: { rounds: number; roundMs: number },
): RateResult[] {
  for (const c of contenders) {
    if (c.items.length === 0) throw new Error(`${c.name}: no inputs`);
    for (const item of c.items) fold(c.run(item));
  }
  const totals = contenders.map(() => ({ ops: 0, ms: 0, rates: [] as number[] }));
  const cursors = contenders.map(() => 0);
  for (let round = 0; round < options.rounds; round++) {
    contenders.forEach((c, index) => {
      const total = totals[index]!;
      let cursor = cursors[index]!;
      let ops = 0;
      const start = performance.now();
      let elapsed = 0;
      // Check the clock every 32 calls: a call is microseconds or more, reading the clock is not free.
      while (elapsed < options.roundMs) {
        for (let k = 0; k < 32; k++) {
          fold(c.run(c.items[cursor]!));
          cursor = cursor + 1 === c.items.length ? 0 : cursor + 1;
        }
        ops += 32;
        elapsed = performance.now() - start;
      }
      cursors[index] = cursor;
      total.ops += ops;
      total.ms += elapsed;
      total.rates.push((ops / elapsed) * 1000);
    });
  }
  return contenders.map((c, index) => {
    const total = totals[index]!;
    return { name: c.name, ops: total.ops, ms: total.ms, perSecond: (total.ops / total.ms) * 1000, roundRates: total.rates };
  });
}

/**
 * How many times faster `a` is than `b`: the median over rounds of the ratio of their rates in the same
 * round, so one noisy round (a burst from another process) does not move it.
 */
export function roundRatio(a: RateResult, b: RateResult): number {
  if (a.roundRates.length !== b.roundRates.length) throw new Error(`${a.name} and ${b.name} ran different rounds`);
  return median(a.roundRates.map((rate, i) => rate / b.roundRates[i]!));
}

/** Wall time of one async call, in milliseconds. */
export async function timeAsync<T>(task: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await task();
  return { ms: performance.now() - start, value };
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** `123456.7` → `123,457/s`. */
export function formatRate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

/** Per-operation time from a rate: µs below a millisecond, ms above. */
export function formatPerOp(perSecond: number): string {
  const micros = 1e6 / perSecond;
  return micros < 1000 ? `${micros.toFixed(micros < 10 ? 2 : 1)} µs` : `${(micros / 1000).toFixed(2)} ms`;
}

export function formatMs(ms: number): string {
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(ratio < 10 ? 2 : 1)}×`;
}

/** Lowest–highest round rate, to show the noise next to the overall rate. */
export function formatSpread(result: RateResult): string {
  const low = Math.min(...result.roundRates);
  const high = Math.max(...result.roundRates);
  return `${Math.round(low).toLocaleString('en-US')}–${Math.round(high).toLocaleString('en-US')}`;
}

export function verdict(met: boolean): string {
  return met ? 'met' : '**not met**';
}
