/** The tests wait on peers the way the benchmarks do: one home, in src/peer/wait.ts. */
export {
  type EventSource,
  isFullMesh,
  nextEvent,
  until,
  WAIT_TIMEOUT_MS,
} from '../../src/peer/wait.js';
