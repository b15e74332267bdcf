import type { NodeRef } from './machine.js';
import { type Out, send } from './overlay-output.js';

/**
 * A peer's Plumtree links: its HyParView neighbors, each eager (it pushes payloads: the spanning
 * tree) or lazy (it announces ids). A peer that is no neighbor is never made either.
 */
export class TreeLinks {
  readonly eager = new Map<string, NodeRef>();
  readonly lazy = new Map<string, NodeRef>();

  constructor(private readonly stats: { graftsSent: number; prunesSent: number }) {}

  /** A new neighbor starts eager (the paper's Algorithm 1). */
  add(peer: NodeRef): void {
    this.lazy.delete(peer.id);
    this.eager.set(peer.id, peer);
  }

  remove(id: string): void {
    this.eager.delete(id);
    this.lazy.delete(id);
  }

  isNeighbor(id: string): boolean {
    return this.eager.has(id) || this.lazy.has(id);
  }

  makeEager(peer: NodeRef): void {
    if (!this.isNeighbor(peer.id)) return;
    this.lazy.delete(peer.id);
    this.eager.set(peer.id, this.eager.get(peer.id) ?? peer);
  }

  makeLazy(peer: NodeRef): void {
    if (!this.isNeighbor(peer.id)) return;
    const ref = this.eager.get(peer.id) ?? this.lazy.get(peer.id) ?? peer;
    this.eager.delete(peer.id);
    this.lazy.set(peer.id, ref);
  }

  /** Makes `peer` eager and asks it to push to us too (GRAFT without an id). */
  graft(peer: NodeRef, out: Out): void {
    this.makeEager(peer);
    send(out, peer, { type: 'pt_graft' });
    this.stats.graftsSent++;
  }

  /** Makes `peer` lazy and asks it to stop pushing to us (PRUNE). */
  prune(peer: NodeRef, out: Out): void {
    this.makeLazy(peer);
    send(out, peer, { type: 'pt_prune' });
    this.stats.prunesSent++;
  }
}
