import { EMPTY_SCENARIO, type Scenario } from '../scenario/model.js';

/** What a simulated run does (run.ts); the CLI fills in SIM_DEFAULTS. */
export interface SimulationOptions {
  readonly peers: number;
  readonly messages: number;
  readonly seed: number;
  readonly scenario: Scenario;
  /** Peers starting per virtual second while the network forms. */
  readonly joinPerSecond: number;
  /** Virtual time between two samples of the time series (and convergence checks). */
  readonly sampleMs: number;
  /** Measured phase; null: 1 s, or 10 s past the scenario's last step. */
  readonly durationMs: number | null;
  /** After the measured phase, wait at most this long for deliveries to complete. */
  readonly drainMs: number;
  /** Give up waiting for convergence after this long past the last join. */
  readonly convergeTimeoutMs: number;
  /**
   * Whom a starting peer joins through: the bootstrap (the first running peer of its group, as
   * `--connect` to one address does) or a random running peer.
   */
  readonly contact: 'bootstrap' | 'random';
}

export const SIM_DEFAULTS = {
  joinPerSecond: 10_000,
  sampleMs: 250,
  drainMs: 30_000,
  convergeTimeoutMs: 60_000,
  contact: 'bootstrap',
  /** Settling time after the scenario's last step, so that delivery after healing is measured. */
  settleMs: 10_000,
} as const;

/** A run with no faults: `messages` broadcasts at `peers` peers (the benchmark's and tests' plain run). */
export function plainRun(peers: number, seed: number, messages = 10): SimulationOptions {
  return { ...SIM_DEFAULTS, peers, messages, seed, scenario: EMPTY_SCENARIO, durationMs: null };
}

export interface SimProgress {
  readonly phase: string;
  readonly virtualMs: number;
  readonly peers: number;
  readonly components: number;
  readonly events: number;
}
