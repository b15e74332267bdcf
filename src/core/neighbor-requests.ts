/**
 * HyParView's neighbor requests of ours (DSN 2007, p. 7): asking passive candidates to fill the
 * free slots of the active view, with high priority when short of `lonelyBelow` neighbors, each
 * request timed out after `neighborTimeoutMs`, at most `pendingNeighborMax` in flight, and a
 * backoff after a refusal (`refillBackoffMs`, doubling). Part of `HyParView`, which owns the views.
 */
import type { NeighborPriority } from '../protocol/overlay-messages.js';
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import type { NodeRef } from './machine.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send, setTimer } from './overlay-output.js';
import type { Rng } from './rng.js';

export const NEIGHBOR_TIMER = 'hv:nb:';
/** Ends the wait after a refused neighbor request (see `refillBackoffMs`). */
export const REFILL_TIMER = 'hv:refill';

/** What the requests need from the membership that sends them. */
export interface RequestHost {
  readonly options: OverlayOptions;
  readonly rng: Rng;
  activeSize(): number;
  isActive(id: string): boolean;
  passiveRefs(): NodeRef[];
  /** The ref to send to, or undefined when the dial budget says no. */
  reach(ref: NodeRef): NodeRef | undefined;
}

export class NeighborRequests {
  /** Our neighbor requests waiting for an accept, by node id. */
  readonly #pending = new Map<string, { ref: NodeRef; priority: NeighborPriority }>();
  /** Refusals since a request of ours was last accepted (the refill backoff step). */
  #refusals = 0;
  #waiting = false;
  readonly #policy: BackoffPolicy;

  constructor(private readonly host: RequestHost) {
    this.#policy = {
      baseMs: host.options.refillBackoffMs,
      maxMs: host.options.refillBackoffMaxMs,
      maxAttempts: Infinity,
    };
  }

  get size(): number {
    return this.#pending.size;
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /** Pending requests sent to `address` (a dial to it failed). */
  idsAt(address: string): string[] {
    return [...this.#pending].filter(([, r]) => r.ref.address === address).map(([id]) => id);
  }

  /** Sends a neighbor request; false when the pending cap or the dial budget says no. */
  request(ref: NodeRef, priority: NeighborPriority, out: Out): boolean {
    if (this.#pending.has(ref.id) || this.host.isActive(ref.id)) return true;
    if (this.#pending.size >= this.host.options.pendingNeighborMax) return false;
    const target = this.host.reach(ref);
    if (target === undefined) return false;
    this.#pending.set(ref.id, { ref: target, priority });
    send(out, target, { type: 'hv_neighbor', priority });
    setTimer(out, NEIGHBOR_TIMER + ref.id, this.host.options.neighborTimeoutMs);
    return true;
  }

  /** Drops a pending request; returns its priority if there was one. */
  end(id: string, out: Out): NeighborPriority | undefined {
    const request = this.#pending.get(id);
    if (request === undefined) return undefined;
    this.#pending.delete(id);
    out.push({ kind: 'cancel-timer', key: NEIGHBOR_TIMER + id });
    return request.priority;
  }

  /** A request of ours was accepted: the refusal backoff starts over. */
  accepted(): void {
    this.#refusals = 0;
  }

  /**
   * A candidate refused us (its view is full): wait before asking the next one, longer after each
   * refusal, instead of walking the passive view at once (see `refillBackoffMs`).
   */
  backOff(out: Out): void {
    if (this.#waiting) return;
    this.#waiting = true;
    const delay = backoffDelay(this.#policy, this.#refusals++, () => this.host.rng.next());
    setTimer(out, REFILL_TIMER, Math.max(1, delay));
  }

  /** The backoff is over. */
  waited(): void {
    this.#waiting = false;
  }

  /**
   * Asks passive candidates to fill the free slots of the active view. While waiting after a
   * refusal only `force` (a lost neighbor, the timers) or a view short of `lonelyBelow` asks.
   * True when the view is short of `lonelyBelow`.
   */
  refill(out: Out, skip?: string, force = false): boolean {
    const { host } = this;
    const lonely = host.activeSize() < host.options.lonelyBelow;
    if (this.#waiting && !force && !lonely) return lonely;
    let room = host.options.activeViewSize - host.activeSize();
    for (const id of this.#pending.keys()) if (!host.isActive(id)) room--;
    const tried = new Set<string>(skip === undefined ? [] : [skip]);
    while (room > 0) {
      const candidates = host
        .passiveRefs()
        .filter((ref) => !this.#pending.has(ref.id) && !tried.has(ref.id));
      if (candidates.length === 0) break;
      const ref = host.rng.pick(candidates);
      tried.add(ref.id);
      // The paper asks with high priority only from an empty view; see `lonelyBelow`.
      const priority = host.activeSize() < host.options.lonelyBelow ? 'high' : 'low';
      if (!this.request(ref, priority, out)) break;
      room--;
    }
    return lonely;
  }
}
