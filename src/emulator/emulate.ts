import { liveRun } from './live-run.js';
import type { EmulationOptions, EmulationProgress } from './options.js';
import type { EmulationResult } from './result.js';
import { endRun } from './run-end.js';
import { formMesh } from './run-form.js';
import { planRun } from './run-plan.js';
import { startRun } from './run-start.js';
import { RunTracker } from './run-tracker.js';
import { measureWindow } from './run-window.js';

export {
  DEFAULTS,
  type EmulationOptions,
  type EmulationPhase,
  type EmulationProgress,
  EmulationSetupError,
  type LiveRun,
} from './options.js';

/**
 * Runs one emulated network: `peers` real peers in a pool of worker threads on consecutive
 * loopback ports, each joining through the one before it. Waits for the full mesh (or the
 * timeout, or the signal), keeps it running for `durationMs` measuring its gossip, stops every
 * peer and thread, and returns every figure. Throws EmulationSetupError when refused up front;
 * otherwise never rejects (a taken port or a dead thread is a `failed` result).
 *
 * Its phases, each in its own module: the plan (run-plan.ts), the start of the pool and peers
 * (run-start.ts), forming the mesh (run-form.ts), the measured window (run-window.ts) and the
 * end (run-end.ts); what the peers' events tell is tracked throughout by run-tracker.ts.
 */
export async function runEmulation(
  options: EmulationOptions,
  onProgress?: (progress: EmulationProgress) => void,
): Promise<EmulationResult> {
  const plan = await planRun(options);
  const tracker = new RunTracker(plan, options, onProgress);
  const run = startRun(plan, tracker, options);
  options.onLaunch?.(liveRun(run));
  const formed = await formMesh(run);
  const outcome = await measureWindow(run, formed);
  return endRun(run, outcome);
}
