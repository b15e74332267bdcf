import type { LiveRun } from './options.js';
import { snapshot } from './run-report.js';
import type { Run } from './run-start.js';

/**
 * The handle of the live view. Its faults are the scenario's, carried out and listed by the same
 * runner: a kill or stop the run expects, a restart that joins through a running peer, a link
 * broken as the network would, partitions held by the peers' shaping.
 */
export function liveRun(run: Run): LiveRun {
  const { tracker, faults } = run;
  const { ports, addresses } = run.plan;
  const { mesh } = tracker;
  return {
    addresses,
    snapshot: () =>
      snapshot(
        run,
        tracker.failed() ? 'failed' : tracker.meshAt === undefined ? 'interrupted' : 'mesh',
      ),
    end: (i, how) => {
      if (tracker.frozen || faults.leaving.has(i) || !mesh.live.includes(i)) return;
      faults.runner?.applyNow({ kind: how, at: 0, peers: [i] });
    },
    restart: (i) => {
      if (tracker.frozen || !faults.leaving.has(i)) return;
      const group = faults.network?.groupOf(i) ?? 0;
      faults.runner?.applyNow({ kind: 'restart', at: 0, peers: [i], groups: [group] });
    },
    breakLink: (i, j) => {
      const other = addresses[j];
      if (tracker.frozen || other === undefined) return;
      faults.send(i, { type: 'break-link', peer: other });
      faults.runner?.record({ kind: 'cut', count: 1, ports: [ports[i] ?? 0, ports[j] ?? 0] });
    },
    partition: (groups) => {
      if (!tracker.frozen) faults.runner?.applyNow({ kind: 'partition', at: 0, groups });
    },
    heal: () => {
      if (!tracker.frozen) faults.runner?.applyNow({ kind: 'heal', at: 0 });
    },
  };
}
