import type { Reason } from '../core/reasons.js';
import type { Connection } from './connection.js';

/**
 * Nodes whose link closed while another connection to them was on its way (simultaneous dials:
 * the other end kept that one and closed ours): that one takes over silently, and the core
 * hears of a peer-down only if it fails too.
 */
export class Takeovers {
  readonly #waiting = new Map<string, { readonly address: string; readonly reason: Reason }>();

  constructor(
    /** Every connection open now. */
    private readonly connections: ReadonlySet<Connection>,
    /** Duplicates retired on purpose: none takes over. */
    private readonly retired: WeakSet<Connection>,
  ) {}

  /**
   * The link to node `id` (at `address`) closed for `reason`: waits for another connection to
   * it, if one is still being set up; false when none is (the link is down).
   */
  wait(id: string, address: string, reason: Reason): boolean {
    if (!this.#candidate(id, address)) return false;
    this.#waiting.set(id, { address, reason });
    return true;
  }

  /** A connection to node `id` is up: whether it takes over a link that closed. */
  takeOver(id: string): boolean {
    return this.#waiting.delete(id);
  }

  forget(id: string): void {
    this.#waiting.delete(id);
  }

  /**
   * The nodes waited for whose last candidate failed (and not `linked` meanwhile), with the
   * reason their link closed; checked one by one as the caller goes through them.
   */
  *failed(linked: (id: string) => boolean): Generator<readonly [string, Reason]> {
    for (const [id, { address, reason }] of this.#waiting) {
      if (!linked(id) && !this.#candidate(id, address)) yield [id, reason];
    }
  }

  /** Whether another connection to node `id` (at `address`) is still being set up. */
  #candidate(id: string, address: string): boolean {
    for (const c of this.connections) {
      if (c.closed || this.retired.has(c)) continue;
      if (c.identity?.nodeId === id) return true;
      if (c.direction === 'outbound' && c.identity === undefined && c.remote === address)
        return true;
    }
    return false;
  }
}
