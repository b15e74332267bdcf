import { now } from '../peer/clock.js';
import { countSockets, reportAll } from './census.js';
import type { EmulationResult, EmulationStatus } from './result.js';
import { snapshot } from './run-report.js';
import type { Run } from './run-start.js';
import type { WaitOutcome } from './run-tracker.js';

/** How a run's last wait ended, as its status. */
function statusOf(run: Run, outcome: WaitOutcome): EmulationStatus {
  if (outcome === 'aborted') return 'interrupted';
  if (run.tracker.failed()) return 'failed';
  if (outcome === 'timeout') return 'timeout';
  return 'mesh';
}

/** Takes the last counts, stops every peer, thread and process, and returns the report. */
export async function endRun(run: Run, outcome: WaitOutcome): Promise<EmulationResult> {
  const { options, tracker, measured, handles } = run;
  const { n } = run.plan;
  const { basePort } = run.plan.config;
  const status = statusOf(run, outcome);
  options.trace?.close(now(), () => tracker.mesh.liveAdjacency());
  // What the matrix shows is the network as it was when stopping began.
  tracker.frozen = true;
  measured.socketsEnd = countSockets(basePort, basePort + n - 1);
  if (measured.traffic === undefined)
    measured.traffic = { counts: await reportAll(handles), links: tracker.mesh.mutualLinks };
  tracker.enter('stopping');
  tracker.overlay?.dispose();
  run.openFiles.stop();
  await run.pool.destroy();
  return snapshot(run, status);
}
