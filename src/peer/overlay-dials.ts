import type { BackoffPolicy } from '../core/backoff.js';
import { type Reason, reason } from '../core/reasons.js';
import { formatHostPort, parseHostPort } from '../protocol/address.js';
import { Dialer, type DialOutcome } from './dialer.js';
import { type PeerEventInit, reasonFields } from './events.js';
import type { PeerLimits } from './limits.js';
import { isSelfAddress } from './self.js';

/** A dial the core asked for is tried once: retrying or giving up is the core's decision. */
const CORE_DIAL: BackoffPolicy = { baseMs: 100, maxMs: 100, maxAttempts: 1 };

export interface OverlayDialsOptions {
  readonly port: number;
  readonly advertisedHost: string;
  readonly limits: PeerLimits;
  /** Addresses found to be this peer. */
  readonly selfAliases: ReadonlySet<string>;
  attempt(address: string): Promise<DialOutcome>;
  emit(event: PeerEventInit): void;
  /** A dial failed for good (or could not start): the core must hear of it. */
  gaveUp(address: string, reason: Reason): void;
}

/**
 * Which addresses an overlay peer dials: the core's wishes once each (it decides about retries),
 * the bootstrap address until it answers, never this peer itself, a bounded number at once
 * (the existing `Dialer`).
 */
export class OverlayDials {
  readonly #options: OverlayDialsOptions;
  readonly #dialer: Dialer;

  constructor(options: OverlayDialsOptions) {
    this.#options = options;
    this.#dialer = new Dialer({
      attempt: (address) => options.attempt(address),
      failed: (address, reason, retryInMs) => {
        options.emit({
          type: 'dial-failed',
          peer: address,
          ...reasonFields(reason),
          ...(retryInMs === undefined ? {} : { retryInMs }),
        });
        if (retryInMs === undefined) options.gaveUp(address, reason);
      },
      maxConcurrent: options.limits.maxConcurrentDials,
      maxQueued: options.limits.maxQueuedDials,
    });
  }

  /** Dials `address` unless it is being dialed already; `bootstrap` retries until it answers. */
  want(address: string, bootstrap: boolean): void {
    const { port, advertisedHost, limits, selfAliases, gaveUp } = this.#options;
    const parsed = parseHostPort(address);
    if (!parsed.ok) {
      gaveUp(address, reason('BAD_ADDRESS', parsed.error));
      return;
    }
    if (selfAliases.has(address) || isSelfAddress(parsed.value, port, advertisedHost)) {
      gaveUp(address, reason('SELF', 'that address is this peer'));
      return;
    }
    const normalized = formatHostPort(parsed.value);
    this.#dialer.want(normalized, bootstrap ? limits.bootstrapBackoff : CORE_DIAL);
    // The dialer drops wishes past its bound: the core must hear that this one failed.
    if (!this.#dialer.busy(normalized))
      gaveUp(normalized, reason('DIAL_QUEUE_FULL', 'too many dials waiting'));
  }

  stop(): void {
    this.#dialer.stop();
  }
}
