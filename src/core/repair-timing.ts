/**
 * How long Plumtree's repair waits, learned from what this peer sees, in the manner of TCP's
 * retransmission timer (RFC 6298: a smoothed mean and mean deviation, wait = mean + 4 deviations):
 * the round trip of its GRAFTs, from a GRAFT to the payload that answers it. That is how long one
 * exchange with a neighbor takes now, on this host: milliseconds on a quiet one, about a second a
 * hop on two threads running 2,000 peers. Both waits, before the first GRAFT for an announced id
 * and before asking its next announcer, are at least that long.
 * Why: with fixed waits (250 ms, then 100 ms), those 2,000 peers GRAFTed almost every IHAVE and
 * then every other announcer of the id (91,000 GRAFTs, 23,000 ids whose announcers were all
 * asked, for 99 messages): every answer a payload, a duplicate and a PRUNE more on the threads
 * that were already late. Each wait is at least its configured base (a quiet network repairs as
 * fast as before) and at most `repairWaitMaxMs` (a broken branch is still repaired within the
 * healing target). The tree's own lag (IHAVE to eager copy) is not a sample: after a crash it
 * carries the repairs upstream, and waits grown from it slowed the repair downstream (in-memory
 * network, 20 % crashed: waits up to 2 s, deliveries 1-2 s late).
 */

/** One smoothed delay (RFC 6298, section 2, with its gains 1/8 and 1/4). */
export class DelayEstimate {
  #mean: number | undefined;
  #deviation = 0;

  sample(ms: number): void {
    const r = Math.max(0, ms);
    if (this.#mean === undefined) {
      this.#mean = r;
      this.#deviation = r / 2;
      return;
    }
    this.#deviation = 0.75 * this.#deviation + 0.25 * Math.abs(this.#mean - r);
    this.#mean = 0.875 * this.#mean + 0.125 * r;
  }

  /** Mean + 4 deviations, within [base, max]; `base` before the first sample. */
  wait(base: number, max: number): number {
    if (this.#mean === undefined) return base;
    const wait = Math.round(this.#mean + 4 * this.#deviation);
    return Math.min(Math.max(base, max), Math.max(base, wait));
  }
}

export interface RepairWaits {
  readonly graftTimeoutMs: number;
  readonly graftRetryMs: number;
  readonly repairWaitMaxMs: number;
}

/** The repair's two waits, from one estimate of the GRAFT round trip. */
export class RepairTiming {
  readonly #roundTrip = new DelayEstimate();

  constructor(private readonly options: RepairWaits) {}

  /** A GRAFT was answered `ms` after it was sent. */
  graftRoundTrip(ms: number): void {
    this.#roundTrip.sample(ms);
  }

  /** Wait after the first IHAVE of a missing id before the first GRAFT. */
  get graftTimeoutMs(): number {
    return this.#roundTrip.wait(this.options.graftTimeoutMs, this.options.repairWaitMaxMs);
  }

  /** Wait after a GRAFT before asking the next announcer. */
  get graftRetryMs(): number {
    return this.#roundTrip.wait(this.options.graftRetryMs, this.options.repairWaitMaxMs);
  }
}
