/**
 * A tiny deterministic in-memory network for overlay cores: virtual time, one FIFO connection per
 * pair with a fixed per-pair latency drawn from the seed, a queue of events run in (time, order).
 * It plays the driver's part of the contract in `src/core/overlay.ts` (peer-up both ways, dial by
 * address, dial-failed for dead or mismatched addresses, flush-then-close, peer-down to both ends).
 * The full simulator lives in `src/sim/`; this one exists so core tests need no sockets.
 */
import type { CoreInput, NodeRef } from '../../src/core/machine.js';
import { OverlayCore, type OverlayOptions, type OverlayOutput } from '../../src/core/overlay.js';
import { createRng, type Rng } from '../../src/core/rng.js';
import type { OverlayMessage } from '../../src/protocol/overlay-messages.js';

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** A binary min-heap on (at, seq): events at one instant run in the order they were scheduled. */
class EventQueue {
  readonly #heap: Scheduled[] = [];

  get size(): number {
    return this.#heap.length;
  }

  push(event: Scheduled): void {
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Scheduled, heap[parent] as Scheduled)) break;
      [heap[i], heap[parent]] = [heap[parent] as Scheduled, heap[i] as Scheduled];
      i = parent;
    }
  }

  peek(): Scheduled | undefined {
    return this.#heap[0];
  }

  pop(): Scheduled | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l] as Scheduled, heap[m] as Scheduled)) m = l;
        if (r < heap.length && before(heap[r] as Scheduled, heap[m] as Scheduled)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m] as Scheduled, heap[i] as Scheduled];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Scheduled, b: Scheduled): boolean =>
  a.at < b.at || (a.at === b.at && a.seq < b.seq);

export interface SimNode {
  readonly ref: NodeRef;
  readonly core: OverlayCore;
  alive: boolean;
  readonly timers: Map<string, number>;
  /** Every message a core was handed, by type (what a hostile test sends counts too). */
  readonly received: Map<string, number>;
}

interface Connection {
  readonly a: string;
  readonly b: string;
  closedBy: string | undefined;
}

export interface Delivery {
  readonly hops: number;
  readonly at: number;
}

export interface NetOptions {
  readonly seed: number;
  /** Per-pair one-way latency is drawn once from [min, max] virtual milliseconds. */
  readonly latencyMs?: readonly [number, number];
  readonly overlay?: Partial<OverlayOptions>;
}

export class OverlayNet {
  now = 0;
  readonly nodes = new Map<string, SimNode>();
  /** Deliveries by message id, then node id. */
  readonly deliveries = new Map<string, Map<string, Delivery>>();
  /** When each broadcast started, by message id. */
  readonly broadcasts = new Map<string, { origin: string; at: number }>();
  /** Dials each node made (sends to a peer it had no connection to, and `dial`s). */
  readonly dials = new Map<string, number>();
  readonly #byAddress = new Map<string, SimNode>();
  readonly #connections = new Map<string, Connection>();
  readonly #latency = new Map<string, number>();
  readonly #queue = new EventQueue();
  readonly #rng: Rng;
  #seq = 0;

  constructor(readonly options: NetOptions) {
    this.#rng = createRng(options.seed);
  }

  addNode(overlay: Partial<OverlayOptions> = {}): SimNode {
    const index = this.nodes.size;
    const ref: NodeRef = {
      id: (index + 1).toString(16).padStart(12, '0'),
      address: `10.${(index >> 8) & 255}.${index & 255}.1:7000`,
    };
    const rng = this.#rng.fork();
    const core = new OverlayCore(
      ref,
      { now: () => this.now, rng },
      {
        ...this.options.overlay,
        ...overlay,
      },
    );
    const node: SimNode = { ref, core, alive: true, timers: new Map(), received: new Map() };
    this.nodes.set(ref.id, node);
    this.#byAddress.set(ref.address, node);
    return node;
  }

  node(id: string): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  alive(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive);
  }

  /** `node` dials `via` (as a driver does for `--connect`), then asks its core to join. */
  join(node: SimNode, via: SimNode): void {
    this.#dial(node, via.ref.address, () => this.input(node, { kind: 'join', via: via.ref }));
  }

  broadcast(node: SimNode, id: string, payload = id): void {
    this.broadcasts.set(id, { origin: node.ref.id, at: this.now });
    this.input(node, { kind: 'broadcast', id, payload });
  }

  /** Hands a message to `to` as if `from` had sent it on their connection (a hostile peer). */
  inject(to: SimNode, from: NodeRef, message: OverlayMessage): void {
    this.input(to, { kind: 'message', from, message });
  }

  /** Stops a node gracefully: it says goodbye to its neighbors (what it sent is delivered). */
  leave(node: SimNode): void {
    for (const output of node.core.leave()) this.#apply(node, output);
    this.kill(node);
  }

  /** Crashes a node: its links close without a word, its timers stop. */
  kill(node: SimNode): void {
    node.alive = false;
    node.timers.clear();
    for (const [key, conn] of this.#connections) {
      if (conn.a !== node.ref.id && conn.b !== node.ref.id) continue;
      this.#close(key, conn, node.ref.id, false);
    }
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  runUntil(at: number): void {
    for (;;) {
      const next = this.#queue.peek();
      if (next === undefined || next.at > at) break;
      this.#queue.pop();
      this.now = next.at;
      next.run();
    }
    this.now = at;
  }

  /** Runs until `done()` holds (checked after every event) or `limitMs` passes; the time taken. */
  runUntilTrue(done: () => boolean, limitMs: number): number | undefined {
    const start = this.now;
    const end = start + limitMs;
    while (!done()) {
      const next = this.#queue.peek();
      if (next === undefined || next.at > end) {
        this.now = end;
        return undefined;
      }
      this.#queue.pop();
      this.now = next.at;
      next.run();
    }
    return this.now - start;
  }

  /** Live nodes that delivered `id`, over live nodes other than its origin. */
  reach(id: string): number {
    const origin = this.broadcasts.get(id)?.origin;
    const got = this.deliveries.get(id) ?? new Map();
    const others = this.alive().filter((n) => n.ref.id !== origin);
    return others.filter((n) => got.has(n.ref.id)).length / others.length;
  }

  connectionCount(): number {
    return this.#connections.size;
  }

  input(node: SimNode, input: CoreInput<OverlayMessage>): void {
    if (!node.alive) return;
    if (input.kind === 'message') {
      const type = input.message.type;
      node.received.set(type, (node.received.get(type) ?? 0) + 1);
    }
    for (const output of node.core.handle(input)) this.#apply(node, output);
  }

  #apply(node: SimNode, output: OverlayOutput): void {
    const id = node.ref.id;
    switch (output.kind) {
      case 'send': {
        const key = pairKey(id, output.to.id);
        const send = () => this.#deliver(node, output.to.id, output.message);
        if (this.#connections.has(key)) send();
        else this.#dial(node, output.to.address, send, output.to.id);
        return;
      }
      case 'dial':
        this.#dial(node, output.address, () => {});
        return;
      case 'disconnect': {
        const key = pairKey(id, output.peer);
        const conn = this.#connections.get(key);
        if (conn !== undefined) this.#close(key, conn, id, true);
        return;
      }
      case 'set-timer': {
        const token = ++this.#seq;
        node.timers.set(output.key, token);
        this.#at(this.now + output.afterMs, () => {
          if (node.timers.get(output.key) !== token) return;
          node.timers.delete(output.key);
          this.input(node, { kind: 'timer', key: output.key });
        });
        return;
      }
      case 'cancel-timer':
        node.timers.delete(output.key);
        return;
      case 'event': {
        const { event } = output;
        if (event.type !== 'delivered') return;
        const got = this.deliveries.get(event.id) ?? new Map<string, Delivery>();
        got.set(id, { hops: event.hops, at: this.now });
        this.deliveries.set(event.id, got);
        return;
      }
    }
  }

  /** Opens a connection to `address`; `then` runs on the dialer once both sides saw it up. */
  #dial(node: SimNode, address: string, then: () => void, expectId?: string): void {
    this.dials.set(node.ref.id, (this.dials.get(node.ref.id) ?? 0) + 1);
    const target = this.#byAddress.get(address);
    const latency = this.#latencyTo(node.ref.id, target?.ref.id ?? address);
    if (
      target === undefined ||
      !target.alive ||
      target === node ||
      (expectId !== undefined && target.ref.id !== expectId)
    ) {
      this.#at(this.now + 2 * latency, () =>
        this.input(node, { kind: 'dial-failed', address, reason: 'unreachable' }),
      );
      return;
    }
    const key = pairKey(node.ref.id, target.ref.id);
    if (!this.#connections.has(key)) {
      const conn: Connection = { a: node.ref.id, b: target.ref.id, closedBy: undefined };
      this.#connections.set(key, conn);
      this.#at(this.now + latency, () => {
        if (conn.closedBy !== undefined) return;
        this.input(target, { kind: 'peer-up', peer: node.ref, direction: 'inbound' });
      });
      this.#at(this.now + 2 * latency, () => {
        if (conn.closedBy !== undefined) return;
        this.input(node, { kind: 'peer-up', peer: target.ref, direction: 'outbound' });
      });
    }
    // After the dialer's own peer-up (same instant, scheduled later).
    this.#at(this.now + 2 * latency, then);
  }

  #deliver(from: SimNode, toId: string, message: OverlayMessage): void {
    const key = pairKey(from.ref.id, toId);
    const conn = this.#connections.get(key);
    const to = this.nodes.get(toId);
    if (conn === undefined || to === undefined) return;
    this.#at(this.now + this.#latencyTo(from.ref.id, toId), () => {
      // A closed link still delivers what its closer sent before closing, nothing else.
      if (conn.closedBy !== undefined && conn.closedBy !== from.ref.id) return;
      this.input(to, { kind: 'message', from: from.ref, message });
    });
  }

  #close(key: string, conn: Connection, closer: string, graceful: boolean): void {
    conn.closedBy = closer;
    this.#connections.delete(key);
    const other = conn.a === closer ? conn.b : conn.a;
    const latency = this.#latencyTo(conn.a, conn.b);
    const down = (id: string) => () => {
      const node = this.nodes.get(id);
      if (node !== undefined)
        this.input(node, {
          kind: 'peer-down',
          peer: id === conn.a ? conn.b : conn.a,
          reason: graceful ? 'closed' : 'reset',
        });
    };
    this.#at(this.now, down(closer));
    this.#at(this.now + latency, down(other));
  }

  #latencyTo(a: string, b: string): number {
    const key = pairKey(a, b);
    let latency = this.#latency.get(key);
    if (latency === undefined) {
      const [min, max] = this.options.latencyMs ?? [1, 5];
      latency = min + this.#rng.int(max - min + 1);
      this.#latency.set(key, latency);
    }
    return latency;
  }

  #at(at: number, run: () => void): void {
    this.#queue.push({ at, seq: ++this.#seq, run });
  }
}

const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);
