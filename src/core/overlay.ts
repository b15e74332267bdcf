/**
 * The overlay core: HyParView membership and Plumtree dissemination composed into one `Core`, as
 * iroh-gossip's `proto/topic.rs` composes them. Neighbor-up and neighbor-down from the membership
 * feed Plumtree's eager and lazy sets; a `broadcast` input starts a Plumtree broadcast.
 *
 * What the driver must do (the TCP driver in `src/peer/`, the simulator in `src/sim/`):
 * - report `peer-up` with the remote's proven ref, for every connection, whoever dialed;
 * - deliver a `send` only to a connection whose node id is `to.id`; when it must dial `to.address`
 *   and finds another node there (or none), report `dial-failed` for that address;
 * - carry `disconnect` out after flushing what was sent before it, and report `peer-down` for every
 *   connection that closes (also the ones the core closed);
 * - feed `timer` when a `set-timer` comes due (setting a key again replaces it);
 * - pass only overlay frames (`isOverlayMessage`) from peers that announced `Feature.hyparview`;
 * - join through a peer that is already part of the overlay. A join walk spreads a newcomer over
 *   the network only as far as its contact is connected: 1,000 peers joining at once each through
 *   the previous one (a chain) gave an overlay 295 hops across, through one bootstrap peer 11
 *   (in-memory network, seed 5, 1 ms between joins; 7 when joins are spread by 10 ms).
 */
import { isMembershipMessage, type OverlayMessage } from '../protocol/overlay-messages.js';
import { HyParView } from './hyparview.js';
import type { Core, CoreEnv, CoreInput, NodeRef } from './machine.js';
import type { OverlayEvent } from './overlay-events.js';
import { type OverlayOptions, resolveOverlayOptions } from './overlay-options.js';
import type { Out, OverlayOutput } from './overlay-output.js';
import { Plumtree, type PlumtreeStats } from './plumtree.js';

export type { OverlayEvent } from './overlay-events.js';
export type { OverlayOptions } from './overlay-options.js';
export { DEFAULT_OVERLAY_OPTIONS } from './overlay-options.js';
export type { OverlayOutput } from './overlay-output.js';
export type { PlumtreeStats } from './plumtree.js';

/** Entries held in each table a remote peer can make grow. */
export interface OverlayTableSizes {
  readonly active: number;
  readonly passive: number;
  readonly pendingNeighbors: number;
  readonly seen: number;
  readonly payloads: number;
  readonly missing: number;
  readonly queued: number;
}

export class OverlayCore implements Core<OverlayMessage, OverlayEvent> {
  readonly options: OverlayOptions;
  readonly #membership: HyParView;
  readonly #broadcast: Plumtree;

  constructor(
    readonly self: NodeRef,
    env: CoreEnv,
    options: Partial<OverlayOptions> = {},
  ) {
    this.options = resolveOverlayOptions(options);
    this.#membership = new HyParView(self, env, this.options);
    this.#broadcast = new Plumtree(env, this.options);
  }

  /** Peers we hold open overlay links to. */
  get activeView(): NodeRef[] {
    return this.#membership.activeView;
  }

  /** Candidates for the active view. */
  get passiveView(): NodeRef[] {
    return this.#membership.passiveView;
  }

  /** Plumtree's neighbors on the tree (eager) and off it (lazy), by node id. */
  get tree(): { eager: string[]; lazy: string[] } {
    return { eager: this.#broadcast.eagerPeers, lazy: this.#broadcast.lazyPeers };
  }

  /** Dissemination counters: payload sends, deliveries, duplicates, control frames, drops. */
  /** Plumtree's repair waits as learned now. */
  get repairWaits(): { graftTimeoutMs: number; graftRetryMs: number } {
    return this.#broadcast.repairWaits;
  }

  get stats(): Readonly<PlumtreeStats> {
    return this.#broadcast.stats;
  }

  /** Sizes of every table a remote peer can make grow, for bound checks and memory figures. */
  get tableSizes(): OverlayTableSizes {
    return {
      active: this.#membership.activeView.length,
      passive: this.#membership.passiveView.length,
      pendingNeighbors: this.#membership.pendingRequests,
      ...this.#broadcast.tableSizes,
    };
  }

  handle(input: CoreInput<OverlayMessage>): OverlayOutput[] {
    const out: Out = [];
    this.#membership.start(out);
    switch (input.kind) {
      case 'peer-up':
        this.#membership.peerUp(input.peer, out);
        break;
      case 'peer-down':
        this.#membership.peerDown(input.peer, out);
        break;
      case 'dial-failed':
        this.#membership.dialFailed(input.address, out);
        break;
      case 'message': {
        const { from, message } = input;
        if (from.id === this.self.id) break;
        if (isMembershipMessage(message)) this.#membership.message(from, message, out);
        else this.#broadcast.message(from, message, out);
        break;
      }
      case 'timer':
        if (!this.#membership.timer(input.key, out)) this.#broadcast.timer(input.key, out);
        break;
      case 'broadcast':
        this.#broadcast.broadcast(input.id, input.payload, out);
        break;
      case 'join':
        this.#membership.join(input.via, out);
        break;
    }
    return this.#feedNeighbors(out);
  }

  /** Says goodbye to every neighbor (`hv_disconnect`, not alive) before the driver stops. */
  leave(): OverlayOutput[] {
    const out: Out = [];
    this.#membership.leave(out);
    return this.#feedNeighbors(out);
  }

  /** Tells Plumtree of the membership's neighbor changes, in the order they happened. */
  #feedNeighbors(out: Out): Out {
    const length = out.length;
    for (let i = 0; i < length; i++) {
      const output = out[i] as OverlayOutput;
      if (output.kind !== 'event') continue;
      const { event } = output;
      if (event.type === 'neighbor-up') this.#broadcast.neighborUp(event.peer);
      else if (event.type === 'neighbor-down') this.#broadcast.neighborDown(event.peer.id, out);
    }
    return out;
  }
}
