/**
 * Matches gossip receipts to their sends across many peers, for a host that sees every peer's
 * events (the emulator): which peer a message came from and how long it took. Each peer's events
 * come over its own port, so a receipt can arrive before its send: it waits for it. Memory is
 * bounded by time: a send, or a receipt still waiting, is forgotten `ttlMs` after it happened.
 */

/** A send is kept this long for its receipts: deliveries take milliseconds, an overlay's seconds. */
export const DELIVERY_TTL_MS = 30_000;

export interface Delivery {
  /** Index of the peer that sent the message, and of the one that received it. */
  readonly origin: number;
  readonly receiver: number;
  readonly sentAt: number;
  readonly latencyMs: number;
  /** Links the copy crossed, when the receiver said (an overlay's relays); 1 in a full mesh. */
  readonly hops: number;
}

interface Sent {
  readonly origin: number;
  readonly at: number;
}

interface Receipt {
  readonly receiver: number;
  readonly at: number;
  readonly hops: number;
}

/** Drops the entries of `map` (in time order) older than `before`. */
function evict<T>(map: Map<string, T>, at: (value: T) => number, before: number): void {
  for (const [key, value] of map) {
    if (at(value) >= before) return;
    map.delete(key);
  }
}

export class GossipDeliveries {
  readonly #ttlMs: number;
  /** By text; insertion order is arrival order, so the oldest are first. */
  readonly #sent = new Map<string, Sent>();
  readonly #early = new Map<string, Receipt[]>();

  constructor(ttlMs = DELIVERY_TTL_MS) {
    this.#ttlMs = ttlMs;
  }

  /** Records a send; returns the deliveries of receipts that arrived before it. */
  onSent(origin: number, text: string, at: number): Delivery[] {
    const sent = { origin, at };
    this.#sent.set(text, sent);
    evict(this.#sent, (s) => s.at, at - this.#ttlMs);
    const early = this.#early.get(text);
    if (early === undefined) return [];
    this.#early.delete(text);
    return early.map((receipt) => this.#delivery(sent, receipt));
  }

  /** The delivery this receipt completes, or undefined while its send is not known. */
  onReceived(receiver: number, text: string, at: number, hops = 1): Delivery | undefined {
    const sent = this.#sent.get(text);
    if (sent !== undefined) return this.#delivery(sent, { receiver, at, hops });
    const early = this.#early.get(text);
    if (early === undefined) this.#early.set(text, [{ receiver, at, hops }]);
    else early.push({ receiver, at, hops });
    evict(this.#early, (r) => r[0]?.at ?? 0, at - this.#ttlMs);
    return undefined;
  }

  #delivery(sent: Sent, receipt: Receipt): Delivery {
    return {
      origin: sent.origin,
      receiver: receipt.receiver,
      sentAt: sent.at,
      latencyMs: Math.max(0, receipt.at - sent.at),
      hops: receipt.hops,
    };
  }
}
