import type { CoreInput, CoreOutput, NodeRef } from '../core/machine.js';
import { SimConnections } from './connections.js';
import {
  CALL,
  CLOSE_NOTICE,
  CONNECT,
  DELIVER,
  DIAL_FAIL,
  LOCAL_DOWN,
  type SimEvent,
  TIMER,
} from './event-queue.js';
import { CLOSED, OPEN } from './link.js';
import { SimNode, simAddress } from './node.js';
import type { SimProtocol } from './protocol.js';

export { CONNECT_TIMEOUT_MS } from './connections.js';
export { simAddress } from './node.js';
export { TCP_USER_TIMEOUT_MS } from './wire.js';

export interface SimObserver<E> {
  onDelivery?(node: number, id: string, hops: number, at: number): void;
  onEvent?(node: number, event: E, at: number): void;
}

/**
 * A network in virtual time: N protocol cores, the connections between them and a clock that jumps
 * from one event to the next. Time and chance come from the one seed: every peer and every link
 * forks its own generator, and simultaneous events run in the order they were scheduled.
 *
 * Connections follow the `Core` contract: a `send` to a peer without one dials it, and the peers
 * see `peer-up` one round trip later (or `dial-failed`: refused at once by a dead peer, timed out
 * behind a partition); a closed or reset connection reaches the other end as `peer-down` after the
 * data sent before it. A partition holds traffic (TCP retransmits it), it does not drop it.
 *
 * The layers: the event queue (event-queue.ts), the traffic on open connections and partitions
 * (wire.ts), opening connections (connections.ts); this file runs the peers' cores and timers.
 */
export class SimNetwork<M, E> extends SimConnections<M, E> {
  events = 0;
  readonly #byId = new Map<string, number>();

  constructor(
    protocol: SimProtocol<M, E>,
    size: number,
    seed: number,
    readonly observer: SimObserver<E> = {},
  ) {
    super(protocol, seed);
    for (let i = 0; i < size; i++) {
      const node = new SimNode<M, E>(simAddress(i));
      this.nodes.push(node);
      this.byAddress.set(node.ref.address, i);
    }
  }

  get size(): number {
    return this.nodes.length;
  }

  alive(index: number): boolean {
    return this.nodes[index]?.alive === true;
  }

  ref(index: number): NodeRef {
    return this.node(index).ref;
  }

  group(index: number): number {
    return this.node(index).group;
  }

  /** Open connections of every node (alive or not: a dead one has none). */
  adjacency(): number[][] {
    return this.nodes.map((node) => {
      const out: number[] = [];
      for (const [peer, link] of node.links) if (link.state === OPEN) out.push(peer);
      return out;
    });
  }

  degree(index: number): number {
    let n = 0;
    for (const link of this.node(index).links.values()) if (link.state === OPEN) n++;
    return n;
  }

  /** Processes events until none is left or the next is after `until`; false if `stop` said so. */
  run(until: number, stop?: () => boolean): boolean {
    for (;;) {
      const next = this.queue.next(until);
      if (next === undefined) break;
      this.now = next.time;
      this.events++;
      this.#dispatch(next);
      this.queue.spend(next);
      if (stop?.()) return false;
    }
    if (this.now < until && Number.isFinite(until)) this.now = until;
    return true;
  }

  get pendingEvents(): number {
    return this.queue.length;
  }

  /** Starts the peer at `index` (a new identity if it ran before); it joins through `contact`. */
  start(index: number, contact: number | null, group = 0): void {
    const node = this.node(index);
    if (node.alive) return;
    node.inc++;
    node.group = group;
    node.ref = {
      id: node.inc === 1 ? `n${index}` : `n${index}r${node.inc}`,
      address: node.ref.address,
    };
    this.#byId.set(node.ref.id, index);
    const now = (): number => this.now;
    node.core = this.protocol.create(node.ref, { now, rng: this.rng.fork() });
    if (contact !== null && contact !== index) {
      const link = this.dial(index, contact);
      link.joinOnOpen = true;
    }
  }

  /** Ends the peer: its connections reset (`reason` reaches the other ends), its timers stop. */
  kill(index: number, reason: string): void {
    const node = this.node(index);
    if (!node.alive) return;
    for (const link of node.links.values()) {
      if (link.state === OPEN) this.notifyClose(link, link.dirFrom(index), reason);
      else link.state = CLOSED;
    }
    node.links.clear();
    for (const timer of node.timers.values()) this.queue.cancel(timer);
    node.timers.clear();
    node.core = null;
    node.inc++;
    this.#byId.delete(node.ref.id);
  }

  /** Gives `input` to the peer's core (a broadcast, say) and carries out what it answers. */
  input(index: number, input: CoreInput<M>): void {
    const node = this.node(index);
    if (node.core === null) return;
    const outputs = node.core.handle(input);
    for (let i = 0; i < outputs.length; i++)
      this.#carryOut(index, node, outputs[i] as CoreOutput<M, E>);
  }

  #carryOut(index: number, node: SimNode<M, E>, out: CoreOutput<M, E>): void {
    switch (out.kind) {
      case 'send':
        this.send(index, out.to.address, out.to.id, out.message);
        return;
      case 'dial':
        this.send(index, out.address, null, undefined);
        return;
      case 'disconnect': {
        const peer = this.#byId.get(out.peer);
        const link = peer === undefined ? undefined : node.links.get(peer);
        if (link !== undefined) this.close(index, link, out.reason);
        return;
      }
      case 'set-timer': {
        const earlier = node.timers.get(out.key);
        const due = this.now + Math.max(0, out.afterMs);
        // HyParView and Plumtree re-arm timers on most messages (a stranger's idle timer, a
        // neighbor request's): cancelling each and pushing a new one made most of the queue dead
        // timers. One re-armed for later stays queued and moves when its old time comes.
        if (earlier !== undefined && !earlier.cancelled && due >= earlier.time) {
          this.queue.defer(earlier, due);
          return;
        }
        if (earlier !== undefined) this.queue.cancel(earlier);
        node.timers.set(
          out.key,
          this.queue.schedule(due, TIMER, index, null, null, out.key, node.inc),
        );
        return;
      }
      case 'cancel-timer': {
        const timer = node.timers.get(out.key);
        if (timer !== undefined) {
          this.queue.cancel(timer);
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

  #dispatch(event: SimEvent): void {
    switch (event.type) {
      case DELIVER:
        this.onDeliver(event);
        return;
      case CONNECT:
        this.onConnect(event);
        return;
      case DIAL_FAIL:
        this.onDialFail(event);
        return;
      case CLOSE_NOTICE:
        this.onCloseNotice(event);
        return;
      case LOCAL_DOWN:
        this.onLocalDown(event);
        return;
      case TIMER: {
        const node = this.node(event.node);
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
}
