import type { Core, CoreEnv, CoreInput, CoreOutput, NodeRef } from '../../src/core/machine.js';
import type { SimProtocol } from '../../src/sim/protocol.js';

/**
 * A deliberately simple protocol for testing the simulator without the real overlay: a peer asks
 * the peer it joins through for a few of its neighbours and connects to them, and floods every
 * broadcast to every neighbour once.
 */
export type FloodMessage =
  | { readonly t: 'join' }
  | { readonly t: 'peers'; readonly list: readonly NodeRef[] }
  | { readonly t: 'hello' }
  | { readonly t: 'gossip'; readonly id: string; readonly payload: string; readonly hops: number };

export type FloodEvent = { readonly kind: 'delivered'; readonly id: string; readonly hops: number };

const FANOUT = 4;
const MAX_NEIGHBOURS = 8;

export class FloodCore implements Core<FloodMessage, FloodEvent> {
  readonly neighbours = new Map<string, NodeRef>();
  readonly #seen = new Set<string>();
  constructor(
    readonly self: NodeRef,
    readonly env: CoreEnv,
  ) {}

  handle(input: CoreInput<FloodMessage>): CoreOutput<FloodMessage, FloodEvent>[] {
    const out: CoreOutput<FloodMessage, FloodEvent>[] = [];
    switch (input.kind) {
      case 'peer-up':
        this.neighbours.set(input.peer.id, input.peer);
        break;
      case 'peer-down':
        this.neighbours.delete(input.peer);
        break;
      case 'join':
        out.push({ kind: 'send', to: input.via, message: { t: 'join' } });
        break;
      case 'broadcast':
        this.#seen.add(input.id);
        for (const to of this.neighbours.values())
          out.push({
            kind: 'send',
            to,
            message: { t: 'gossip', id: input.id, payload: input.payload, hops: 1 },
          });
        break;
      case 'message': {
        const m = input.message;
        if (m.t === 'join') {
          const others = [...this.neighbours.values()].filter((r) => r.id !== input.from.id);
          const list = this.env.rng.shuffle(others).slice(0, FANOUT);
          out.push({ kind: 'send', to: input.from, message: { t: 'peers', list } });
        } else if (m.t === 'peers') {
          for (const to of m.list) {
            if (to.id === this.self.id || this.neighbours.has(to.id)) continue;
            if (this.neighbours.size >= MAX_NEIGHBOURS) break;
            out.push({ kind: 'send', to, message: { t: 'hello' } });
          }
        } else if (m.t === 'gossip' && !this.#seen.has(m.id)) {
          this.#seen.add(m.id);
          out.push({ kind: 'event', event: { kind: 'delivered', id: m.id, hops: m.hops } });
          for (const to of this.neighbours.values())
            if (to.id !== input.from.id)
              out.push({ kind: 'send', to, message: { ...m, hops: m.hops + 1 } });
        }
        break;
      }
      default:
        break;
    }
    return out;
  }
}

export const floodProtocol: SimProtocol<FloodMessage, FloodEvent> = {
  name: 'flood',
  create: (self, env) => new FloodCore(self, env),
  delivery: (event) => event,
  isPayload: (m) => m.t === 'gossip',
  size: (m) => JSON.stringify(m).length,
};
