/**
 * Plumtree's repair side: ids announced by IHAVE and not delivered yet, with who announced them,
 * each with a GRAFT timer; when it fires the next announcer is asked (GRAFT with the id) and made
 * eager. Bounded: `missingMax` ids, `missingPerPeerMax` per announcer, and timed-out GRAFTs from
 * a budget (`graftBurst`, then one per `graftRefillMs`). Both waits are learned (`RepairTiming`).
 * Part of `Plumtree`.
 */
import { Budget } from './budget.js';
import type { CoreEnv, NodeRef } from './machine.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send, setTimer } from './overlay-output.js';
import { RepairTiming } from './repair-timing.js';

export const GRAFT_TIMER = 'pt:graft:';

export interface Announcer {
  readonly peer: NodeRef;
  readonly hops: number;
}

/** What the repair needs from the Plumtree that runs it. */
export interface RepairHost {
  isNeighbor(id: string): boolean;
  delivered(id: string): boolean;
  makeEager(peer: NodeRef): void;
  readonly stats: { graftsSent: number; dropped: number; givenUp: number };
}

export class MissingIds {
  readonly #missing = new Map<string, Announcer[]>();
  readonly #byPeer = new Map<string, number>();
  /** Missing ids we sent GRAFTs for: to whom, and when. */
  readonly #grafted = new Map<string, Map<string, number>>();
  /** The GRAFT timeout and retry delay, learned from GRAFT round trips. */
  readonly timing: RepairTiming;
  /** Timed-out GRAFTs we may send (see `graftBurst`). */
  readonly #grafts: Budget;

  constructor(
    private readonly env: CoreEnv,
    private readonly options: OverlayOptions,
    private readonly host: RepairHost,
  ) {
    this.#grafts = new Budget(options.graftBurst, options.graftRefillMs, env.now());
    this.timing = new RepairTiming(options);
  }

  get size(): number {
    return this.#missing.size;
  }

  announcers(id: string): readonly Announcer[] | undefined {
    return this.#missing.get(id);
  }

  /** When our GRAFT for `id` went to `peer`, if one did. */
  graftedAt(id: string, peer: string): number | undefined {
    return this.#grafted.get(id)?.get(peer);
  }

  /** `from` announced `id` (not delivered here) `hops` from its origin. */
  announced(from: NodeRef, id: string, hops: number, out: Out): void {
    const count = this.#byPeer.get(from.id) ?? 0;
    let announcers = this.#missing.get(id);
    if (announcers?.some((a) => a.peer.id === from.id)) return;
    if (
      count >= this.options.missingPerPeerMax ||
      (announcers === undefined && this.#missing.size >= this.options.missingMax)
    ) {
      this.host.stats.dropped++;
      return;
    }
    if (announcers === undefined) {
      announcers = [];
      this.#missing.set(id, announcers);
      setTimer(out, GRAFT_TIMER + id, this.timing.graftTimeoutMs);
    }
    announcers.push({ peer: from, hops });
    this.#byPeer.set(from.id, count + 1);
  }

  /** The eager copy did not come in time: ask the next announcer, then wait a round trip. */
  onTimer(id: string, out: Out): void {
    const announcers = this.#missing.get(id);
    if (announcers === undefined) return;
    let next: Announcer | undefined;
    while (next === undefined && announcers.length > 0) {
      const candidate = announcers.shift() as Announcer;
      this.#countDown(candidate.peer.id);
      if (this.host.isNeighbor(candidate.peer.id)) next = candidate;
    }
    if (next === undefined || this.host.delivered(id)) {
      if (next === undefined && !this.host.delivered(id)) this.host.stats.givenUp++;
      this.forget(id, out);
      return;
    }
    if (!this.#grafts.take(this.env.now())) {
      // Out of GRAFTs: the announcer stays first in line, and the tree gets more time.
      announcers.unshift(next);
      this.#byPeer.set(next.peer.id, (this.#byPeer.get(next.peer.id) ?? 0) + 1);
      setTimer(out, GRAFT_TIMER + id, this.options.graftRetryMs);
      return;
    }
    this.host.makeEager(next.peer);
    const grafted = this.#grafted.get(id) ?? new Map<string, number>();
    grafted.set(next.peer.id, this.env.now());
    this.#grafted.set(id, grafted);
    send(out, next.peer, { type: 'pt_graft', id });
    this.host.stats.graftsSent++;
    setTimer(out, GRAFT_TIMER + id, this.timing.graftRetryMs);
  }

  /** "The record of IHAVE messages sent from failed members is deleted" (paper, p. 9). */
  neighborDown(peer: string, out: Out): void {
    for (const [id, announcers] of this.#missing) {
      const kept = announcers.filter((a) => a.peer.id !== peer);
      if (kept.length === announcers.length) continue;
      if (kept.length === 0) this.forget(id, out);
      else this.#missing.set(id, kept);
    }
    this.#byPeer.delete(peer);
  }

  forget(id: string, out: Out): void {
    const announcers = this.#missing.get(id);
    if (announcers === undefined) return;
    for (const a of announcers) this.#countDown(a.peer.id);
    this.#missing.delete(id);
    this.#grafted.delete(id);
    out.push({ kind: 'cancel-timer', key: GRAFT_TIMER + id });
  }

  #countDown(peer: string): void {
    const count = (this.#byPeer.get(peer) ?? 0) - 1;
    if (count > 0) this.#byPeer.set(peer, count);
    else this.#byPeer.delete(peer);
  }
}
