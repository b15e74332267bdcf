/**
 * Token buckets, one per remote, on an injected clock: what one remote can make us do (dial the
 * addresses it lists) is bounded in rate and in total, as Bitcoin bounds address relay (0.1
 * address/s, burst 1,000). Buckets of remotes not heard from are kept, up to `maxBuckets`, so that
 * reconnecting does not refill one; the least recently used is dropped beyond that.
 */
export interface BucketPolicy {
  /** Tokens a new bucket holds, and the most it can hold. */
  readonly burst: number;
  /** Tokens added per second. */
  readonly refillPerSecond: number;
  /** Buckets remembered at once. */
  readonly maxBuckets: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly policy: BucketPolicy,
    private readonly now: () => number,
  ) {}

  /** Takes one token from `key`'s bucket; false when it is empty. */
  take(key: string): boolean {
    const at = this.now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.policy.burst, at };
      if (this.#buckets.size >= this.policy.maxBuckets) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
    } else {
      const refill = ((at - bucket.at) / 1_000) * this.policy.refillPerSecond;
      bucket.tokens = Math.min(this.policy.burst, bucket.tokens + refill);
      bucket.at = at;
      this.#buckets.delete(key);
    }
    // Re-inserted: the map's order is least recently used first.
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
