/**
 * Plumtree's lazy push: ids waiting for their IHAVE, by neighbor, each due `ihaveDelayMs` after it
 * was queued. Every id waits the full delay (a batch does not take along ids queued just before it
 * leaves), so on a lazy link the end that had the message first announces it first, and the other
 * end, knowing it holds it (`holds`), stays silent. At most `ihaveQueueMax` ids wait per neighbor.
 */
import { MAX_IHAVE_IDS } from '../protocol/limits.js';
import type { IHaveEntry } from '../protocol/overlay-messages.js';
import type { NodeRef } from './machine.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send, setTimer } from './overlay-output.js';

export const IHAVE_TIMER = 'pt:ihave';

export interface IHaveCounts {
  ihaveFramesSent: number;
  ihaveIdsSent: number;
  dropped: number;
}

export class IHaveQueue {
  readonly #queue = new Map<string, Array<IHaveEntry & { due: number }>>();
  #armed = false;

  constructor(
    private readonly options: OverlayOptions,
    private readonly stats: IHaveCounts,
  ) {}

  get size(): number {
    let queued = 0;
    for (const entries of this.#queue.values()) queued += entries.length;
    return queued;
  }

  /** Queues `id` for `peer`; dropped (and counted) when its queue is full. */
  add(peer: string, id: string, hops: number, now: number): void {
    const entries = this.#queue.get(peer) ?? [];
    if (entries.length >= this.options.ihaveQueueMax) {
      this.stats.dropped++;
      return;
    }
    entries.push({ id, hops, due: now + this.options.ihaveDelayMs });
    this.#queue.set(peer, entries);
  }

  /** Arms the batch timer if ids wait and it is not armed. */
  arm(out: Out): void {
    if (this.#queue.size === 0 || this.#armed) return;
    this.#armed = true;
    setTimer(out, IHAVE_TIMER, this.options.ihaveDelayMs);
  }

  drop(peer: string): void {
    this.#queue.delete(peer);
  }

  /**
   * The timer fired: sends each neighbor its due ids (`neighbor` finds its ref; gone, its ids go
   * too) except those it `holds`, and re-arms for the ids not due yet.
   */
  dispatch(
    now: number,
    neighbor: (id: string) => NodeRef | undefined,
    holds: (peer: string, id: string) => boolean,
    out: Out,
  ): void {
    this.#armed = false;
    let next = Number.POSITIVE_INFINITY;
    for (const [peerId, queued] of this.#queue) {
      const peer = neighbor(peerId);
      if (peer === undefined) {
        this.#queue.delete(peerId);
        continue;
      }
      const ids: IHaveEntry[] = [];
      const later = queued.filter((e) => {
        if (e.due > now) return true;
        if (!holds(peerId, e.id)) ids.push({ id: e.id, hops: e.hops });
        return false;
      });
      for (let start = 0; start < ids.length; start += MAX_IHAVE_IDS) {
        const batch = ids.slice(start, start + MAX_IHAVE_IDS);
        send(out, peer, { type: 'pt_ihave', ids: batch });
        this.stats.ihaveFramesSent++;
        this.stats.ihaveIdsSent += batch.length;
      }
      if (later.length === 0) this.#queue.delete(peerId);
      else {
        this.#queue.set(peerId, later);
        next = Math.min(next, later[0]?.due ?? next);
      }
    }
    if (next !== Number.POSITIVE_INFINITY) {
      this.#armed = true;
      setTimer(out, IHAVE_TIMER, Math.max(1, next - now));
    }
  }
}
