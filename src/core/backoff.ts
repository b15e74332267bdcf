/** Exponential backoff with full jitter: delay k is uniform in [base*2^k/2, base*2^k], capped. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Attempts after which an address is given up; Infinity never gives up. */
  readonly maxAttempts: number;
}

/** Delay before retry number `attempt` (0 for the first retry); `random` in [0, 1), e.g. `Rng.next`. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
