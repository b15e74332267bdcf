import { performance } from 'node:perf_hooks';

/**
 * Milliseconds since the Unix epoch, with sub-millisecond resolution, on a clock that every thread
 * of the process shares (`timeOrigin` is per thread, `timeOrigin + now()` is not), so a send time
 * taken in one worker and a receive time taken in another can be subtracted.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
