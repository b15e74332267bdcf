import { createRng } from '../core/rng.js';
import { now } from '../peer/clock.js';
import { chainBootstrap, randomBootstrap } from './bootstrap.js';
import { countSockets, reportAll } from './census.js';
import { sendJoinsInWaves } from './overlay-joins.js';
import { BOOTSTRAP_STREAM } from './run-plan.js';
import type { Run } from './run-start.js';
import type { WaitOutcome } from './run-tracker.js';

/**
 * Waits for every peer to listen, has each join, and waits for the full mesh (or the overlay) to
 * form; once the mesh is whole, counts its sockets and the threads' traffic as formed.
 */
export async function formMesh(run: Run): Promise<WaitOutcome> {
  const { options, tracker, deadline, handles, measured } = run;
  const { n, ports, seed } = run.plan;
  const { basePort } = run.plan.config;
  const { mesh, overlay, waitFor, failed } = tracker;
  let outcome = await waitFor(() => tracker.accounted >= n, deadline);
  if (outcome === 'done' && !failed()) {
    tracker.enter('forming');
    const joins =
      options.host?.joins(ports) ??
      (overlay === undefined
        ? chainBootstrap(ports)
        : randomBootstrap(ports, createRng(seed ^ BOOTSTRAP_STREAM))
      ).map((a) => (a === undefined ? [] : [a]));
    const join = (i: number, address: string): void => handles[i]?.send({ type: 'join', address });
    if (overlay === undefined) {
      joins.forEach((addresses, i) => {
        for (const a of addresses) join(i, a);
      });
    } else {
      const linked = (i: number): boolean => mesh.neighbours(i).length > 0 || i === 0;
      const stopped = (): boolean =>
        failed() || now() > deadline || options.signal?.aborted === true;
      await sendJoinsInWaves(joins, join, linked, waitFor, stopped);
    }
    outcome = await waitFor(() => tracker.formed() || failed(), deadline);
    if (outcome === 'done' && overlay !== undefined) overlay.onFormed(run.rssBefore, basePort);
  }
  if (outcome === 'done' && mesh.complete) {
    run.openFiles.sample();
    measured.socketsFormed = countSockets(basePort, basePort + n - 1);
    measured.traffic = { counts: await reportAll(handles), links: mesh.mutualLinks };
  }
  return outcome;
}
