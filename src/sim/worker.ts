import { parentPort, workerData } from 'node:worker_threads';
import type { SimProgress, SimulationOptions } from './run.js';
import { type SimulatedOverlay, simulate } from './simulate.js';

/**
 * The thread a `simulate` run lives in (`in-worker.ts` starts it): the run, its progress posted
 * as it goes, then its result. A thread so that its heap has a limit of its own: a run that does
 * not fit ends the thread, not the process, and the command can say why.
 */
export interface SimWorkerData {
  readonly overlay: SimulatedOverlay;
  readonly options: SimulationOptions;
}

export type SimWorkerMessage =
  | { readonly kind: 'progress'; readonly progress: SimProgress }
  | { readonly kind: 'done'; readonly run: ReturnType<typeof simulate> };

const port = parentPort;
if (port !== null) {
  const { overlay, options } = workerData as SimWorkerData;
  const run = simulate(overlay, options, (progress) => {
    port.postMessage({ kind: 'progress', progress } satisfies SimWorkerMessage);
  });
  port.postMessage({ kind: 'done', run } satisfies SimWorkerMessage);
}
