import { setTimeout as sleep } from 'node:timers/promises';

/** The tests wait on peers the way the benchmarks do: one home, in src/peer/wait.ts. */
export {
  type EventSource,
  isFullMesh,
  nextEvent,
  until,
  WAIT_TIMEOUT_MS,
} from '../../src/peer/wait.js';

/** Polls `read` (the kernel's table has no events) until it returns `want`, or the bound passes. */
export async function settlesAt(
  read: () => number,
  want: number,
  boundMs: number,
): Promise<number> {
  const deadline = performance.now() + boundMs;
  let value = read();
  while (value !== want && performance.now() < deadline) {
    await sleep(25);
    value = read();
  }
  return value;
}
