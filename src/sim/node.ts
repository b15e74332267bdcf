import type { Core, NodeRef } from '../core/machine.js';
import type { SimEvent } from './event-queue.js';
import type { Link } from './link.js';

/** One simulated peer's place in the network: its core while it runs, connections and timers. */
export class SimNode<M, E> {
  core: Core<M, E> | null = null;
  ref: NodeRef;
  /** Bumped on every start and kill: events scheduled for an earlier incarnation are ignored. */
  inc = 0;
  /** Its side of a partition (0: none). */
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

/** A simulated peer's address: 10.x.y.z:7000 from its index, so cores see a usual host:port. */
export function simAddress(index: number): string {
  return `10.${(index >>> 16) & 255}.${(index >>> 8) & 255}.${index & 255}:${7000 + (index >>> 24)}`;
}
