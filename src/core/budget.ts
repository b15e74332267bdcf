/**
 * A token bucket on the core's injected clock: `burst` actions at once, then one more every
 * `refillMs`. Bounds what a remote peer can make a core do per interval (dials, GRAFT answers).
 */
export class Budget {
  #tokens: number;
  #updatedAt: number;

  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /** Takes one token if there is one; false means "not now". */
  take(now: number): boolean {
    if (this.refillMs > 0 && now > this.#updatedAt) {
      this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#updatedAt) / this.refillMs);
    } else if (this.refillMs === 0) {
      this.#tokens = this.burst;
    }
    this.#updatedAt = Math.max(this.#updatedAt, now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
