import type { Core, CoreEnv, CoreInput, CoreOutput, NodeRef } from './machine.js';

/**
 * The simplest partial overlay, a baseline for HyParView + Plumtree: each peer keeps up to `links`
 * links to peers it heard of from its neighbours, and floods every message it sees for the first
 * time to all its links but the sender. Every message costs about `links` sends per delivery.
 */
export type FloodMessage =
  | { readonly kind: 'peers'; readonly peers: readonly string[] }
  | {
      readonly kind: 'gossip';
      readonly id: string;
      readonly payload: string;
      readonly hops: number;
    };

export type FloodEvent = {
  readonly kind: 'delivered';
  readonly id: string;
  readonly payload: string;
  readonly from: NodeRef;
  readonly hops: number;
};

/** Message ids remembered to drop repeats; the oldest are forgotten first. */
export const FLOOD_SEEN_CAPACITY = 4_096;

export class FloodCore implements Core<FloodMessage, FloodEvent> {
  readonly #links = new Map<string, NodeRef>();
  readonly #seen = new Set<string>();

  constructor(
    private readonly self: NodeRef,
    private readonly env: CoreEnv,
    private readonly want = 5,
  ) {}

  handle(input: CoreInput<FloodMessage>): CoreOutput<FloodMessage, FloodEvent>[] {
    switch (input.kind) {
      case 'peer-up': {
        this.#links.set(input.peer.id, input.peer);
        const peers = [...this.#links.values()].map((p) => p.address);
        return [{ kind: 'send', to: input.peer, message: { kind: 'peers', peers } }];
      }
      case 'peer-down':
        this.#links.delete(input.peer);
        return [];
      case 'message':
        return this.#message(input.from, input.message);
      case 'broadcast':
        // On the wire the payload is the id (the original's random_message has no other field).
        this.#remember(input.payload);
        return this.#forward({
          kind: 'gossip',
          id: input.payload,
          payload: input.payload,
          hops: 1,
        });
      default:
        return [];
    }
  }

  #message(from: NodeRef, message: FloodMessage): CoreOutput<FloodMessage, FloodEvent>[] {
    if (message.kind === 'peers') {
      const known = new Set([...this.#links.values()].map((p) => p.address));
      const fresh = message.peers.filter((a) => a !== this.self.address && !known.has(a));
      const room = Math.max(0, this.want - this.#links.size);
      return this.env.rng
        .shuffle(fresh)
        .slice(0, room)
        .map((address) => ({ kind: 'dial', address }));
    }
    if (this.#seen.has(message.id)) return [];
    this.#remember(message.id);
    const { id, payload, hops } = message;
    const event: FloodEvent = { kind: 'delivered', id, payload, hops, from };
    return [
      { kind: 'event', event },
      ...this.#forward({ ...message, hops: message.hops + 1 }, from.id),
    ];
  }

  #forward(message: FloodMessage, except?: string): CoreOutput<FloodMessage, FloodEvent>[] {
    return [...this.#links.values()]
      .filter((p) => p.id !== except)
      .map((to) => ({ kind: 'send', to, message }));
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (this.#seen.size > FLOOD_SEEN_CAPACITY) {
      const oldest = this.#seen.values().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
    }
  }
}
