import { type BackoffPolicy, backoffDelay } from '../core/backoff.js';
import type { Reason } from '../core/reasons.js';

/**
 * How one dial attempt ended. `retry: false` means trying again would not help (e.g. it is us). A
 * `LOCAL_SHORTAGE` (this host out of sockets) is retried without counting against the address.
 */
export type DialOutcome = { ok: true } | { ok: false; reason: Reason; retry: boolean };

export interface DialerOptions {
  /** Makes one attempt; must settle, never reject. */
  attempt(address: string): Promise<DialOutcome>;
  /** Told of every failed attempt, with the delay before the next one (undefined: given up). */
  failed(address: string, reason: Reason, retryInMs: number | undefined): void;
  /** Dials running at once; the rest wait in line. */
  maxConcurrent: number;
  /** Addresses waiting in line; beyond it new ones are dropped (a hostile peer list stays bounded). */
  maxQueued: number;
}

/**
 * Decides when to dial which address: one dial per address at a time, a bounded number at once,
 * retries with backoff until the policy gives up. It knows nothing of sockets or the protocol.
 */
export class Dialer {
  readonly #inFlight = new Set<string>();
  readonly #queue = new Map<string, BackoffPolicy>();
  readonly #retries = new Map<string, { timer: NodeJS.Timeout; policy: BackoffPolicy }>();
  readonly #attempts = new Map<string, number>();
  #stopped = false;

  constructor(private readonly options: DialerOptions) {}

  /** True while the address is being dialed, waits in line, or waits for a retry. */
  busy(address: string): boolean {
    return this.#inFlight.has(address) || this.#queue.has(address) || this.#retries.has(address);
  }

  /** Asks for a link to `address`; a no-op when it is already wanted. */
  want(address: string, policy: BackoffPolicy): void {
    if (this.#stopped || this.busy(address)) return;
    // Addresses waiting for a retry count too, or a peer spacing its lists out gets past the bound.
    if (this.#queue.size + this.#retries.size >= this.options.maxQueued) return;
    this.#queue.set(address, policy);
    this.#pump();
  }

  /** Stops retrying an address (it got linked another way, or it left on purpose). */
  forget(address: string): void {
    this.#queue.delete(address);
    this.#attempts.delete(address);
    const retry = this.#retries.get(address);
    if (retry) clearTimeout(retry.timer);
    this.#retries.delete(address);
  }

  stop(): void {
    this.#stopped = true;
    for (const { timer } of this.#retries.values()) clearTimeout(timer);
    this.#retries.clear();
    this.#queue.clear();
  }

  #pump(): void {
    while (!this.#stopped && this.#inFlight.size < this.options.maxConcurrent) {
      const next = this.#queue.entries().next();
      if (next.done) return;
      const [address, policy] = next.value;
      this.#queue.delete(address);
      this.#run(address, policy);
    }
  }

  #run(address: string, policy: BackoffPolicy): void {
    this.#inFlight.add(address);
    void this.options.attempt(address).then((outcome) => {
      this.#inFlight.delete(address);
      if (outcome.ok || this.#stopped) {
        this.#attempts.delete(address);
      } else {
        this.#retryLater(address, policy, outcome.reason, outcome.retry);
      }
      this.#pump();
    });
  }

  #retryLater(address: string, policy: BackoffPolicy, reason: Reason, retry: boolean): void {
    const local = reason.code === 'LOCAL_SHORTAGE';
    const attempt = this.#attempts.get(address) ?? 0;
    if (!retry || (!local && attempt + 1 >= policy.maxAttempts)) {
      this.#attempts.delete(address);
      this.options.failed(address, reason, undefined);
      return;
    }
    if (!local) this.#attempts.set(address, attempt + 1);
    // Jitter needs no seed here: the driver's timing is the wall clock's anyway.
    const delay = backoffDelay(policy, attempt, Math.random);
    this.options.failed(address, reason, delay);
    const timer = setTimeout(() => {
      this.#retries.delete(address);
      this.#queue.set(address, policy);
      this.#pump();
    }, delay);
    this.#retries.set(address, { timer, policy });
  }
}
