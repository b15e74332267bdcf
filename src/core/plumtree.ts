/**
 * Plumtree dissemination (Leitao, Pereira, Rodrigues, SRDS 2007) as an I/O-free state machine. The
 * payload goes eagerly to the eager peers (the spanning tree) and its id lazily (batched IHAVE) to
 * the lazy peers; a duplicate prunes its sender to lazy, a missing id grafts its announcer to eager
 * after a timeout. Model: iroh-gossip's `proto/plumtree.rs`; as in the paper (Algorithm 1), the
 * neighbor that delivers a first copy becomes eager, which regrows the tree after a repair.
 *
 * Eager and lazy peers are always HyParView neighbors, so Plumtree never makes the driver dial;
 * IHAVE and GRAFT from non-neighbors are ignored. Every table is capped (see `OverlayOptions`).
 */
import { MAX_HOPS } from '../protocol/limits.js';
import type { BroadcastMessage, IHaveEntry } from '../protocol/overlay-messages.js';
import { Budget } from './budget.js';
import { ExpiringMap } from './expiring-map.js';
import { IHAVE_TIMER, IHaveQueue } from './ihave-queue.js';
import type { CoreEnv, NodeRef } from './machine.js';
import { type Announcer, GRAFT_TIMER, MissingIds } from './missing-ids.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send } from './overlay-output.js';
import { TreeLinks } from './tree-links.js';

/** Counters for reach and redundancy figures; drivers sum them over peers. */
export interface PlumtreeStats {
  /** Messages this peer originated. */
  broadcasts: number;
  /** First copies delivered to the application. */
  delivered: number;
  /** `pt_gossip` frames sent: eager pushes and GRAFT answers. */
  payloadSent: number;
  payloadReceived: number;
  /** Payload copies of messages already delivered. */
  duplicates: number;
  ihaveFramesSent: number;
  ihaveIdsSent: number;
  graftsSent: number;
  prunesSent: number;
  /** Work refused by a cap: queued IHAVE ids, tracked missing ids, GRAFT answers. */
  dropped: number;
  /** GRAFTs for an id whose payload was no longer kept (older than `payloadRetentionMs`). */
  graftsUnanswerable: number;
  /** Missing ids given up: every announcer was asked (or gone) and no copy came. */
  givenUp: number;
}

/** A delivered id: who is known to hold it, and whence and how far our copy came. */
interface Seen {
  readonly holders: Set<string>;
  /** The neighbor our first copy came from (undefined: we sent it). */
  parent: NodeRef | undefined;
  hops: number;
  /** Set when the first copy answered our timed-out GRAFT: the neighbor that answered it. */
  repairedBy: string | undefined;
}

export class Plumtree {
  readonly stats: PlumtreeStats = {
    broadcasts: 0,
    delivered: 0,
    payloadSent: 0,
    payloadReceived: 0,
    duplicates: 0,
    ihaveFramesSent: 0,
    ihaveIdsSent: 0,
    graftsSent: 0,
    prunesSent: 0,
    dropped: 0,
    graftsUnanswerable: 0,
    givenUp: 0,
  };
  readonly #links = new TreeLinks(this.stats);
  /**
   * Delivered ids, each with the neighbors known to hold it (they announced or pushed it to us):
   * no IHAVE goes to those. On a lazy link both ends used to announce every message to each
   * other; now the end whose batch leaves second sees the first's IHAVE and stays silent, which
   * halves the IHAVE frames (the bulk of the frames over TCP).
   */
  readonly #seen: ExpiringMap<string, Seen>;
  /** Payloads kept for GRAFTs, with the hop count a copy sent now arrives with. */
  readonly #payloads: ExpiringMap<string, { payload: string; hops: number }>;
  readonly #missing: MissingIds;
  readonly #ihaves: IHaveQueue;
  readonly #graftAnswers = new Map<string, Budget>();

  constructor(
    private readonly env: CoreEnv,
    private readonly options: OverlayOptions,
  ) {
    this.#ihaves = new IHaveQueue(options, this.stats);
    this.#missing = new MissingIds(env, options, {
      isNeighbor: (id) => this.#links.isNeighbor(id),
      delivered: (id) => this.#seen.has(id, this.env.now()),
      makeEager: (peer) => this.#links.makeEager(peer),
      stats: this.stats,
    });
    this.#seen = new ExpiringMap(options.seenCacheMax, options.seenRetentionMs);
    this.#payloads = new ExpiringMap(options.payloadCacheMax, options.payloadRetentionMs);
  }

  get eagerPeers(): string[] {
    return [...this.#links.eager.keys()];
  }

  get lazyPeers(): string[] {
    return [...this.#links.lazy.keys()];
  }

  /** The repair's waits as learned now (`RepairTiming`). */
  get repairWaits(): { graftTimeoutMs: number; graftRetryMs: number } {
    const timing = this.#missing.timing;
    return { graftTimeoutMs: timing.graftTimeoutMs, graftRetryMs: timing.graftRetryMs };
  }

  /** Sizes of the bounded tables, for tests and memory figures. */
  get tableSizes(): { seen: number; payloads: number; missing: number; queued: number } {
    return {
      seen: this.#seen.size,
      payloads: this.#payloads.size,
      missing: this.#missing.size,
      queued: this.#ihaves.size,
    };
  }

  neighborUp(peer: NodeRef): void {
    this.#links.add(peer);
    this.#graftAnswers.set(
      peer.id,
      new Budget(this.options.graftAnswerBurst, this.options.graftAnswerRefillMs, this.env.now()),
    );
  }

  /** "The record of IHAVE messages sent from failed members is deleted" (paper, p. 9). */
  neighborDown(id: string, out: Out): void {
    this.#links.remove(id);
    this.#ihaves.drop(id);
    this.#graftAnswers.delete(id);
    this.#missing.neighborDown(id, out);
  }

  broadcast(id: string, payload: string, out: Out): void {
    const now = this.env.now();
    if (this.#seen.has(id, now)) return;
    this.stats.broadcasts++;
    this.#seen.set(
      id,
      { holders: new Set(), parent: undefined, hops: 0, repairedBy: undefined },
      now,
    );
    this.#payloads.set(id, { payload, hops: 1 }, now);
    this.#push(id, payload, 1, undefined, out);
  }

  message(from: NodeRef, message: BroadcastMessage, out: Out): void {
    switch (message.type) {
      case 'pt_gossip':
        this.#onGossip(from, message.id, message.payload, message.hops, out);
        return;
      case 'pt_ihave':
        if (this.#links.isNeighbor(from.id)) this.#onIHave(from, message.ids, out);
        return;
      case 'pt_graft':
        if (this.#links.isNeighbor(from.id)) this.#onGraft(from, message.id, out);
        return;
      case 'pt_prune':
        if (this.#links.isNeighbor(from.id)) this.#links.makeLazy(from);
        return;
    }
  }

  /** Handles a timer of this layer; false when `key` is not one. */
  timer(key: string, out: Out): boolean {
    if (key === IHAVE_TIMER) {
      this.#ihaves.dispatch(
        this.env.now(),
        (id) => this.#links.lazy.get(id) ?? this.#links.eager.get(id),
        (peer, id) => this.#seen.get(id, this.env.now())?.holders.has(peer) ?? false,
        out,
      );
    } else if (key.startsWith(GRAFT_TIMER))
      this.#missing.onTimer(key.slice(GRAFT_TIMER.length), out);
    else return false;
    return true;
  }

  #onGossip(from: NodeRef, id: string, payload: string, hops: number, out: Out): void {
    const now = this.env.now();
    this.stats.payloadReceived++;
    const seen = this.#seen.get(id, now);
    if (seen !== undefined) {
      this.stats.duplicates++;
      seen.holders.add(from.id);
      if (
        seen.repairedBy !== undefined &&
        seen.repairedBy !== from.id &&
        this.#links.isNeighbor(from.id)
      ) {
        // The tree's copy came after all, only late (a loaded path): the GRAFT was a one-off
        // repair, so the grafted link goes back to lazy and the tree keeps its link. Pruning the
        // tree's link instead, as on any duplicate, rewired the shared tree on every late copy:
        // over TCP under load that was most of the PRUNEs and the GRAFTs that followed them.
        const repairer = this.#links.eager.get(seen.repairedBy);
        seen.repairedBy = undefined;
        if (repairer !== undefined) this.#links.prune(repairer, out);
        return;
      }
      // A duplicate from a neighbor already lazy here was sent before our PRUNE reached it: one
      // PRUNE per link is enough. Under load, when a PRUNE took a second to arrive, every copy
      // pushed meanwhile drew another (N = 1,000 over TCP: 12,000-32,000 of them for 99 messages).
      if (this.#links.eager.has(from.id)) this.#links.prune(from, out);
      return;
    }
    const announcers = this.#missing.announcers(id);
    const holders = new Set([from.id]);
    for (const a of announcers ?? []) holders.add(a.peer.id);
    const graftedAt = this.#missing.graftedAt(id, from.id);
    const repairedBy = graftedAt === undefined ? undefined : from.id;
    if (graftedAt !== undefined) this.#missing.timing.graftRoundTrip(now - graftedAt);
    this.#seen.set(id, { holders, parent: from, hops, repairedBy }, now);
    const onward = Math.min(hops + 1, MAX_HOPS);
    this.#payloads.set(id, { payload, hops: onward }, now);
    this.#missing.forget(id, out);
    if (this.#links.isNeighbor(from.id)) this.#links.makeEager(from);
    this.#push(id, payload, onward, from.id, out);
    this.stats.delivered++;
    out.push({ kind: 'event', event: { type: 'delivered', id, payload, hops, from } });
    if (announcers !== undefined) this.#optimize(from, hops, announcers, out);
  }

  /**
   * If an announcer had the message this many hops closer to its origin than the eager copy,
   * swap the two: graft the announcer, prune the sender (iroh's `optimization_threshold`).
   */
  #optimize(from: NodeRef, hops: number, announcers: readonly Announcer[], out: Out): void {
    const threshold = this.options.optimizationThreshold;
    if (threshold === 0 || !this.#links.isNeighbor(from.id)) return;
    let best: Announcer | undefined;
    for (const a of announcers) if (best === undefined || a.hops < best.hops) best = a;
    if (
      best === undefined ||
      hops - best.hops < threshold ||
      !this.#links.isNeighbor(best.peer.id)
    ) {
      return;
    }
    if (!this.#links.eager.has(best.peer.id)) this.#links.graft(best.peer, out);
    this.#links.prune(from, out);
  }

  /**
   * The same swap for an announcement that came after our copy: over TCP the IHAVE batch leaves
   * later than the eager copy, so the check at delivery alone seldom saw an announcer and the
   * tree, grown from the first deliveries of a forming overlay, stayed deep (hops p50 above the
   * graph's diameter).
   */
  #optimizeLate(from: NodeRef, hops: number, seen: Seen, out: Out): void {
    const threshold = this.options.optimizationThreshold;
    const parent = seen.parent;
    if (threshold === 0 || parent === undefined || seen.hops - hops < threshold) return;
    if (this.#links.eager.has(from.id) || !this.#links.isNeighbor(parent.id)) return;
    this.#links.graft(from, out);
    this.#links.prune(parent, out);
    seen.parent = from;
    seen.hops = hops;
  }

  #onIHave(from: NodeRef, ids: readonly IHaveEntry[], out: Out): void {
    const now = this.env.now();
    for (const { id, hops } of ids) {
      const seen = this.#seen.get(id, now);
      if (seen !== undefined) {
        seen.holders.add(from.id);
        this.#optimizeLate(from, hops, seen, out);
        continue;
      }
      this.#missing.announced(from, id, hops, out);
    }
  }

  #onGraft(from: NodeRef, id: string | undefined, out: Out): void {
    this.#links.makeEager(from);
    if (id === undefined) return;
    const now = this.env.now();
    const cached = this.#payloads.get(id, now);
    if (cached === undefined) {
      this.stats.graftsUnanswerable++;
      return;
    }
    if (!this.#graftAnswers.get(from.id)?.take(now)) {
      this.stats.dropped++;
      return;
    }
    send(out, from, { type: 'pt_gossip', id, payload: cached.payload, hops: cached.hops });
    this.stats.payloadSent++;
  }

  /** Eager push of the payload, and the id queued for the next lazy batch. */
  #push(id: string, payload: string, hops: number, except: string | undefined, out: Out): void {
    for (const peer of this.#links.eager.values()) {
      if (peer.id === except) continue;
      send(out, peer, { type: 'pt_gossip', id, payload, hops });
      this.stats.payloadSent++;
    }
    const now = this.env.now();
    for (const peer of this.#links.lazy.values()) {
      if (peer.id !== except) this.#ihaves.add(peer.id, id, hops, now);
    }
    this.#ihaves.arm(out);
  }
}
