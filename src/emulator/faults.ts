import { createRng, type Rng } from '../core/rng.js';
import type { ShapingConfig } from '../peer/shaping.js';
import type { LinkShape } from '../scenario/model.js';
import type { Timeline, TimelineAction } from '../scenario/timeline.js';

/**
 * Emulate's faults: a seeded timeline (`scenario/timeline.ts`, the simulator's too) carried out on
 * real peers. The timeline decides which peers and when; this module keeps the shared network
 * state the peers' shaping reads (`peer/shaping.ts`) and calls the emulator for the rest.
 */

/** One fault as applied, for the summary and `--json` (`faults: [...]`). */
export interface AppliedFault {
  readonly kind: TimelineAction['kind'];
  /** When the timeline asked for it, from the start of the measured window. */
  readonly atMs: number;
  /** When it was carried out, from the same start (timers run late on a busy machine). */
  readonly appliedMs: number;
  /** Ports of the peers it took or started. */
  readonly ports?: readonly number[];
  /** Links cut. */
  readonly count?: number;
  /** The partition's groups, as ports. */
  readonly groups?: readonly (readonly number[])[];
  readonly shape?: LinkShape;
  /** Dealt from the live view (`--ui`), not by the timeline. */
  readonly live?: true;
}

/**
 * The network's state every peer's shaping reads, in shared memory: which peer owns a port and
 * each peer's partition group. Written here (listening ports, groups) and by the peers (the local
 * port of each connection they dial).
 */
export class NetworkMap {
  readonly #ports = new SharedArrayBuffer(65_536 * 4);
  readonly #groups: SharedArrayBuffer;
  readonly #groupOf: Int32Array;

  constructor(ports: readonly number[]) {
    const byPort = new Int32Array(this.#ports);
    ports.forEach((port, i) => {
      Atomics.store(byPort, port, i + 1);
    });
    this.#groups = new SharedArrayBuffer(Math.max(1, ports.length) * 4);
    this.#groupOf = new Int32Array(this.#groups);
  }

  shaping(self: number, seed: number, shape: LinkShape | null): ShapingConfig {
    return { seed, self, shape, ports: this.#ports, groups: this.#groups };
  }

  /** Peer `i` is in group `group` (0 for everyone when there is no partition). */
  setGroup(i: number, group: number): void {
    Atomics.store(this.#groupOf, i, group);
  }

  groupOf(i: number): number {
    return Atomics.load(this.#groupOf, i);
  }

  heal(): void {
    this.#groupOf.fill(0);
  }
}

/** What the emulator does for the runner. */
export interface FaultTarget {
  /** Starts peer `i` (a new one, or again on its port after a kill or stop). */
  start(i: number): void;
  /** Ends peer `i`: `kill` destroys its sockets, `stop` says goodbye. */
  end(i: number, how: 'kill' | 'stop'): void;
  /** Breaks `count` links chosen with `rng`; returns how many it broke. */
  cut(count: number, rng: Rng): number;
  /** Tells every running peer the network changed (a heal, a new shape). */
  reshape(shape?: LinkShape): void;
  port(i: number): number;
}

/** Carries out a timeline from `start(at)` on, one timer per distinct instant. */
export class FaultRunner {
  readonly applied: AppliedFault[] = [];
  readonly #timeline: Timeline;
  readonly #target: FaultTarget;
  readonly #network: NetworkMap;
  readonly #rng: Rng;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Origin of `atMs`: the run's launch until `start` moves it to the measured window's start. */
  #start: number;
  readonly #now: () => number;

  constructor(timeline: Timeline, target: FaultTarget, network: NetworkMap, now: () => number) {
    this.#timeline = timeline;
    this.#target = target;
    this.#network = network;
    this.#now = now;
    this.#start = now();
    this.#rng = createRng(timeline.seed ^ 0x0c07_11e5);
  }

  /**
   * Carries out a fault the live view asked for, now, as the timeline would (its `at` is ignored);
   * `applied` lists it, marked live.
   */
  applyNow(action: TimelineAction): void {
    const at = this.#now() - this.#start;
    this.#apply({ ...action, at }, at, true);
  }

  /** Lists a fault carried out elsewhere (the live view's cut of one chosen link). */
  record(fault: Omit<AppliedFault, 'atMs' | 'appliedMs' | 'live'>): void {
    const at = this.#now() - this.#start;
    this.applied.push({ ...fault, atMs: at, appliedMs: at, live: true });
  }

  /** Schedules every action relative to `startedAt` (the clock of `now`). */
  start(startedAt: number): void {
    this.#start = startedAt;
    const now = this.#now;
    const actions = this.#timeline.actions;
    let i = 0;
    const next = (): void => {
      const first = actions[i];
      if (first === undefined) return;
      const timer = setTimeout(
        () => {
          this.#timers.delete(timer);
          // Every action of this instant, in the timeline's order.
          while (actions[i] !== undefined && (actions[i] as TimelineAction).at === first.at) {
            this.#apply(actions[i] as TimelineAction, now() - this.#start);
            i++;
          }
          next();
        },
        Math.max(0, this.#start + first.at - now()),
      );
      this.#timers.add(timer);
    };
    next();
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #apply(action: TimelineAction, appliedMs: number, live = false): void {
    const target = this.#target;
    const ports = (peers: readonly number[]): number[] => peers.map((p) => target.port(p));
    const base = {
      kind: action.kind,
      atMs: action.at,
      appliedMs,
      ...(live ? { live: true as const } : {}),
    };
    switch (action.kind) {
      case 'start':
      case 'restart':
        action.peers.forEach((p, k) => {
          this.#network.setGroup(p, action.groups[k] ?? 0);
          target.start(p);
        });
        this.applied.push({ ...base, ports: ports(action.peers) });
        return;
      case 'kill':
      case 'stop':
        for (const p of action.peers) target.end(p, action.kind);
        this.applied.push({ ...base, ports: ports(action.peers) });
        return;
      case 'cut':
        this.applied.push({ ...base, count: target.cut(action.count, this.#rng) });
        return;
      case 'partition':
        action.groups.forEach((group, g) => {
          for (const p of group) this.#network.setGroup(p, g);
        });
        this.applied.push({ ...base, groups: action.groups.map(ports) });
        return;
      case 'heal':
        this.#network.heal();
        target.reshape();
        this.applied.push(base);
        return;
      case 'shape':
        target.reshape(action.shape);
        this.applied.push({ ...base, shape: action.shape });
        return;
    }
  }
}

/** One line of the summary: `at 5.0 s (5.01 s): kill 40 peers (ports 20010, ...)`. */
export function describeFault(fault: AppliedFault): string {
  const when = fault.live
    ? `at ${(fault.appliedMs / 1_000).toFixed(2)} s, from the live view`
    : `at ${(fault.atMs / 1_000).toFixed(1)} s (applied ${(fault.appliedMs / 1_000).toFixed(2)} s)`;
  const list = (ports: readonly number[]): string =>
    ports.length <= 6 ? ports.join(' ') : `${ports.slice(0, 6).join(' ')} ... (${ports.length})`;
  switch (fault.kind) {
    case 'cut':
      return `${when}: cut ${fault.count ?? 0} links`;
    case 'partition':
      return `${when}: partition into ${(fault.groups ?? []).map((g) => g.length).join(' + ')} peers`;
    case 'heal':
      return `${when}: heal`;
    case 'shape': {
      const s = fault.shape;
      return `${when}: shape ${s?.latencyMs} ms ± ${s?.jitterMs} ms, loss ${(s?.loss ?? 0) * 100} %`;
    }
    default:
      return `${when}: ${fault.kind} ${fault.ports?.length ?? 0} (${list(fault.ports ?? [])})`;
  }
}
