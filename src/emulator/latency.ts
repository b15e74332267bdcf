/** Message latency statistics: pure functions over send and receive times. */

export interface LatencyStats {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** The nearest-rank percentile (0 < p <= 100) of ascending `sorted`, which must not be empty. */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  const value = sorted[Math.min(rank, sorted.length) - 1];
  if (value === undefined) throw new RangeError('percentile of no samples');
  return value;
}

export function latencyStats(samples: readonly number[]): LatencyStats | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
  };
}

/**
 * Matches 'message-sent' to 'message-received' events by text, whatever order they arrive in
 * (each peer's events come over its own port, so a receipt can overtake its send). Only messages
 * sent within the window count; receipts of other texts are dropped.
 */
export class MessageLog {
  readonly #sent = new Map<string, number>();
  /** Receipts whose send has not been seen (yet), by text. */
  readonly #unmatched = new Map<string, number[]>();
  readonly #latencies: number[] = [];
  #windowStart = Number.POSITIVE_INFINITY;
  #windowEnd = Number.POSITIVE_INFINITY;
  #messages = 0;
  #expected = 0;

  /** Counts messages sent from `at` on (until `close`). */
  open(at: number): void {
    this.#windowStart = at;
  }

  /** Counts no message sent after `at`. */
  close(at: number): void {
    this.#windowEnd = at;
  }

  onSent(text: string, at: number, receivers: number): void {
    if (at < this.#windowStart || at > this.#windowEnd || this.#sent.has(text)) return;
    this.#sent.set(text, at);
    this.#messages++;
    this.#expected += receivers;
    const early = this.#unmatched.get(text);
    if (early === undefined) return;
    this.#unmatched.delete(text);
    for (const received of early) this.#latencies.push(received - at);
  }

  onReceived(text: string, at: number): void {
    if (at < this.#windowStart) return;
    const sentAt = this.#sent.get(text);
    if (sentAt !== undefined) {
      this.#latencies.push(at - sentAt);
      return;
    }
    // Its send may still be on its way from another thread.
    const early = this.#unmatched.get(text);
    if (early === undefined) this.#unmatched.set(text, [at]);
    else early.push(at);
  }

  get messages(): number {
    return this.#messages;
  }

  get expected(): number {
    return this.#expected;
  }

  /** Deliveries of window messages reported so far. */
  get deliveries(): number {
    return this.#latencies.length;
  }

  /** True once every delivery of every window message has been reported. */
  get complete(): boolean {
    return this.#latencies.length >= this.#expected;
  }

  get latencies(): readonly number[] {
    return this.#latencies;
  }
}
