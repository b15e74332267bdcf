/**
 * HyParView's forward-join walks (DSN 2007, p. 6): the contact of a newcomer starts a walk of
 * `activeWalkLength` hops through each of its other neighbors; the node where a walk ends asks the
 * newcomer to be its neighbor, and the node at `passiveWalkLength` hops keeps it as a candidate.
 * Walks travel along active links only. Part of `HyParView`, which owns the views.
 */
import type { NeighborPriority } from '../protocol/overlay-messages.js';
import type { NodeRef } from './machine.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send } from './overlay-output.js';
import { wireRef } from './shuffle.js';

/** What a walk needs from the membership that runs it. */
export interface WalkHost {
  readonly options: OverlayOptions;
  activeRefs(): Iterable<NodeRef>;
  isActive(id: string): boolean;
  isPending(id: string): boolean;
  isSelf(ref: NodeRef): boolean;
  randomActive(except: readonly string[]): NodeRef | undefined;
  /** Sends a neighbor request; false when a cap or the dial budget says no. */
  requestNeighbor(ref: NodeRef, priority: NeighborPriority, out: Out): boolean;
  /** Keeps `ref` as an unproven passive candidate. */
  learn(ref: NodeRef): void;
}

export class JoinWalks {
  /**
   * Newcomers that joined through us while we had too few other neighbors to start their walks,
   * with the walks still owed: each neighbor we gain later starts one (`neighborAdded`).
   */
  readonly #owed = new Map<string, { ref: NodeRef; walks: number }>();

  constructor(private readonly host: WalkHost) {}

  /** We took `newcomer` (its join) into the active view: its walks start. */
  start(newcomer: NodeRef, out: Out): void {
    let walks = 0;
    for (const neighbor of this.host.activeRefs()) {
      if (neighbor.id === newcomer.id) continue;
      this.#walk(newcomer, neighbor, out);
      walks++;
    }
    // Joins that arrive at once (an emulation starting, a burst) find their contacts with one
    // link or none: the walks could not start, and the newcomers hung off their contacts as a
    // tree (simulator, 1,000 simultaneous joins: diameter 24, 18 with the walks owed). The walks
    // owed start as soon as we gain neighbors to send them through.
    const { activeViewSize } = this.host.options;
    const owed = activeViewSize - 1 - walks;
    if (owed <= 0) return;
    this.#owed.delete(newcomer.id);
    this.#owed.set(newcomer.id, { ref: newcomer, walks: owed });
    if (this.#owed.size > activeViewSize) {
      this.#owed.delete(this.#owed.keys().next().value as string);
    }
  }

  /** A new neighbor: the walks owed to earlier newcomers start through it. */
  neighborAdded(neighbor: NodeRef, out: Out): void {
    for (const [id, entry] of this.#owed) {
      if (id === neighbor.id) continue;
      this.#walk(entry.ref, neighbor, out);
      if (--entry.walks <= 0) this.#owed.delete(id);
    }
  }

  /** A walk for `peer` came from neighbor `sender` with `hopsLeft` hops to go. */
  onForwardJoin(sender: NodeRef, peer: NodeRef, hopsLeft: number, out: Out): void {
    const host = this.host;
    if (host.isSelf(peer) || host.isActive(peer.id)) return;
    const ttl = Math.min(hopsLeft, host.options.activeWalkLength);
    // A node whose only neighbor is the sender sends the walk back rather than end it early (the
    // paper ends it): during a burst of joins young nodes hold one link, and walks ending at them
    // chain the newcomers to each other instead of spreading them.
    const next =
      ttl > 0
        ? (host.randomActive([sender.id, peer.id]) ?? host.randomActive([peer.id]))
        : undefined;
    if (next === undefined) {
      // The walk ends here: ask the newcomer to be our neighbor (we dial it).
      if (!host.requestNeighbor(peer, 'high', out)) host.learn(peer);
      return;
    }
    if (ttl === host.options.passiveWalkLength) host.learn(peer);
    if (host.isPending(peer.id)) return;
    send(out, next, { type: 'hv_forward_join', peer: wireRef(peer), ttl: ttl - 1 });
  }

  #walk(newcomer: NodeRef, via: NodeRef, out: Out): void {
    send(out, via, {
      type: 'hv_forward_join',
      peer: wireRef(newcomer),
      ttl: this.host.options.activeWalkLength,
    });
  }
}
