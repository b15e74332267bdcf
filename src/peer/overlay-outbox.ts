import type { NodeRef } from '../core/machine.js';

/**
 * Frames queued for a peer being dialed. A core talks in bursts (a join, then a shuffle), and a
 * dial takes a round trip and a proof: 64 covers that; past it the core's frames are dropped, as
 * a lossy network would, rather than held without bound.
 */
export const MAX_QUEUED_FRAMES_PER_PEER = 64;

export interface Queued<M> {
  readonly address: string;
  readonly messages: M[];
  /** The core asked to close the link once what is queued has been sent. */
  closeAfter?: string;
}

/**
 * What the core sent to peers not connected yet, by node id, until a connection to them is up or
 * the dial fails. At most one queue per peer the core is dialing (the dialer bounds those).
 */
export class Outbox<M> {
  readonly #queues = new Map<string, Queued<M>>();

  add(to: NodeRef, message: M): void {
    let queue = this.#queues.get(to.id);
    if (queue === undefined) {
      queue = { address: to.address, messages: [] };
      this.#queues.set(to.id, queue);
    }
    if (queue.messages.length < MAX_QUEUED_FRAMES_PER_PEER) queue.messages.push(message);
  }

  /** Marks the queue of `id` to close once flushed; false when nothing is queued for it. */
  closeAfter(id: string, reason: string): boolean {
    const queue = this.#queues.get(id);
    if (queue === undefined) return false;
    queue.closeAfter = reason;
    return true;
  }

  /** Removes and returns what is queued for `id`. */
  take(id: string): Queued<M> | undefined {
    const queue = this.#queues.get(id);
    this.#queues.delete(id);
    return queue;
  }

  /** Drops the queues for `address` (but the one for `keep`): their dial reached no such node. */
  dropAt(address: string, keep?: string): number {
    let dropped = 0;
    for (const [id, queue] of this.#queues) {
      if (queue.address === address && id !== keep) {
        this.#queues.delete(id);
        dropped++;
      }
    }
    return dropped;
  }
}
