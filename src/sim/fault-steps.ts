import type { Rng } from '../core/rng.js';
import type { TimelineAction } from '../scenario/timeline.js';
import type { SimNetwork } from './network.js';
import type { FaultRecord, Recorder } from './recorder.js';
import type { RunningSet } from './running-set.js';

/**
 * Carries out the scenario's steps on the simulated network as they come due, and records each
 * as a fault. `startPeer` starts a peer in its group, joining as the run's peers do; `cutRng`
 * chooses the links a cut breaks.
 */
export function faultApplier<M, E>(
  net: SimNetwork<M, E>,
  recorder: Recorder,
  running: RunningSet,
  startPeer: (i: number, group: number) => void,
  cutRng: Rng,
): (action: TimelineAction) => void {
  return (action) => {
    const t = net.now;
    const atMs = action.at;
    /** A step on listed peers, recorded with them. */
    const recordPeers = (kind: FaultRecord['kind'], peers: readonly number[]): void => {
      recorder.faults.push({ t, atMs, kind, peers: peers.length, indices: peers });
    };
    switch (action.kind) {
      case 'start':
      case 'restart':
        action.peers.forEach((p, k) => {
          startPeer(p, action.groups[k] ?? 0);
        });
        recordPeers(action.kind, action.peers);
        return;
      case 'kill':
      case 'stop':
        for (const p of action.peers) {
          net.kill(p, action.kind === 'kill' ? 'reset' : 'goodbye');
          running.delete(p);
        }
        recordPeers(action.kind, action.peers);
        return;
      case 'cut':
        recorder.faults.push({ t, atMs, kind: 'cut', peers: net.cut(action.count, cutRng) });
        return;
      case 'partition':
        net.partition(action.groups);
        recorder.faults.push({ t, atMs, kind: 'partition', peers: action.groups.length });
        return;
      case 'heal':
        net.heal();
        recorder.faults.push({ t, atMs, kind: 'heal', peers: 0 });
        return;
      case 'shape':
        net.shape = action.shape;
        recorder.faults.push({ t, atMs, kind: 'shape', peers: 0 });
        return;
    }
  };
}
