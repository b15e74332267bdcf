import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SimProgress, SimulationOptions, SimulationRun } from './run.js';
import type { SimulatedOverlay } from './simulate.js';
import type { SimWorkerData, SimWorkerMessage } from './worker.js';

const here = fileURLToPath(import.meta.url);
/** `src/sim/worker.ts` under tsx (threads inherit `--import tsx`), `dist/sim/worker.js` built. */
const WORKER_FILE = join(dirname(here), `worker${extname(here)}`);

/**
 * Young generation of the run's heap. Most of what a run allocates (events, messages, outputs)
 * dies within a few virtual milliseconds; a larger nursery promotes less of it. Measured at
 * 30,000 peers (seed 7, quiet machine): user CPU 31.3 s with V8's default, 28.2 s with 64 MB
 * semi-spaces (this figure is the three of them, as Node's `maxYoungGenerationSizeMb` counts).
 */
const YOUNG_GENERATION_MB = 192;

/**
 * The thread's first code: imports the worker module. Under tsx (the sources, in tests) a thread
 * does not get the loader hooks `--import tsx` gave this one, so it registers them first.
 */
function bootstrap(): string {
  const entry = JSON.stringify(pathToFileURL(WORKER_FILE).href);
  if (extname(here) !== '.ts') return `import(${entry})`;
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return `import(${tsx}).then((tsx) => tsx.register()).then(() => import(${entry}))`;
}

/** The run's heap went over `heapLimitMb`: the thread was ended, the process lives on. */
export class SimOutOfMemory extends Error {
  readonly code = 'SIM_OUT_OF_MEMORY';
  constructor(readonly heapLimitMb: number) {
    super(`the simulation needed more than its heap limit of ${heapLimitMb} MB`);
    this.name = 'SimOutOfMemory';
  }
}

/** Runs `simulate` in a worker thread whose old generation is capped at `heapLimitMb`. */
export function simulateInWorker(
  overlay: SimulatedOverlay,
  options: SimulationOptions,
  heapLimitMb: number,
  onProgress?: (progress: SimProgress) => void,
): Promise<SimulationRun> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(bootstrap(), {
      eval: true,
      workerData: { overlay, options } satisfies SimWorkerData,
      resourceLimits: {
        maxOldGenerationSizeMb: heapLimitMb,
        maxYoungGenerationSizeMb: YOUNG_GENERATION_MB,
      },
    });
    let run: SimulationRun | null = null;
    worker.on('message', (message: SimWorkerMessage) => {
      if (message.kind === 'progress') onProgress?.(message.progress);
      else run = message.run;
    });
    worker.on('error', (error: Error & { code?: string }) => {
      reject(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new SimOutOfMemory(heapLimitMb) : error);
    });
    worker.on('exit', (code) => {
      if (run !== null) resolve(run);
      else reject(new Error(`the simulation thread exited with code ${code} and no result`));
    });
  });
}

/**
 * Heap per link of the simulated full mesh: each end's `MeshExchange` state for the peer, the
 * `Link`, and the address lists exchanged. Measured (seed 7, 10 messages, heap used at the end):
 * N = 200, 19,900 links, 59 MB; N = 400, 79,800 links, 269 MB; N = 800, 319,600 links, 629 MB
 * (2,063 bytes a link). Time grows faster than memory (every new link carries the whole address
 * list: N = 400 9.8 s of CPU, N = 800 83 s), so long before 8 GB (N about 2,900) a run is hours.
 */
export const FULL_MESH_BYTES_PER_LINK = 2_048;

/** Whether N full-mesh peers' N(N-1)/2 links fit in `heapMb`, by the measured cost per link. */
export function fullMeshFits(
  peers: number,
  heapMb: number,
): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
  const links = (peers * (peers - 1)) / 2;
  const needMb = Math.ceil((links * FULL_MESH_BYTES_PER_LINK) / 2 ** 20);
  if (needMb <= heapMb) return { ok: true };
  const most = Math.floor(
    0.5 + Math.sqrt(0.25 + (2 * heapMb * 2 ** 20) / FULL_MESH_BYTES_PER_LINK),
  );
  return {
    ok: false,
    reason: `a full mesh of ${peers} peers has ${links} links, about ${needMb} MB at ${FULL_MESH_BYTES_PER_LINK} bytes each, over --max-memory ${heapMb} MB: at most about ${most} peers fit`,
  };
}
