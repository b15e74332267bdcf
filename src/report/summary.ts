/**
 * The figures `emulate` and `simulate` both print under the same `--json` fields, so a run on
 * sockets and a run in virtual time of the same seed and size can be compared field by field.
 */

/** Latency figures in milliseconds (the emulator's `latencyMs`). */
export interface LatencyStats {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface MessageTotals {
  /** Broadcasts made. */
  readonly sent: number;
  /** (message, peer) pairs that should have been delivered. */
  readonly expected: number;
  /** Of those, the ones that were. */
  readonly received: number;
}

export interface OverlaySummary {
  readonly components: number;
  readonly degree: { readonly min: number; readonly mean: number; readonly max: number };
  readonly hops: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Payload-carrying sends per delivery (1 is a perfect tree; a flood is about the degree). */
  readonly payloadSendsPerDelivery: number;
}

/** The value below which `fraction` of the ascending `sorted` values lie (nearest rank). */
export function percentileOf(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}

export function latencyStatsOf(sorted: ArrayLike<number>): LatencyStats | null {
  if (sorted.length === 0) return null;
  return {
    count: sorted.length,
    p50: percentileOf(sorted, 0.5),
    p90: percentileOf(sorted, 0.9),
    p99: percentileOf(sorted, 0.99),
    max: sorted[sorted.length - 1] as number,
  };
}
