import type { CoreInput, NodeRef } from '../core/machine.js';
import { createRng, type Rng } from '../core/rng.js';
import { DEFAULT_SHAPE, type LinkShape } from '../scenario/model.js';
import { isRandom, oneWayDelay, RTO_MIN_MS, retransmitAfter, transmitMs } from './delay.js';
import {
  CALL,
  CLOSE_NOTICE,
  DELIVER,
  EventQueue,
  LOCAL_DOWN,
  type SimEvent,
} from './event-queue.js';
import { CLOSE_MARK, CLOSED, type Link, OPEN } from './link.js';
import type { SimNode } from './node.js';
import type { SimProtocol } from './protocol.js';

/**
 * When data held by a partition makes a connection give up (Linux's tcp_retries2 = 15 gives about
 * 924.6 s of retransmissions).
 */
export const TCP_USER_TIMEOUT_MS = 924_600;

/**
 * The traffic on open connections between the simulated peers, in virtual time: each message
 * arrives after the link model's delay and in the order sent; a closed or reset connection
 * reaches the other end as `peer-down` after the data sent before it. A partition holds traffic
 * (TCP retransmits it), it does not drop it. What arrives goes to the peer's core through
 * `input`, which the network (network.ts) gives; connections.ts opens the connections.
 */
export abstract class SimWire<M, E> {
  now = 0;
  shape: LinkShape = DEFAULT_SHAPE;
  /** Messages sent and not yet arrived (held by partitions included). */
  inFlight = 0;
  payloadSends = 0;
  sends = 0;
  protected readonly queue = new EventQueue();
  protected readonly nodes: SimNode<M, E>[] = [];
  protected readonly rng: Rng;
  readonly #heldLinks = new Set<Link>();

  constructor(
    readonly protocol: SimProtocol<M, E>,
    seed: number,
  ) {
    this.rng = createRng(seed);
  }

  /** Gives `input` to the peer's core and carries out what it answers. */
  abstract input(index: number, input: CoreInput<M>): void;

  /** Runs `fn` at virtual time `at` (not before now). */
  at(at: number, fn: () => void): void {
    this.queue.schedule(Math.max(at, this.now), CALL, -1, null, fn, '', 0);
  }

  /** Puts each listed peer in its group (1, 2, ...): traffic between groups is held. */
  partition(groups: readonly (readonly number[])[]): void {
    groups.forEach((members, g) => {
      for (const i of members) this.node(i).group = g + 1;
    });
  }

  /** Every peer back in one group; what the partition held goes through. */
  heal(): void {
    for (const node of this.nodes) node.group = 0;
    const rto = Math.max(RTO_MIN_MS, 2 * this.shape.latencyMs);
    for (const link of this.#heldLinks) {
      const held = link.held ?? [];
      link.held = null;
      const resume = retransmitAfter(link.heldSince, this.now, rto);
      for (const item of held) {
        const arrival = link.ordered(
          item.dir,
          resume + oneWayDelay(this.shape, this.linkRng(link)),
        );
        const receiver = item.dir === 0 ? link.b : link.a;
        if (item.message === CLOSE_MARK) {
          this.inFlight--;
          this.queue.schedule(arrival, CLOSE_NOTICE, receiver, link, item.reason, '', 0);
        } else {
          this.queue.schedule(arrival, DELIVER, receiver, link, item.message, '', 0);
        }
      }
    }
    this.#heldLinks.clear();
  }

  protected node(index: number): SimNode<M, E> {
    const node = this.nodes[index];
    if (node === undefined) throw new RangeError(`no simulated peer ${index}`);
    return node;
  }

  protected linkRng(link: Link): Rng | null {
    if (!isRandom(this.shape)) return null;
    if (link.rng === null) link.rng = this.rng.fork();
    return link.rng;
  }

  protected transmit(link: Link, dir: number, message: unknown): void {
    this.inFlight++;
    this.sends++;
    if (this.protocol.isPayload(message as M)) this.payloadSends++;
    const from = this.node(dir === 0 ? link.a : link.b);
    const to = this.node(dir === 0 ? link.b : link.a);
    if (from.group !== to.group) {
      this.#hold(link, dir, message, '');
      return;
    }
    const shape = this.shape;
    const sent =
      shape.bandwidthBps === null
        ? this.now
        : link.occupy(dir, this.now, transmitMs(shape, this.protocol.size(message as M)));
    const arrival = link.ordered(dir, sent + oneWayDelay(shape, this.linkRng(link)));
    this.queue.schedule(arrival, DELIVER, dir === 0 ? link.b : link.a, link, message, '', 0);
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
        this.close(link.a, link, 'timeout');
      });
    }
    link.held.push({ dir, message, reason });
  }

  /** The end at `index` closes `link`: it hears `peer-down` now, the other end after the data. */
  protected close(index: number, link: Link, reason: string): void {
    const node = this.node(index);
    const peer = link.other(index);
    if (node.links.get(peer) === link) node.links.delete(peer);
    if (link.state !== OPEN) {
      link.state = CLOSED;
      return;
    }
    this.notifyClose(link, link.dirFrom(index), reason);
    const ref = index === link.a ? link.bRef : link.aRef;
    this.queue.schedule(this.now, LOCAL_DOWN, index, link, ref?.id, reason, node.inc);
  }

  /** The other end hears the close after whatever was sent before it. */
  protected notifyClose(link: Link, dir: number, reason: string): void {
    this.inFlight++;
    const from = this.node(dir === 0 ? link.a : link.b);
    const to = this.node(dir === 0 ? link.b : link.a);
    if (from.group !== to.group) {
      this.#hold(link, dir, CLOSE_MARK, reason);
      return;
    }
    const arrival = link.ordered(dir, this.now + oneWayDelay(this.shape, this.linkRng(link)));
    this.queue.schedule(arrival, CLOSE_NOTICE, dir === 0 ? link.b : link.a, link, reason, '', 0);
  }

  /** A message arrives, unless the connection is gone by then. */
  protected onDeliver(event: SimEvent): void {
    this.inFlight--;
    const link = event.link as Link;
    const node = this.node(event.node);
    const peer = link.other(event.node);
    // The receiver closed the connection or died meanwhile: the bytes meet a reset.
    if (node.links.get(peer) !== link || link.state !== OPEN) return;
    const from = event.node === link.a ? link.bRef : link.aRef;
    this.input(event.node, { kind: 'message', from: from as NodeRef, message: event.data as M });
  }

  /** The other end closed: the peer hears it, unless it let go of the connection first. */
  protected onCloseNotice(event: SimEvent): void {
    this.inFlight--;
    const link = event.link as Link;
    const node = this.node(event.node);
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
  }

  /** The end that closed hears its own `peer-down`. */
  protected onLocalDown(event: SimEvent): void {
    if (this.node(event.node).inc !== event.inc) return;
    this.input(event.node, {
      kind: 'peer-down',
      peer: event.data as string,
      reason: event.key,
    });
  }
}
