import type { Mode } from './report.js';

/** What every benchmark is told: the size of the run and where its results go. */
export interface BenchContext {
  readonly mode: Mode;
  readonly outDir: string;
  /** Worker threads for the emulator's host: one per core. */
  readonly threads: number;
  /** Largest mesh one process can hold under the open-file limit. */
  readonly maxPeers: number;
}

/** Picks the value for the run's mode. */
export function byMode<T>(mode: Mode, values: { full: T; quick: T; smoke: T }): T {
  return values[mode];
}
