import { Durations } from './report.js';

/** Delivery figures over every (message, receiver) pair of the messages sent in a window. */
export interface DeliveryFigures {
  readonly messages: number;
  readonly pairs: number;
  readonly delivered: number;
  /** delivered / pairs, 0..1 */
  readonly deliveredFraction: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Receipts timed before their send (clocks of different processes): counted as 0 ms. */
  readonly negative: number;
}

interface Sent {
  readonly at: number;
  readonly expected: number;
  received: number;
}

/**
 * Matches every `message-received` to the `message-sent` of the same text (10 random characters:
 * collisions are negligible) and records receive time minus send time. Only messages sent while
 * the window is open count; their receipts count whenever they arrive before `finish()`.
 */
export class DeliveryTracker {
  readonly #sent = new Map<string, Sent>();
  /** Receipts seen before their send event (another thread or process may be first). */
  readonly #early = new Map<string, number[]>();
  readonly #latency = new Durations();
  #open = false;

  open(): void {
    this.#open = true;
  }

  close(): void {
    this.#open = false;
    this.#early.clear();
  }

  sent(text: string, at: number, peers: number): void {
    if (!this.#open || peers === 0) return;
    const entry: Sent = { at, expected: peers, received: 0 };
    this.#sent.set(text, entry);
    for (const receivedAt of this.#early.get(text) ?? []) this.#record(entry, receivedAt);
    this.#early.delete(text);
  }

  received(text: string, at: number): void {
    const entry = this.#sent.get(text);
    if (entry !== undefined) this.#record(entry, at);
    else if (this.#open) {
      const list = this.#early.get(text);
      if (list === undefined) this.#early.set(text, [at]);
      else list.push(at);
    }
  }

  #record(entry: Sent, at: number): void {
    if (entry.received >= entry.expected) return;
    entry.received++;
    this.#latency.record(at - entry.at);
  }

  /** Every pair of every message sent in the window has been delivered. */
  get complete(): boolean {
    for (const s of this.#sent.values()) if (s.received < s.expected) return false;
    return true;
  }

  figures(): DeliveryFigures {
    let pairs = 0;
    let delivered = 0;
    for (const s of this.#sent.values()) {
      pairs += s.expected;
      delivered += s.received;
    }
    const l = this.#latency;
    const result = {
      messages: this.#sent.size,
      pairs,
      delivered,
      deliveredFraction: pairs === 0 ? 0 : delivered / pairs,
      p50Ms: l.percentile(50),
      p90Ms: l.percentile(90),
      p99Ms: l.percentile(99),
      maxMs: l.max,
      meanMs: l.mean,
      negative: l.negative,
    };
    l.destroy();
    return result;
  }
}
