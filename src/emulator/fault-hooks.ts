import { createRng } from '../core/rng.js';
import type { HostCommand } from '../host/messages.js';
import type { PeerEvent } from '../peer/events.js';
import type { PeerOptions } from '../peer/peer.js';
import { DEFAULT_SHAPE, type LinkShape } from '../scenario/model.js';
import type { Timeline } from '../scenario/timeline.js';
import { FaultRunner, type FaultTarget, NetworkMap } from './faults.js';
import type { MeshState } from './mesh.js';
import type { PeerHandle, PeerHost, PeerOutcome } from './pool.js';

/**
 * Where `runEmulation` meets the faults: how a peer is spawned (with its shaping, and ignoring a
 * peer's events once a fault ended it) and what each fault does to the pool. Without a scenario
 * nothing is shaped and no runner exists: a plain run is what it was.
 */
export interface FaultHooks {
  /** Starts peer `i` now; its events and end go to the emulator's handlers. */
  spawn(i: number): PeerHandle;
  /** Peers a fault ended on purpose: their end is no failure. */
  readonly leaving: ReadonlySet<number>;
  /** Present when the run has a timeline or a live view (which deals faults through it). */
  readonly runner: FaultRunner | undefined;
  /** Partition groups and their heal (present with shaping, a timeline or a live view). */
  readonly network: NetworkMap | undefined;
  /** What the faults do to the pool; the live view's kill and restart use it too. */
  readonly target: FaultTarget;
  /** Sends a command to the running peer `i`, if any. */
  send(i: number, command: HostCommand): void;
  /** The latest handle of peer `i` (its first, or the one a fault started), if any. */
  handle(i: number): PeerHandle | undefined;
}

export interface FaultHookOptions {
  readonly timeline: Timeline;
  readonly pool: PeerHost;
  readonly mesh: MeshState;
  readonly ports: readonly number[];
  readonly addresses: readonly string[];
  readonly peerOptions: readonly PeerOptions[];
  readonly onEvent: (i: number, event: PeerEvent) => void;
  readonly onEnd: (i: number, outcome: PeerOutcome) => void;
  /** Re-checks the emulator's waits (a link count changed without an event). */
  readonly wake: () => void;
  /** Every event of every peer, even those of a peer a fault ended (for the live view, metrics). */
  readonly observe?: (i: number, event: PeerEvent) => void;
  /** Bytes moved by peer i's sockets, as its thread reports them. */
  readonly observeBytes?: (i: number, bytesIn: number, bytesOut: number) => void;
  /** A live view deals faults, partitions included: the network map exists from the start. */
  readonly live?: boolean;
  readonly now: () => number;
}

/**
 * Seeds the choice of contacts (xor with the run's seed). It was a plain LCG taken modulo the
 * number of running peers, whose multiplier 1,664,525 is a multiple of 25: with 5 or 25 peers
 * running, its first draw was the same peer whatever the seed.
 */
const CONTACT_STREAM = 0x6a01_4e75;

function sameShape(a: LinkShape, b: LinkShape): boolean {
  return (
    a.latencyMs === b.latencyMs &&
    a.jitterMs === b.jitterMs &&
    a.loss === b.loss &&
    a.bandwidthBps === b.bandwidthBps
  );
}

export function faultHooks(options: FaultHookOptions): FaultHooks {
  const { timeline, pool, mesh, ports, addresses, peerOptions } = options;
  const shaped = !sameShape(timeline.shape, DEFAULT_SHAPE);
  const needsNetwork = shaped || timeline.actions.length > 0 || options.live === true;
  const network = needsNetwork ? new NetworkMap(ports) : undefined;
  let shape: LinkShape | null = shaped ? timeline.shape : null;
  const handles: Array<PeerHandle | undefined> = ports.map(() => undefined);
  /** Bumped when a fault ends or restarts a peer: the older handle's events are ignored. */
  const generation = ports.map(() => 0);
  const leaving = new Set<number>();
  const joinRng = createRng((timeline.seed ^ CONTACT_STREAM) >>> 0);
  /** Peers a fault started, by the contact they join through, until a fault ends that contact. */
  const joiningThrough = new Map<number, Set<number>>();

  const spawn = (i: number, connect?: string): PeerHandle => {
    generation[i] = (generation[i] ?? 0) + 1;
    const current = generation[i];
    const handle = pool.spawn(
      {
        ...peerOptions[i],
        ...(connect === undefined ? {} : { connect }),
        ...(network === undefined ? {} : { shaping: network.shaping(i, timeline.seed, shape) }),
      },
      (event) => {
        options.observe?.(i, event);
        if (generation[i] === current) options.onEvent(i, event);
      },
      options.observeBytes === undefined
        ? undefined
        : (bytesIn, bytesOut) => options.observeBytes?.(i, bytesIn, bytesOut),
    );
    void handle.done.then((outcome) => {
      if (generation[i] === current) options.onEnd(i, outcome);
    });
    handles[i] = handle;
    return handle;
  };

  /** A running peer to join through, chosen by the seed (a stream of its own, not the runner's). */
  const contact = (self: number): { index: number; address: string } | undefined => {
    const live = mesh.live.filter((j) => j !== self && !leaving.has(j));
    if (live.length === 0) return undefined;
    const index = joinRng.pick(live);
    return { index, address: addresses[index] as string };
  };

  const joinThrough = (i: number, through: number | undefined): void => {
    if (through === undefined) return;
    let joiners = joiningThrough.get(through);
    if (joiners === undefined) {
      joiners = new Set();
      joiningThrough.set(through, joiners);
    }
    joiners.add(i);
  };

  /**
   * Peer `gone` ended: every peer that joined through it and holds no link to anyone else joins
   * again through another running peer. A started peer knows no address but its contact's, and on
   * sockets its join takes a dial, an address proof and a handshake (0.2-1 s while 200 peers
   * gossip): when the churn killed the contact within that time (seed 7 of the research scenario:
   * 2-3 of 20 started peers), the peer redialled the dead address for the rest of the run, alone.
   */
  const rejoinOrphans = (gone: number): void => {
    const joiners = joiningThrough.get(gone);
    joiningThrough.delete(gone);
    for (const j of joiners ?? []) {
      if (leaving.has(j) || !mesh.live.includes(j)) continue;
      if (mesh.neighbours(j).some((k) => k !== gone)) continue;
      const next = contact(j);
      if (next === undefined) continue;
      joinThrough(j, next.index);
      handles[j]?.send({ type: 'join', address: next.address });
    }
  };

  const target: FaultTarget = {
    start(i) {
      const previous = handles[i]?.done;
      const chosen = contact(i);
      const connect = chosen?.address;
      joinThrough(i, chosen?.index);
      leaving.delete(i);
      mesh.started(i);
      // A restart waits for the old peer to have let its port go.
      if (previous === undefined) spawn(i, connect);
      else void previous.then(() => spawn(i, connect));
    },
    end(i, how) {
      const handle = handles[i];
      leaving.add(i);
      mesh.ended(i);
      // Its last events (links going down as it dies) must not count again.
      generation[i] = (generation[i] ?? 0) + 1;
      handle?.send({ type: how });
      rejoinOrphans(i);
      options.wake();
    },
    cut(count, rng) {
      const pairs: Array<[number, number]> = [];
      for (const i of mesh.live)
        for (const j of mesh.neighbours(i)) if (j > i && !leaving.has(j)) pairs.push([i, j]);
      const chosen = rng.shuffle(pairs).slice(0, count);
      for (const [i, j] of chosen)
        handles[i]?.send({ type: 'break-link', peer: addresses[j] as string });
      return chosen.length;
    },
    reshape(next) {
      if (next !== undefined) shape = next;
      for (const i of mesh.live)
        handles[i]?.send(
          next === undefined ? { type: 'reshape' } : { type: 'reshape', shape: next },
        );
    },
    port: (i) => ports[i] ?? 0,
  };
  const runner =
    network === undefined || (timeline.actions.length === 0 && options.live !== true)
      ? undefined
      : new FaultRunner(timeline, target, network, options.now);
  return {
    spawn: (i) => spawn(i),
    leaving,
    runner,
    network,
    target,
    send: (i, command) => handles[i]?.send(command),
    handle: (i) => handles[i],
  };
}
