import TinyQueue from 'tinyqueue';
import type { Core, CoreInput, CoreOutput, NodeRef } from '../core/machine.js';
import { createRng, type Rng } from '../core/rng.js';
import { DEFAULT_SHAPE, type LinkShape } from '../scenario/model.js';
import { isRandom, oneWayDelay, RTO_MIN_MS, retransmitAfter, transmitMs } from './delay.js';
import { CLOSE_MARK, CLOSED, CONNECTING, Link, OPEN } from './link.js';
import type { SimProtocol } from './protocol.js';

/**
 * A network in virtual time: N protocol cores, the connections between them and a clock that jumps
 * from one event to the next. Time and chance come from the one seed: every peer and every link
 * forks its own generator, and simultaneous events run in the order they were scheduled.
 *
 * Connections follow the `Core` contract: a `send` to a peer without one dials it, and the peers
 * see `peer-up` one round trip later (or `dial-failed`: refused at once by a dead peer, timed out
 * behind a partition); a closed or reset connection reaches the other end as `peer-down` after the
 * data sent before it. A partition holds traffic (TCP retransmits it), it does not drop it.
 */

/** How long a dial into a partition waits before it fails (the TCP driver's connect timeout). */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * When data held by a partition makes a connection give up (Linux's tcp_retries2 = 15 gives about
 * 924.6 s of retransmissions).
 */
export const TCP_USER_TIMEOUT_MS = 924_600;
/**
 * Cancelled timers stay in the queue until their time (a binary heap cannot remove in the middle);
 * the queue is rebuilt without them once they are more than half of it and at least this many.
 * Why: HyParView re-arms a stranger's idle timer on every message and a neighbour request's
 * timeout on every request, so at 3,000 peers 95 % of 110 k queued events were cancelled timers
 * (at 100,000 peers a queue of ~3.7 M, each push and pop 22 levels deep). Rebuilding is O(n) and
 * keeps the order (time, then scheduling sequence), so a run's outcome does not change.
 */
const COMPACT_AT_LEAST = 4_096;

const DELIVER = 0;
const CONNECT = 1;
const DIAL_FAIL = 2;
const CLOSE_NOTICE = 3;
const TIMER = 4;
const CALL = 5;
const LOCAL_DOWN = 6;

/**
 * Spent events kept for reuse, at most this many. Why: a run allocates one event per message,
 * timer and connection step (11.6 M at 100,000 peers), and the queued ones live long enough to be
 * promoted out of V8's young generation; reusing them spares most of that garbage collection.
 */
const FREE_EVENTS_MAX = 65_536;

class SimEvent {
  time = 0;
  seq = 0;
  cancelled = false;
  /**
   * A timer re-armed for later while it waits in the queue: it stays there, and when its old time
   * comes it goes back in at `due`, ordered by `dueSeq` (the sequence number the re-arm drew), the
   * place a new event pushed at the re-arm would have had. See `set-timer` in `#carryOut`.
   */
  deferred = false;
  due = 0;
  dueSeq = 0;
  constructor(
    public type: number,
    /** The node the event happens to (the receiver of a message). */
    public node: number,
    public link: Link | null,
    public data: unknown,
    public key: string,
    /** The node's incarnation when scheduled: a restarted peer ignores its predecessor's events. */
    public inc: number,
  ) {}
}

const before = (a: SimEvent, b: SimEvent): number => a.time - b.time || a.seq - b.seq;

class SimNode<M, E> {
  core: Core<M, E> | null = null;
  ref: NodeRef;
  inc = 0;
  group = 0;
  readonly links = new Map<number, Link>();
  readonly timers = new Map<string, SimEvent>();
  constructor(address: string) {
    this.ref = { id: '', address };
  }
  get alive(): boolean {
    return this.core !== null;
  }
}

export interface SimObserver<E> {
  onDelivery?(node: number, id: string, hops: number, at: number): void;
  onEvent?(node: number, event: E, at: number): void;
}

/** A simulated peer's address: 10.x.y.z:7000 from its index, so cores see a usual host:port. */
export function simAddress(index: number): string {
  return `10.${(index >>> 16) & 255}.${(index >>> 8) & 255}.${index & 255}:${7000 + (index >>> 24)}`;
}

export class SimNetwork<M, E> {
  now = 0;
  shape: LinkShape = DEFAULT_SHAPE;
  /** Messages sent and not yet arrived (held by partitions included). */
  inFlight = 0;
  payloadSends = 0;
  sends = 0;
  events = 0;
  #queue = new TinyQueue<SimEvent>([], before);
  /** Cancelled events still in the queue. */
  #cancelled = 0;
  readonly #free: SimEvent[] = [];
  #seq = 0;
  readonly #nodes: SimNode<M, E>[] = [];
  readonly #byAddress = new Map<string, number>();
  readonly #byId = new Map<string, number>();
  readonly #rng: Rng;
  readonly #heldLinks = new Set<Link>();

  constructor(
    readonly protocol: SimProtocol<M, E>,
    size: number,
    seed: number,
    readonly observer: SimObserver<E> = {},
  ) {
    this.#rng = createRng(seed);
    for (let i = 0; i < size; i++) {
      const node = new SimNode<M, E>(simAddress(i));
      this.#nodes.push(node);
      this.#byAddress.set(node.ref.address, i);
    }
  }

  get size(): number {
    return this.#nodes.length;
  }

  alive(index: number): boolean {
    return this.#nodes[index]?.alive === true;
  }

  ref(index: number): NodeRef {
    return this.#node(index).ref;
  }

  group(index: number): number {
    return this.#node(index).group;
  }

  /** Open connections of every node (alive or not: a dead one has none). */
  adjacency(): number[][] {
    return this.#nodes.map((node) => {
      const out: number[] = [];
      for (const [peer, link] of node.links) if (link.state === OPEN) out.push(peer);
      return out;
    });
  }

  degree(index: number): number {
    let n = 0;
    for (const link of this.#node(index).links.values()) if (link.state === OPEN) n++;
    return n;
  }

  /** Runs `fn` at virtual time `at` (not before now). */
  at(at: number, fn: () => void): void {
    this.#push(this.#event(CALL, -1, null, fn, '', 0), Math.max(at, this.now));
  }

  /** Processes events until none is left or the next is after `until`; false if `stop` said so. */
  run(until: number, stop?: () => boolean): boolean {
    for (;;) {
      this.#compact();
      const queue = this.#queue;
      const next = queue.peek();
      if (next === undefined || next.time > until) break;
      queue.pop();
      if (next.cancelled) {
        this.#cancelled--;
        this.#spend(next);
        continue;
      }
      if (next.deferred) {
        next.deferred = false;
        next.time = next.due;
        next.seq = next.dueSeq;
        queue.push(next);
        continue;
      }
      this.now = next.time;
      this.events++;
      this.#dispatch(next);
      this.#spend(next);
      if (stop?.()) return false;
    }
    if (this.now < until && Number.isFinite(until)) this.now = until;
    return true;
  }

  get pendingEvents(): number {
    return this.#queue.length;
  }

  /** Starts the peer at `index` (a new identity if it ran before); it joins through `contact`. */
  start(index: number, contact: number | null, group = 0): void {
    const node = this.#node(index);
    if (node.alive) return;
    node.inc++;
    node.group = group;
    node.ref = {
      id: node.inc === 1 ? `n${index}` : `n${index}r${node.inc}`,
      address: node.ref.address,
    };
    this.#byId.set(node.ref.id, index);
    const now = (): number => this.now;
    node.core = this.protocol.create(node.ref, { now, rng: this.#rng.fork() });
    if (contact !== null && contact !== index) {
      const link = this.#dial(index, contact);
      link.joinOnOpen = true;
    }
  }

  /** Ends the peer: its connections reset (`reason` reaches the other ends), its timers stop. */
  kill(index: number, reason: string): void {
    const node = this.#node(index);
    if (!node.alive) return;
    for (const link of node.links.values()) {
      if (link.state === OPEN) this.#notifyClose(link, link.dirFrom(index), reason);
      else link.state = CLOSED;
    }
    node.links.clear();
    for (const timer of node.timers.values()) this.#cancel(timer);
    node.timers.clear();
    node.core = null;
    node.inc++;
    this.#byId.delete(node.ref.id);
  }

  /** Closes `count` open connections chosen at random, each from one of its ends. */
  cut(count: number, rng: Rng): number {
    const open: Link[] = [];
    this.#nodes.forEach((node, i) => {
      for (const link of node.links.values())
        if (link.a === i && link.state === OPEN) open.push(link);
    });
    const chosen = rng.shuffle(open).slice(0, count);
    for (const link of chosen) this.#close(rng.next() < 0.5 ? link.a : link.b, link, 'cut');
    return chosen.length;
  }

  /** Puts each listed peer in its group (1, 2, ...): traffic between groups is held. */
  partition(groups: readonly (readonly number[])[]): void {
    groups.forEach((members, g) => {
      for (const i of members) this.#node(i).group = g + 1;
    });
  }

  /** Every peer back in one group; what the partition held goes through. */
  heal(): void {
    for (const node of this.#nodes) node.group = 0;
    const rto = Math.max(RTO_MIN_MS, 2 * this.shape.latencyMs);
    for (const link of this.#heldLinks) {
      const held = link.held ?? [];
      link.held = null;
      const resume = retransmitAfter(link.heldSince, this.now, rto);
      for (const item of held) {
        const arrival = link.ordered(
          item.dir,
          resume + oneWayDelay(this.shape, this.#linkRng(link)),
        );
        const receiver = item.dir === 0 ? link.b : link.a;
        if (item.message === CLOSE_MARK) {
          this.inFlight--;
          this.#push(this.#event(CLOSE_NOTICE, receiver, link, item.reason, '', 0), arrival);
        } else {
          this.#push(this.#event(DELIVER, receiver, link, item.message, '', 0), arrival);
        }
      }
    }
    this.#heldLinks.clear();
  }

  /** Gives `input` to the peer's core (a broadcast, say) and carries out what it answers. */
  input(index: number, input: CoreInput<M>): void {
    const node = this.#node(index);
    if (node.core === null) return;
    const outputs = node.core.handle(input);
    for (let i = 0; i < outputs.length; i++)
      this.#carryOut(index, node, outputs[i] as CoreOutput<M, E>);
  }

  #node(index: number): SimNode<M, E> {
    const node = this.#nodes[index];
    if (node === undefined) throw new RangeError(`no simulated peer ${index}`);
    return node;
  }

  #push(event: SimEvent, time: number): void {
    event.time = time;
    event.seq = this.#seq++;
    this.#queue.push(event);
  }

  /** A new event, or a spent one reused (see `FREE_EVENTS_MAX`). */
  #event(
    type: number,
    node: number,
    link: Link | null,
    data: unknown,
    key: string,
    inc: number,
  ): SimEvent {
    const event = this.#free.pop();
    if (event === undefined) return new SimEvent(type, node, link, data, key, inc);
    event.type = type;
    event.node = node;
    event.link = link;
    event.data = data;
    event.key = key;
    event.inc = inc;
    event.cancelled = false;
    event.deferred = false;
    return event;
  }

  /** `event` left the queue and nothing refers to it (a fired timer left its node's map). */
  #spend(event: SimEvent): void {
    if (this.#free.length >= FREE_EVENTS_MAX) return;
    event.link = null;
    event.data = null;
    this.#free.push(event);
  }

  #cancel(event: SimEvent): void {
    if (event.cancelled) return;
    event.cancelled = true;
    this.#cancelled++;
  }

  /** Drops the cancelled events once they are most of the queue (see `COMPACT_AT_LEAST`). */
  #compact(): void {
    if (this.#cancelled < COMPACT_AT_LEAST || this.#cancelled * 2 < this.#queue.length) return;
    this.#queue = new TinyQueue(
      this.#queue.data.filter((event) => !event.cancelled),
      before,
    );
    this.#cancelled = 0;
  }

  #linkRng(link: Link): Rng | null {
    if (!isRandom(this.shape)) return null;
    if (link.rng === null) link.rng = this.#rng.fork();
    return link.rng;
  }

  #carryOut(index: number, node: SimNode<M, E>, out: CoreOutput<M, E>): void {
    switch (out.kind) {
      case 'send':
        this.#send(index, out.to.address, out.to.id, out.message);
        return;
      case 'dial':
        this.#send(index, out.address, null, undefined);
        return;
      case 'disconnect': {
        const peer = this.#byId.get(out.peer);
        const link = peer === undefined ? undefined : node.links.get(peer);
        if (link !== undefined) this.#close(index, link, out.reason);
        return;
      }
      case 'set-timer': {
        const earlier = node.timers.get(out.key);
        const due = this.now + Math.max(0, out.afterMs);
        // HyParView and Plumtree re-arm timers on most messages (a stranger's idle timer, a
        // neighbor request's): cancelling each and pushing a new one made most of the queue dead
        // timers. One re-armed for later stays queued and moves when its old time comes.
        if (earlier !== undefined && !earlier.cancelled && due >= earlier.time) {
          earlier.deferred = true;
          earlier.due = due;
          earlier.dueSeq = this.#seq++;
          return;
        }
        if (earlier !== undefined) this.#cancel(earlier);
        const timer = this.#event(TIMER, index, null, null, out.key, node.inc);
        node.timers.set(out.key, timer);
        this.#push(timer, due);
        return;
      }
      case 'cancel-timer': {
        const timer = node.timers.get(out.key);
        if (timer !== undefined) {
          this.#cancel(timer);
          node.timers.delete(out.key);
        }
        return;
      }
      case 'event': {
        const delivered = this.protocol.delivery(out.event);
        if (delivered !== null)
          this.observer.onDelivery?.(index, delivered.id, delivered.hops, this.now);
        this.observer.onEvent?.(index, out.event, this.now);
        return;
      }
    }
  }

  /** `message` undefined: only connect (a `dial`). */
  #send(index: number, address: string, id: string | null, message: M | undefined): void {
    const node = this.#node(index);
    const peer = this.#byAddress.get(address);
    let link = peer === undefined ? undefined : node.links.get(peer);
    // A send goes only to the node it names: another node at that address fails like a dial.
    const other =
      link === undefined || id === null ? null : index === link.a ? link.bRef : link.aRef;
    if (peer === undefined || peer === index || (other != null && other.id !== id)) {
      this.#push(this.#event(DIAL_FAIL, index, null, address, 'another node', node.inc), this.now);
      return;
    }
    if (link === undefined) {
      link = this.#dial(index, peer);
      link.expectId = id;
    }
    if (message === undefined) return;
    if (link.state === OPEN) this.#transmit(link, link.dirFrom(index), message);
    else {
      link.pending ??= [];
      link.pending.push(link.dirFrom(index), message);
    }
  }

  #dial(index: number, peer: number): Link {
    const node = this.#node(index);
    const target = this.#node(peer);
    const link = new Link(index, peer, node.ref);
    node.links.set(peer, link);
    const rtt = oneWayDelay(this.shape, this.#linkRng(link)) + oneWayDelay(this.shape, link.rng);
    if (node.group !== target.group) {
      this.#push(
        this.#event(DIAL_FAIL, index, link, target.ref.address, 'timeout', node.inc),
        this.now + CONNECT_TIMEOUT_MS,
      );
    } else if (!target.alive) {
      this.#push(
        this.#event(DIAL_FAIL, index, link, target.ref.address, 'refused', node.inc),
        this.now + rtt,
      );
    } else {
      this.#push(this.#event(CONNECT, index, link, null, '', node.inc), this.now + rtt);
    }
    return link;
  }

  #transmit(link: Link, dir: number, message: unknown): void {
    this.inFlight++;
    this.sends++;
    if (this.protocol.isPayload(message as M)) this.payloadSends++;
    const from = this.#node(dir === 0 ? link.a : link.b);
    const to = this.#node(dir === 0 ? link.b : link.a);
    if (from.group !== to.group) {
      this.#hold(link, dir, message, '');
      return;
    }
    const shape = this.shape;
    const sent =
      shape.bandwidthBps === null
        ? this.now
        : link.occupy(dir, this.now, transmitMs(shape, this.protocol.size(message as M)));
    const arrival = link.ordered(dir, sent + oneWayDelay(shape, this.#linkRng(link)));
    this.#push(this.#event(DELIVER, dir === 0 ? link.b : link.a, link, message, '', 0), arrival);
  }

  #hold(link: Link, dir: number, message: unknown, reason: string): void {
    if (link.held === null) {
      link.held = [];
      link.heldSince = this.now;
      this.#heldLinks.add(link);
      const since = this.now;
      this.at(this.now + TCP_USER_TIMEOUT_MS, () => {
        if (link.held === null || link.heldSince !== since) return;
        // Retransmissions gave up: both ends see the connection fail.
        this.inFlight -= link.held.length;
        link.held = null;
        this.#heldLinks.delete(link);
        this.#close(link.a, link, 'timeout');
      });
    }
    link.held.push({ dir, message, reason });
  }

  /** The end at `index` closes `link`: it hears `peer-down` now, the other end after the data. */
  #close(index: number, link: Link, reason: string): void {
    const node = this.#node(index);
    const peer = link.other(index);
    if (node.links.get(peer) === link) node.links.delete(peer);
    if (link.state !== OPEN) {
      link.state = CLOSED;
      return;
    }
    this.#notifyClose(link, link.dirFrom(index), reason);
    const ref = index === link.a ? link.bRef : link.aRef;
    this.#push(this.#event(LOCAL_DOWN, index, link, ref?.id, reason, node.inc), this.now);
  }

  /** The other end hears the close after whatever was sent before it. */
  #notifyClose(link: Link, dir: number, reason: string): void {
    this.inFlight++;
    const from = this.#node(dir === 0 ? link.a : link.b);
    const to = this.#node(dir === 0 ? link.b : link.a);
    if (from.group !== to.group) {
      this.#hold(link, dir, CLOSE_MARK, reason);
      return;
    }
    const arrival = link.ordered(dir, this.now + oneWayDelay(this.shape, this.#linkRng(link)));
    this.#push(
      this.#event(CLOSE_NOTICE, dir === 0 ? link.b : link.a, link, reason, '', 0),
      arrival,
    );
  }

  #dispatch(event: SimEvent): void {
    switch (event.type) {
      case DELIVER:
        this.#onDeliver(event);
        return;
      case CONNECT:
        this.#onConnect(event);
        return;
      case DIAL_FAIL: {
        const node = this.#node(event.node);
        const link = event.link;
        if (link !== null) {
          if (link.state !== CONNECTING) return;
          link.state = CLOSED;
          if (node.links.get(link.b) === link) node.links.delete(link.b);
        }
        if (node.inc !== event.inc) return;
        this.input(event.node, {
          kind: 'dial-failed',
          address: event.data as string,
          reason: event.key,
        });
        return;
      }
      case CLOSE_NOTICE: {
        this.inFlight--;
        const link = event.link as Link;
        const node = this.#node(event.node);
        const peer = link.other(event.node);
        if (node.links.get(peer) !== link) return;
        node.links.delete(peer);
        link.state = CLOSED;
        const ref = event.node === link.a ? link.bRef : link.aRef;
        this.input(event.node, {
          kind: 'peer-down',
          peer: ref?.id ?? '',
          reason: event.data as string,
        });
        return;
      }
      case LOCAL_DOWN: {
        if (this.#node(event.node).inc !== event.inc) return;
        this.input(event.node, {
          kind: 'peer-down',
          peer: event.data as string,
          reason: event.key,
        });
        return;
      }
      case TIMER: {
        const node = this.#node(event.node);
        if (event.cancelled || node.inc !== event.inc) return;
        node.timers.delete(event.key);
        this.input(event.node, { kind: 'timer', key: event.key });
        return;
      }
      case CALL:
        (event.data as () => void)();
        return;
    }
  }

  #onDeliver(event: SimEvent): void {
    this.inFlight--;
    const link = event.link as Link;
    const node = this.#node(event.node);
    const peer = link.other(event.node);
    // The receiver closed the connection or died meanwhile: the bytes meet a reset.
    if (node.links.get(peer) !== link || link.state !== OPEN) return;
    const from = event.node === link.a ? link.bRef : link.aRef;
    this.input(event.node, { kind: 'message', from: from as NodeRef, message: event.data as M });
  }

  #onConnect(event: SimEvent): void {
    const link = event.link as Link;
    if (link.state !== CONNECTING) return;
    const node = this.#node(link.a);
    const target = this.#node(link.b);
    if (node.inc !== event.inc) return;
    const wrongNode = link.expectId !== null && link.expectId !== target.ref.id;
    if (!target.alive || target.group !== node.group || wrongNode) {
      link.state = CLOSED;
      if (node.links.get(link.b) === link) node.links.delete(link.b);
      this.input(link.a, {
        kind: 'dial-failed',
        address: target.ref.address,
        reason: !target.alive ? 'refused' : wrongNode ? 'another node' : 'timeout',
      });
      return;
    }
    // One connection per pair: a dial the other way still under way merges into this one; an old
    // connection the target has not yet heard closed is closed now.
    const theirs = target.links.get(link.a);
    if (theirs !== undefined) {
      target.links.delete(link.a);
      if (theirs.state === CONNECTING) {
        theirs.state = CLOSED;
        const queued = theirs.pending ?? [];
        for (let i = 0; i < queued.length; i += 2) {
          link.pending ??= [];
          link.pending.push(1, queued[i + 1]);
        }
      } else if (theirs.state === OPEN) {
        theirs.state = CLOSED;
        const ref = link.b === theirs.a ? theirs.bRef : theirs.aRef;
        this.input(link.b, { kind: 'peer-down', peer: ref?.id ?? '', reason: 'replaced' });
        if (!target.alive || !node.alive) return;
      }
    }
    link.state = OPEN;
    link.aRef = node.ref;
    link.bRef = target.ref;
    target.links.set(link.a, link);
    const pending = link.pending;
    link.pending = null;
    if (pending !== null)
      for (let i = 0; i < pending.length; i += 2)
        this.#transmit(link, pending[i] as number, pending[i + 1]);
    this.input(link.b, { kind: 'peer-up', peer: node.ref, direction: 'inbound' });
    if (link.state !== OPEN || !node.alive) return;
    this.input(link.a, { kind: 'peer-up', peer: target.ref, direction: 'outbound' });
    if (link.joinOnOpen && link.state === OPEN)
      this.input(link.a, { kind: 'join', via: target.ref });
  }
}
