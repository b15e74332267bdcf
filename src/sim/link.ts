import type { NodeRef } from '../core/machine.js';
import type { Rng } from '../core/rng.js';

/** A connection's life: dialled, both ends up, or gone. */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 2;

/** Something that crossed a partition's line: held until it heals (TCP keeps retransmitting). */
export interface Held {
  /** 0: from a to b; 1: from b to a. */
  readonly dir: number;
  /** The message, or CLOSE_MARK for a connection reset that could not get through. */
  readonly message: unknown;
  readonly reason: string;
}

/** Stands for "the connection was closed" in a link's held traffic. */
export const CLOSE_MARK: unique symbol = Symbol('close');

/**
 * One connection between two simulated peers. `a` dialled `b`; direction 0 is a -> b. Each
 * direction keeps the arrival time of its last message, so messages arrive in the order they were
 * sent (TCP is a stream: a retransmitted segment holds back the ones behind it).
 */
export class Link {
  state = CONNECTING;
  aRef: NodeRef;
  bRef: NodeRef | null = null;
  /** Messages the ends asked to send before the connection was up: [dir, message] pairs. */
  pending: unknown[] | null = null;
  lastArrival0 = 0;
  lastArrival1 = 0;
  busyUntil0 = 0;
  busyUntil1 = 0;
  held: Held[] | null = null;
  heldSince = 0;
  /** Drawn lazily: only links of a shape with jitter or loss need one. */
  rng: Rng | null = null;
  /** The node id the dialling end expects at `b` (null for a `dial` by address only). */
  expectId: string | null = null;
  /** The dialling end gives its core `join` through `b` once up. */
  joinOnOpen = false;

  constructor(
    readonly a: number,
    readonly b: number,
    aRef: NodeRef,
  ) {
    this.aRef = aRef;
  }

  /** The node index at the other end from `index`. */
  other(index: number): number {
    return index === this.a ? this.b : this.a;
  }

  /** The direction a message from `index` travels. */
  dirFrom(index: number): number {
    return index === this.a ? 0 : 1;
  }

  /** Arrival no earlier than the previous message's in this direction; records it. */
  ordered(dir: number, arrival: number): number {
    if (dir === 0) {
      if (arrival < this.lastArrival0) arrival = this.lastArrival0;
      this.lastArrival0 = arrival;
    } else {
      if (arrival < this.lastArrival1) arrival = this.lastArrival1;
      this.lastArrival1 = arrival;
    }
    return arrival;
  }

  /** When the wire is free in `dir` after sending for `ms` from `now` (bandwidth). */
  occupy(dir: number, now: number, ms: number): number {
    const start = Math.max(now, dir === 0 ? this.busyUntil0 : this.busyUntil1);
    const end = start + ms;
    if (dir === 0) this.busyUntil0 = end;
    else this.busyUntil1 = end;
    return end;
  }
}
