import type { Core, CoreEnv, NodeRef } from '../core/machine.js';

/**
 * What the simulator needs to know of a protocol besides its `Core`: how to make one, and how to
 * read the few facts it measures from the core's events and messages. Everything else about the
 * messages is opaque to it.
 */
export interface SimProtocol<M, E> {
  readonly name: string;
  create(self: NodeRef, env: CoreEnv): Core<M, E>;
  /** A user message delivered to the peer: its broadcast id and the hops it took; else null. */
  delivery(event: E): { readonly id: string; readonly hops: number } | null;
  /** True for a message carrying a broadcast's payload (the rest is control traffic). */
  isPayload(message: M): boolean;
  /** Bytes on the wire; only asked when links have a bandwidth. */
  size(message: M): number;
}
