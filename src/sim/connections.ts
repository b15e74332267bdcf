import type { Rng } from '../core/rng.js';
import { oneWayDelay } from './delay.js';
import { CONNECT, DIAL_FAIL, type SimEvent } from './event-queue.js';
import { CLOSED, CONNECTING, Link, OPEN } from './link.js';
import { SimWire } from './wire.js';

/** How long a dial into a partition waits before it fails (the TCP driver's connect timeout). */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Opening connections between the simulated peers, as the `Core` contract has it: a `send` to a
 * peer without one dials it, and the peers see `peer-up` one round trip later (or `dial-failed`:
 * refused at once by a dead peer, timed out behind a partition); one connection per pair.
 */
export abstract class SimConnections<M, E> extends SimWire<M, E> {
  protected readonly byAddress = new Map<string, number>();

  /** Closes `count` open connections chosen at random, each from one of its ends. */
  cut(count: number, rng: Rng): number {
    const open: Link[] = [];
    this.nodes.forEach((node, i) => {
      for (const link of node.links.values())
        if (link.a === i && link.state === OPEN) open.push(link);
    });
    const chosen = rng.shuffle(open).slice(0, count);
    for (const link of chosen) this.close(rng.next() < 0.5 ? link.a : link.b, link, 'cut');
    return chosen.length;
  }

  /** `message` undefined: only connect (a `dial`). */
  protected send(index: number, address: string, id: string | null, message: M | undefined): void {
    const node = this.node(index);
    const peer = this.byAddress.get(address);
    let link = peer === undefined ? undefined : node.links.get(peer);
    // A send goes only to the node it names: another node at that address fails like a dial.
    const other =
      link === undefined || id === null ? null : index === link.a ? link.bRef : link.aRef;
    if (peer === undefined || peer === index || (other != null && other.id !== id)) {
      this.queue.schedule(this.now, DIAL_FAIL, index, null, address, 'another node', node.inc);
      return;
    }
    if (link === undefined) {
      link = this.dial(index, peer);
      link.expectId = id;
    }
    if (message === undefined) return;
    if (link.state === OPEN) this.transmit(link, link.dirFrom(index), message);
    else {
      link.pending ??= [];
      link.pending.push(link.dirFrom(index), message);
    }
  }

  protected dial(index: number, peer: number): Link {
    const node = this.node(index);
    const target = this.node(peer);
    const link = new Link(index, peer, node.ref);
    node.links.set(peer, link);
    const rtt = oneWayDelay(this.shape, this.linkRng(link)) + oneWayDelay(this.shape, link.rng);
    if (node.group !== target.group) {
      this.queue.schedule(
        this.now + CONNECT_TIMEOUT_MS,
        DIAL_FAIL,
        index,
        link,
        target.ref.address,
        'timeout',
        node.inc,
      );
    } else if (!target.alive) {
      this.queue.schedule(
        this.now + rtt,
        DIAL_FAIL,
        index,
        link,
        target.ref.address,
        'refused',
        node.inc,
      );
    } else {
      this.queue.schedule(this.now + rtt, CONNECT, index, link, null, '', node.inc);
    }
    return link;
  }

  /** A dial failed (refused, timed out, another node at the address). */
  protected onDialFail(event: SimEvent): void {
    const node = this.node(event.node);
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
  }

  /** A dial got through: both ends are up, or it merges with one the other way. */
  protected onConnect(event: SimEvent): void {
    const link = event.link as Link;
    if (link.state !== CONNECTING) return;
    const node = this.node(link.a);
    const target = this.node(link.b);
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
        this.transmit(link, pending[i] as number, pending[i + 1]);
    this.input(link.b, { kind: 'peer-up', peer: node.ref, direction: 'inbound' });
    if (link.state !== OPEN || !node.alive) return;
    this.input(link.a, { kind: 'peer-up', peer: target.ref, direction: 'outbound' });
    if (link.joinOnOpen && link.state === OPEN)
      this.input(link.a, { kind: 'join', via: target.ref });
  }
}
