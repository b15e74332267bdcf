/**
 * The scenario model: what happens to a network during a run (faults, churn, partitions, link
 * shaping), as plain data. Flags (`flags.ts`) and scenario files (`file.ts`) both produce a
 * `Scenario`; `resolveTimeline` (`timeline.ts`) turns it, with a seed, into the concrete actions a
 * driver carries out: the simulator today, `emulate` on real sockets later. Nothing here imports
 * a driver. Times are milliseconds from the start of the measured phase (the network has formed).
 */

/** How a link carries bytes, one way. Loss shows as delay: TCP retransmits what was lost. */
export interface LinkShape {
  /** One-way delay, mean. */
  readonly latencyMs: number;
  /** Each message's delay is uniform in latencyMs ± jitterMs (never below 0; order kept). */
  readonly jitterMs: number;
  /** Probability that one transmission of a segment is lost (0 to < 1). */
  readonly loss: number;
  /** Bits per second each way, or null for no limit. */
  readonly bandwidthBps: number | null;
}

/** Loopback-like: what a run without shaping options gets. */
export const DEFAULT_SHAPE: LinkShape = { latencyMs: 1, jitterMs: 0, loss: 0, bandwidthBps: null };

/** Which peers an action takes: a number of them or a fraction of those eligible, drawn by seed. */
export type Selection =
  | { readonly count: number }
  | { readonly fraction: number }
  | { readonly all: true };

export type ScenarioStep =
  /** Kill (no goodbye: connections reset) or stop (goodbye) running peers. */
  | { readonly kind: 'kill' | 'stop'; readonly at: number; readonly select: Selection }
  /** Start again peers that were killed or stopped (same address, new identity). */
  | { readonly kind: 'restart'; readonly at: number; readonly select: Selection }
  /** New peers joining. */
  | { readonly kind: 'add'; readonly at: number; readonly count: number }
  /** Close links at random (the driver chooses among the links it has). */
  | { readonly kind: 'cut'; readonly at: number; readonly count: number }
  /**
   * Split the running peers into groups (sizes as fractions summing to 1) that cannot reach each
   * other until `until` (or a later `heal`); peers started meanwhile join a random group.
   */
  | {
      readonly kind: 'partition';
      readonly at: number;
      readonly groups: readonly number[];
      readonly until: number | null;
    }
  | { readonly kind: 'heal'; readonly at: number }
  /** From `at` to `until`, peers leave (killed or stopped) and as many new ones join, at a rate. */
  | {
      readonly kind: 'churn';
      readonly at: number;
      readonly until: number;
      readonly perSecond: number;
      readonly leave: 'kill' | 'stop';
    }
  /** Change the shape of every link from `at` on. */
  | { readonly kind: 'shape'; readonly at: number; readonly shape: Partial<LinkShape> };

export interface Scenario {
  /** Link shape from the start. */
  readonly shape: LinkShape;
  readonly steps: readonly ScenarioStep[];
}

export const EMPTY_SCENARIO: Scenario = { shape: DEFAULT_SHAPE, steps: [] };

/** The last moment a scenario acts at (0 when it has no steps). */
export function scenarioEnd(scenario: Scenario): number {
  let end = 0;
  for (const step of scenario.steps) {
    end = Math.max(end, step.at);
    if (step.kind === 'churn') end = Math.max(end, step.until);
    if (step.kind === 'partition' && step.until !== null) end = Math.max(end, step.until);
  }
  return end;
}

/** Scenario errors carry a stable code; the message names the flag or the file, line and field. */
export type ScenarioErrorCode = 'SCENARIO_FLAG' | 'SCENARIO_SYNTAX' | 'SCENARIO_SCHEMA';

export class ScenarioError extends Error {
  constructor(
    readonly code: ScenarioErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ScenarioError';
  }
}
