/**
 * HyParView's passive view: candidates for the active view, each marked proven (the driver
 * reported a connection to that ref at some time) or heard of (from a forward join or a shuffle).
 * Only proven entries are passed on to other peers.
 */
import type { NodeRef } from './machine.js';
import type { Rng } from './rng.js';

interface Candidate {
  readonly ref: NodeRef;
  readonly proven: boolean;
}

export class PassiveView {
  readonly #entries = new Map<string, Candidate>();

  constructor(
    private readonly capacity: number,
    private readonly rng: Rng,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  refs(): NodeRef[] {
    return [...this.#entries.values()].map((c) => c.ref);
  }

  proven(): NodeRef[] {
    return [...this.#entries.values()].filter((c) => c.proven).map((c) => c.ref);
  }

  /** A connection to `ref` came up: a known entry is proven now, at the connection's address. */
  prove(ref: NodeRef): void {
    if (this.#entries.has(ref.id)) this.#entries.set(ref.id, { ref, proven: true });
  }

  /**
   * Adds a candidate. A known id keeps its entry (a proven ref upgrades it); one entry per address,
   * a proven one winning; when full, a random entry leaves, one from `evictFirst` if any (the
   * entries we offered in a shuffle, paper p. 8).
   */
  add(ref: NodeRef, proven: boolean, evictFirst?: ReadonlySet<string>): void {
    if (this.capacity === 0) return;
    if (this.#entries.has(ref.id)) {
      if (proven) this.#entries.set(ref.id, { ref, proven: true });
      return;
    }
    for (const [id, candidate] of this.#entries) {
      if (candidate.ref.address !== ref.address) continue;
      if (!proven || candidate.proven) return;
      this.#entries.delete(id);
    }
    if (this.#entries.size >= this.capacity) {
      const ids = [...this.#entries.keys()];
      const preferred = evictFirst === undefined ? [] : ids.filter((id) => evictFirst.has(id));
      this.#entries.delete(this.rng.pick(preferred.length > 0 ? preferred : ids));
    }
    this.#entries.set(ref.id, { ref, proven });
  }

  delete(id: string): void {
    this.#entries.delete(id);
  }

  deleteAddress(address: string): void {
    for (const [id, candidate] of this.#entries) {
      if (candidate.ref.address === address) this.#entries.delete(id);
    }
  }
}
