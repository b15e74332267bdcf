import { type Delivery, GossipDeliveries } from '../metrics/deliveries.js';
import type { PeerEvent } from '../peer/events.js';

/**
 * What the live view shows, kept from the peers' events and handed out as frames: the whole
 * picture once (`init`), then only what changed (`frame`), so a page follows 2,000 peers with a
 * few messages a second whatever the event rate. Pure bookkeeping: no I/O, the clock passed in.
 */

/** Gossip messages whose spread is followed: one at a time, the newest once the last is done. */
const SPOTLIGHT_MS = 2_000;
/** Spread curves kept for the reach chart: the last few followed messages. */
const REACH_HISTORY = 8;
/**
 * Latency histogram bucket upper bounds, in ms (log-spaced: loopback deliveries take 0.1-10 ms,
 * overlays up to seconds); one more bucket counts everything above the last.
 */
export const LATENCY_BOUNDS_MS = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000,
];

/** One followed message: who sent it and when each receiver got it. */
export interface Spread {
  readonly id: number;
  readonly text: string;
  readonly origin: number;
  readonly sentAt: number;
  /** [peer, hop, ms after the send], in arrival order. */
  readonly reached: Array<[number, number, number]>;
}

export interface InitMessage {
  readonly type: 'init';
  readonly addresses: readonly string[];
  readonly alive: readonly boolean[];
  readonly edges: ReadonlyArray<readonly [number, number]>;
  readonly latencyBoundsMs: readonly number[];
  readonly frame: FrameMessage;
}

export interface FrameMessage {
  readonly type: 'frame';
  /** Milliseconds since the view started. */
  readonly t: number;
  readonly up: readonly number[];
  readonly down: readonly number[];
  readonly added: ReadonlyArray<readonly [number, number]>;
  readonly removed: ReadonlyArray<readonly [number, number]>;
  readonly phase: string;
  readonly peers: number;
  readonly links: number;
  /** Count of running peers with each degree, index = degree. */
  readonly degrees: readonly number[];
  /** Counts per LATENCY_BOUNDS_MS bucket (plus the overflow one), since the start. */
  readonly latency: readonly number[];
  readonly deliveries: number;
  /**
   * The followed messages that changed, the newest last: in `init` all of them whole, in a frame
   * only the receivers reached since the last frame (the page appends them by `id`).
   */
  readonly spreads: readonly Spread[];
  /**
   * Each peer's partition group, when it changed since the last frame (always in `init`); all
   * zero: no partition.
   */
  readonly groups?: readonly number[];
}

function edgeKey(a: number, b: number): number {
  return a < b ? a * 65_536 + b : b * 65_536 + a;
}

export class LiveNetwork {
  readonly addresses: readonly string[];
  readonly #index: ReadonlyMap<string, number>;
  readonly #startedAt: number;
  /** Per peer: linked peer index -> connections reported (a peer may briefly hold two). */
  readonly #views: Map<number, number>[];
  readonly #alive: boolean[];
  readonly #degree: number[];
  readonly #edges = new Set<number>();
  #up = new Set<number>();
  #down = new Set<number>();
  #added = new Set<number>();
  #removed = new Set<number>();
  readonly #deliveries = new GossipDeliveries();
  readonly #latency = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  #delivered = 0;
  readonly #spreads: Spread[] = [];
  #spotlight: Spread | undefined;
  #spreadIds = 0;
  /** Per followed message: receivers already sent in a frame (-1: not sent at all yet). */
  readonly #shown = new Map<number, number>();
  /** Partition group of each peer (all 0: none), and whether the page has yet to hear of it. */
  readonly #groups: number[];
  #groupsChanged = false;
  phase = 'starting';

  constructor(addresses: readonly string[], startedAt: number) {
    this.addresses = addresses;
    this.#index = new Map(addresses.map((a, i) => [a, i]));
    this.#startedAt = startedAt;
    this.#views = addresses.map(() => new Map());
    this.#alive = addresses.map(() => false);
    this.#degree = addresses.map(() => 0);
    this.#groups = addresses.map(() => 0);
  }

  /**
   * Splits the running peers into `count` groups of consecutive indices (arcs of the circle the
   * page draws); stopped peers join the group of their index's arc when restarted. Returns the
   * groups as peer indices.
   */
  partition(count: number): number[][] {
    const n = this.addresses.length;
    const groups: number[][] = Array.from({ length: count }, () => []);
    for (let i = 0; i < n; i++) {
      const g = Math.min(count - 1, Math.floor((i * count) / n));
      this.#groups[i] = g;
      if (this.#alive[i]) groups[g]?.push(i);
    }
    this.#groupsChanged = true;
    return groups;
  }

  heal(): void {
    this.#groups.fill(0);
    this.#groupsChanged = true;
  }

  observe(i: number, event: PeerEvent): void {
    switch (event.type) {
      case 'listening':
        this.#setAlive(i, true);
        return;
      case 'stopped':
        this.#setAlive(i, false);
        // A stopping peer reports no 'disconnected' for the links it closes.
        for (const j of [...(this.#views[i]?.keys() ?? [])]) this.#unlink(i, j);
        return;
      case 'connected':
      case 'disconnected':
        this.#link(i, event.peer, event.type === 'connected' ? 1 : -1);
        return;
      case 'message-sent':
        this.#follow(i, event.text, event.at);
        for (const delivery of this.#deliveries.onSent(i, event.text, event.at))
          this.#deliver(event.text, delivery);
        return;
      case 'message-received': {
        const delivery = this.#deliveries.onReceived(i, event.text, event.at, event.hops);
        if (delivery !== undefined) this.#deliver(event.text, delivery);
        return;
      }
      default:
        return;
    }
  }

  #deliver(text: string, delivery: Delivery): void {
    this.#delivered++;
    const bucket = LATENCY_BOUNDS_MS.findIndex((bound) => delivery.latencyMs <= bound);
    const slot = bucket === -1 ? LATENCY_BOUNDS_MS.length : bucket;
    this.#latency[slot] = (this.#latency[slot] ?? 0) + 1;
    const spot = this.#spotlight;
    if (spot?.text === text)
      spot.reached.push([delivery.receiver, delivery.hops, delivery.latencyMs]);
  }

  get links(): number {
    return this.#edges.size;
  }

  get running(): number {
    return this.#alive.filter(Boolean).length;
  }

  init(now: number): InitMessage {
    const edges = [...this.#edges].map((k) => [Math.floor(k / 65_536), k % 65_536] as const);
    const frame = this.#figures(now);
    return {
      type: 'init',
      addresses: this.addresses,
      alive: [...this.#alive],
      edges,
      latencyBoundsMs: LATENCY_BOUNDS_MS,
      frame: {
        ...frame,
        spreads: this.#spreads.map((s) => ({ ...s, reached: [...s.reached] })),
        groups: [...this.#groups],
      },
    };
  }

  /** What changed since the last frame, and the current figures. */
  frame(now: number): FrameMessage {
    const pairs = (keys: Set<number>): Array<[number, number]> =>
      [...keys].map((k) => [Math.floor(k / 65_536), k % 65_536]);
    const spreads: Spread[] = [];
    for (const spread of this.#spreads) {
      const shown = this.#shown.get(spread.id) ?? -1;
      if (shown === spread.reached.length) continue;
      spreads.push({ ...spread, reached: spread.reached.slice(Math.max(0, shown)) });
      this.#shown.set(spread.id, spread.reached.length);
    }
    const frame: FrameMessage = {
      ...this.#figures(now),
      up: [...this.#up],
      down: [...this.#down],
      added: pairs(this.#added),
      removed: pairs(this.#removed),
      spreads,
      ...(this.#groupsChanged ? { groups: [...this.#groups] } : {}),
    };
    this.#groupsChanged = false;
    this.#up = new Set();
    this.#down = new Set();
    this.#added = new Set();
    this.#removed = new Set();
    return frame;
  }

  /** The figures of this moment, with no changes. */
  #figures(now: number): FrameMessage {
    const degrees: number[] = [];
    this.#degree.forEach((d, i) => {
      if (this.#alive[i]) degrees[d] = (degrees[d] ?? 0) + 1;
    });
    return {
      type: 'frame',
      t: now - this.#startedAt,
      up: [],
      down: [],
      added: [],
      removed: [],
      phase: this.phase,
      peers: this.running,
      links: this.#edges.size,
      degrees: Array.from(degrees, (c) => c ?? 0),
      latency: [...this.#latency],
      deliveries: this.#delivered,
      spreads: [],
    };
  }

  #setAlive(i: number, alive: boolean): void {
    if (this.#alive[i] === alive || i >= this.#alive.length) return;
    this.#alive[i] = alive;
    if (alive) {
      if (!this.#down.delete(i)) this.#up.add(i);
    } else if (!this.#up.delete(i)) this.#down.add(i);
  }

  #link(i: number, address: string, change: 1 | -1): void {
    const j = this.#index.get(address);
    if (j !== undefined && j !== i) this.#update(i, j, change);
  }

  /** Peer i no longer reports any link to peer j. */
  #unlink(i: number, j: number): void {
    this.#update(i, j, -(this.#views[i]?.get(j) ?? 0));
  }

  #update(i: number, j: number, change: number): void {
    const view = this.#views[i];
    if (view === undefined) return;
    const before = view.get(j) ?? 0;
    const after = Math.max(0, before + change);
    if (after === 0) view.delete(j);
    else view.set(j, after);
    // A link is drawn once both ends report it, and removed as soon as either stops.
    const mutual = after > 0 && (this.#views[j]?.has(i) ?? false);
    const key = edgeKey(i, j);
    if (mutual && !this.#edges.has(key)) {
      this.#edges.add(key);
      this.#degree[i] = (this.#degree[i] ?? 0) + 1;
      this.#degree[j] = (this.#degree[j] ?? 0) + 1;
      if (!this.#removed.delete(key)) this.#added.add(key);
    } else if (!mutual && after === 0 && this.#edges.delete(key)) {
      this.#degree[i] = (this.#degree[i] ?? 1) - 1;
      this.#degree[j] = (this.#degree[j] ?? 1) - 1;
      if (!this.#added.delete(key)) this.#removed.add(key);
    }
  }

  /** Follows this message's spread if the last followed one is done or old. */
  #follow(origin: number, text: string, at: number): void {
    const spot = this.#spotlight;
    const done = spot !== undefined && spot.reached.length >= this.running - 1;
    if (spot !== undefined && !done && at - spot.sentAt < SPOTLIGHT_MS) return;
    if (spot !== undefined && at - spot.sentAt < SPOTLIGHT_MS / 2) return;
    const next: Spread = { id: ++this.#spreadIds, text, origin, sentAt: at, reached: [] };
    this.#spotlight = next;
    this.#spreads.push(next);
    if (this.#spreads.length > REACH_HISTORY) {
      const dropped = this.#spreads.shift();
      if (dropped !== undefined) this.#shown.delete(dropped.id);
    }
  }
}
