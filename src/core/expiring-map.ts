/**
 * A map with a size cap and a per-entry lifetime on the injected clock. Every entry lives the same
 * `retentionMs`, so insertion order is expiry order: expired and overflowing entries both leave
 * from the front, with no timer and no scan. (lru-cache would fit but reads `performance.now()`;
 * a core takes time only from its environment.)
 */
export class ExpiringMap<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    private readonly max: number,
    private readonly retentionMs: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Adds or refreshes `key` (a refreshed entry moves to the back). */
  set(key: K, value: V, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + this.retentionMs });
    this.evict(now);
  }

  get(key: K, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  has(key: K, now: number): boolean {
    return this.get(key, now) !== undefined;
  }

  /** Drops expired entries, then the oldest ones over the cap. */
  evict(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now && this.#entries.size <= this.max) break;
      this.#entries.delete(key);
    }
  }
}
