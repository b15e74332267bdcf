import type { LatencyStats } from '../report/summary.js';
import { Durations } from './durations.js';

/** Message latency: matching sends to receipts, and the figures of their delays. */

/** Latency figures in milliseconds: one shape for the emulator and the simulator. */
export type { LatencyStats } from '../report/summary.js';

/** Every latency figure a `MessageLog` gives, in milliseconds. */
export interface LatencyFigures extends LatencyStats {
  readonly mean: number;
  /** Receipts timed before their send (clocks of different processes): recorded as 0 ms. */
  readonly negative: number;
}

/** The figures of `figures` that the emulator's result keeps. */
export function latencyStats(figures: LatencyFigures | null): LatencyStats | null {
  if (figures === null) return null;
  const { count, p50, p90, p99, max } = figures;
  return { count, p50, p90, p99, max };
}

interface Sent {
  readonly at: number;
  readonly receivers: number;
  received: number;
}

/**
 * Matches 'message-sent' to 'message-received' events by text (10 random characters: collisions
 * are negligible), whatever order they arrive in: each peer's events come over its own port or
 * process, so a receipt can overtake its send. Only messages sent within the window count, each
 * for at most the receivers it was sent to, whenever their receipts arrive; other receipts are
 * dropped. Latencies go to an HDR histogram, so memory grows with the window's messages only.
 */
export class MessageLog {
  readonly #sent = new Map<string, Sent>();
  /** Receipts whose send has not been seen (yet), by text: dropped when it is. */
  readonly #unmatched = new Map<string, number[]>();
  readonly #latency = new Durations();
  #windowStart = Number.POSITIVE_INFINITY;
  #windowEnd = Number.POSITIVE_INFINITY;
  #messages = 0;
  #expected = 0;
  #delivered = 0;

  /** Counts messages sent from `at` on (until `close`). */
  open(at: number): void {
    this.#windowStart = at;
  }

  /** Counts no message sent after `at`. */
  close(at: number): void {
    this.#windowEnd = at;
  }

  onSent(text: string, at: number, receivers: number): void {
    const early = this.#unmatched.get(text);
    this.#unmatched.delete(text);
    if (at < this.#windowStart || at > this.#windowEnd || this.#sent.has(text)) return;
    const sent: Sent = { at, receivers, received: 0 };
    this.#sent.set(text, sent);
    this.#messages++;
    this.#expected += receivers;
    for (const receivedAt of early ?? []) this.#deliver(sent, receivedAt);
  }

  onReceived(text: string, at: number): void {
    const sent = this.#sent.get(text);
    if (sent !== undefined) {
      this.#deliver(sent, at);
      return;
    }
    // Not open yet: the window's sends are all to come, so its send is not one of them.
    if (this.#windowStart === Number.POSITIVE_INFINITY) return;
    // Its send may still be on its way from another thread or process.
    const early = this.#unmatched.get(text);
    if (early === undefined) this.#unmatched.set(text, [at]);
    else early.push(at);
  }

  #deliver(sent: Sent, at: number): void {
    if (sent.received >= sent.receivers) return;
    sent.received++;
    this.#delivered++;
    this.#latency.record(at - sent.at);
  }

  /** Whether the message `text` was sent in the window (by its send's time, not its report's). */
  inWindow(text: string): boolean {
    return this.#sent.has(text);
  }

  /** Messages sent in the window. */
  get messages(): number {
    return this.#messages;
  }

  /** Deliveries the window's messages should make: the receivers of each, summed. */
  get expected(): number {
    return this.#expected;
  }

  /** Deliveries of window messages reported so far. */
  get deliveries(): number {
    return this.#delivered;
  }

  /** True once every delivery of every window message has been reported. */
  get complete(): boolean {
    return this.#delivered >= this.#expected;
  }

  /** Figures over every delivery so far (HDR: 3 significant digits, 1 µs); null if none. */
  latency(): LatencyFigures | null {
    const d = this.#latency;
    if (d.count === 0) return null;
    return {
      count: d.count,
      p50: d.percentile(50),
      p90: d.percentile(90),
      p99: d.percentile(99),
      max: d.max,
      mean: d.mean,
      negative: d.negative,
    };
  }
}
