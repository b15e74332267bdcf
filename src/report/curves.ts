/**
 * The curves a run's charts draw, from its raw figures: the same for the simulator (virtual time)
 * and the emulator (wall time). No vega here, so a run that draws nothing does not load it.
 */

/** Points of a reach curve: `CURVE_STEPS + 1`, evenly spaced up to the last delivery. */
export const CURVE_STEPS = 40;
/** A latency CDF keeps at most about this many points (every k-th delivery). */
export const CDF_POINTS = 200;

/** [ms after sending, fraction of `expected` reached] from the ascending delays of one message. */
export function reachCurve(delays: readonly number[], expected: number): [number, number][] {
  const last = delays.length === 0 ? 0 : (delays[delays.length - 1] as number);
  const curve: [number, number][] = [];
  for (let s = 0, k = 0; s <= CURVE_STEPS; s++) {
    const ms = (last * s) / CURVE_STEPS;
    while (k < delays.length && (delays[k] as number) <= ms) k++;
    curve.push([ms, expected === 0 ? 1 : k / expected]);
  }
  return curve;
}

/** [latency ms, fraction of deliveries at or below] from ascending latencies. */
export function cdfPoints(sorted: readonly number[]): [number, number][] {
  const points: [number, number][] = [];
  const step = Math.max(1, Math.floor(sorted.length / CDF_POINTS));
  for (let i = 0; i < sorted.length; i += step)
    points.push([sorted[i] as number, (i + 1) / sorted.length]);
  if (sorted.length > 0) points.push([sorted[sorted.length - 1] as number, 1]);
  return points;
}
